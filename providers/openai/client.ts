import OpenAI from "openai";
import type { Call } from "../call";
import type { CallOptions } from "../types";

// Builds the official SDK client the way this app needs it. The SDK quietly reads OPENAI_BASE_URL,
// OPENAI_API_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_WEBHOOK_SECRET and OPENAI_LOG from
// process.env when an option is left undefined, and logs unparsable stream chunks (model output)
// to the console at its default log level: every option is therefore given explicitly, and the
// logger is silenced. (OPENAI_CUSTOM_HEADERS is still honoured by the SDK; it cannot be turned off.)

export const OPENAI_BASE_URL = "https://api.openai.com/v1";

export type OpenAIClientSettings = {
  /** Optional only for keyless OpenAI-compatible servers (Ollama, vLLM): then no Authorization header is sent. */
  apiKey?: string;
  baseURL?: string;
  organization?: string;
};

const silent = { error() {}, warn() {}, info() {}, debug() {} };

export function createClient(settings: OpenAIClientSettings): OpenAI {
  return new OpenAI({
    apiKey: settings.apiKey || "no-key",
    ...(settings.apiKey ? {} : { defaultHeaders: { Authorization: null } }),
    baseURL: settings.baseURL || OPENAI_BASE_URL,
    organization: settings.organization || null,
    project: null,
    adminAPIKey: null,
    webhookSecret: null,
    maxRetries: 0, // the app decides about retries (and must not pay twice)
    logLevel: "off",
    logger: silent,
  });
}

/** Per-request SDK options: our combined signal (caller + deadline), the timeout, no retries. */
export function requestOptions(call: Call, opts: CallOptions) {
  return {
    signal: call.signal,
    maxRetries: 0,
    ...(opts.timeoutMs !== undefined ? { timeout: Math.max(1, Math.ceil(opts.timeoutMs)) } : {}),
  };
}

/** Lazily built, then shared by every model of one provider instance. */
export function lazyClient(settings: OpenAIClientSettings): () => OpenAI {
  let client: OpenAI | undefined;
  return () => (client ??= createClient(settings));
}
