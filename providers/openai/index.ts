import type { Provider } from "../types";
import { createChatModel } from "./chat";
import { lazyClient, OPENAI_BASE_URL } from "./client";
import { createImageModel } from "./image";
import { createSpeechModel } from "./speech";

// OpenAI on the official `openai` SDK: chat with vision and PDFs, image generation, text to speech.

export type OpenAISettings = {
  /** Without a key the provider is listed but not configured (its models show as unavailable). */
  apiKey?: string;
  /** Default https://api.openai.com/v1; point it at a proxy, Azure-style gateway or a test server. */
  baseURL?: string;
  organization?: string;
};

export function createOpenAI(settings: OpenAISettings = {}): Provider {
  const provider = "openai";
  const client = lazyClient({ ...settings, baseURL: settings.baseURL || OPENAI_BASE_URL });
  return {
    id: provider,
    label: "OpenAI",
    isConfigured: Boolean(settings.apiKey),
    text: (modelId) => createChatModel({ provider, modelId, client, maxTokensParam: "max_completion_tokens" }),
    image: (modelId) => createImageModel({ provider, modelId, client }),
    speech: (modelId) => createSpeechModel({ provider, modelId, client }),
  };
}
