import { createAnthropic } from "./anthropic";
import { createDemo } from "./demo";
import { createGoogle } from "./google";
import { createOpenAI } from "./openai";
import { createOpenAICompatible, type OpenAICompatibleSettings } from "./openai-compatible";
import { createRegistry, type Registry } from "./registry";

// The default set of providers. Adding a provider = one folder under providers/ + one line below.
// This module never reads process.env: the app passes its validated environment in.

export type ProvidersConfig = {
  /** The offline demo provider. Listed either way; callable only when true. */
  demo: boolean;
  /** Pause between the demo's streamed words (ms). */
  demoWordDelayMs?: number;
  openai?: { apiKey?: string; baseURL?: string; organization?: string };
  /** baseURL without /v1 (the SDK adds it). */
  anthropic?: { apiKey?: string; baseURL?: string };
  /** Gemini Developer API; baseURL without /v1beta. */
  google?: { apiKey?: string; baseURL?: string };
  /** Each entry becomes a provider, e.g. { id: "deepseek", label: "DeepSeek", baseURL, apiKey, models }. */
  openaiCompatible?: OpenAICompatibleSettings[];
};

export function createDefaultRegistry(config: ProvidersConfig): Registry {
  return createRegistry([
    createDemo({ enabled: config.demo, wordDelayMs: config.demoWordDelayMs }),
    createOpenAI(config.openai),
    createAnthropic(config.anthropic),
    createGoogle(config.google),
    ...(config.openaiCompatible ?? []).map(createOpenAICompatible),
  ]);
}

export * from "./registry";
export * from "./types";
