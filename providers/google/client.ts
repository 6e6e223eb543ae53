import { GoogleGenAI, type HttpOptions } from "@google/genai";
import type { Call } from "../call";
import { ProviderError, type CallOptions } from "../types";

// Builds the official `@google/genai` client the way this app needs it. When an option is left
// undefined the SDK quietly falls back to process.env: GOOGLE_API_KEY / GEMINI_API_KEY (key),
// GOOGLE_GENAI_USE_VERTEXAI / GOOGLE_GENAI_USE_ENTERPRISE (switch to Vertex AI, with Google Cloud
// credentials), GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION and GOOGLE_GEMINI_BASE_URL /
// GOOGLE_VERTEX_BASE_URL. Every one of those decisions is therefore made here, explicitly, so the
// environment cannot change where requests go or which key they carry. (GOOGLE_CLOUD_PROJECT and
// GOOGLE_CLOUD_LOCATION are still read, but the Gemini Developer API never uses them.)

export const GOOGLE_BASE_URL = "https://generativelanguage.googleapis.com";
const API_VERSION = "v1beta";

export type GoogleClientSettings = { apiKey: string; baseURL: string };

/** What every Google model of one provider instance shares. */
export type GoogleContext = {
  provider: string;
  client: () => GoogleGenAI;
  apiKey: string;
  baseURL: string;
};

export function createClient(settings: GoogleClientSettings): GoogleGenAI {
  return new GoogleGenAI({
    apiKey: settings.apiKey,
    vertexai: false,
    enterprise: false,
    apiVersion: API_VERSION,
    httpOptions: {
      baseUrl: settings.baseURL,
      apiVersion: API_VERSION,
      // One attempt per call: the app decides about retries (and must not pay twice). Leaving it
      // undefined also means "no retries" in this SDK version, but a default could change.
      retryOptions: { attempts: 1 },
    },
  });
}

/** Lazily built, then shared by every model of one provider instance. */
export function lazyClient(provider: string, settings: { apiKey?: string; baseURL: string }): () => GoogleGenAI {
  let client: GoogleGenAI | undefined;
  return () => {
    // Without a key the SDK would pick one up from the environment: refuse instead.
    if (!settings.apiKey) throw new ProviderError("auth", provider, { detail: "no API key configured" });
    return (client ??= createClient({ apiKey: settings.apiKey, baseURL: settings.baseURL }));
  };
}

/**
 * Per-request SDK options: our combined signal (caller + deadline) and, when there is a deadline,
 * the same timeout for the SDK, which also sends it to Google as X-Server-Timeout so the server
 * stops working on an answer nobody will read.
 */
export function requestConfig(call: Call, opts: CallOptions): { abortSignal: AbortSignal; httpOptions?: HttpOptions } {
  return {
    abortSignal: call.signal,
    ...(opts.timeoutMs !== undefined ? { httpOptions: { timeout: Math.max(1, Math.ceil(opts.timeoutMs)) } } : {}),
  };
}
