import type { Provider } from "../types";
import { ANTHROPIC_BASE_URL, lazyClient } from "./client";
import { createMessagesModel } from "./messages";

// Anthropic (Claude) on the official `@anthropic-ai/sdk`: text through the Messages API, with
// images, PDFs and text files as input.

export { DEFAULT_MAX_OUTPUT_TOKENS } from "./messages";

export type AnthropicSettings = {
  /** Without a key the provider is listed but not configured (its models show as unavailable). */
  apiKey?: string;
  /** Default https://api.anthropic.com (no /v1: the SDK adds it); point it at a proxy or a test server. */
  baseURL?: string;
};

export function createAnthropic(settings: AnthropicSettings = {}): Provider {
  const provider = "anthropic";
  const client = lazyClient({ provider, apiKey: settings.apiKey, baseURL: settings.baseURL || ANTHROPIC_BASE_URL });
  return {
    id: provider,
    label: "Anthropic",
    isConfigured: Boolean(settings.apiKey),
    text: (modelId) => createMessagesModel({ provider, modelId, client }),
  };
}
