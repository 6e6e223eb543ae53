import type { Provider } from "../types";
import { createChatModel } from "./chat";
import { GOOGLE_BASE_URL, lazyClient, type GoogleContext } from "./client";
import { createImageModel } from "./image";
import { createVideoModel } from "./video";

// Google's Gemini Developer API on the official `@google/genai` SDK: Gemini text with files,
// Gemini image models, and Veo video through long-running operations. Never Vertex AI.

export type GoogleSettings = {
  /** Without a key the provider is listed but not configured (its models show as unavailable). */
  apiKey?: string;
  /** Default https://generativelanguage.googleapis.com (without the /v1beta); a proxy or a test server. */
  baseURL?: string;
};

export function createGoogle(settings: GoogleSettings = {}): Provider {
  const provider = "google";
  const baseURL = settings.baseURL || GOOGLE_BASE_URL;
  const context: GoogleContext = {
    provider,
    client: lazyClient(provider, { apiKey: settings.apiKey, baseURL }),
    apiKey: settings.apiKey ?? "",
    baseURL,
  };
  return {
    id: provider,
    label: "Google",
    isConfigured: Boolean(settings.apiKey),
    text: (modelId) => createChatModel(context, modelId),
    image: (modelId) => createImageModel(context, modelId),
    video: (modelId) => createVideoModel(context, modelId),
  };
}
