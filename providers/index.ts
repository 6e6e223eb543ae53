import { createDemo } from "./demo";
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
  /** Each entry becomes a provider, e.g. { id: "deepseek", label: "DeepSeek", baseURL, apiKey, models }. */
  openaiCompatible?: OpenAICompatibleSettings[];
};

export function createDefaultRegistry(config: ProvidersConfig): Registry {
  return createRegistry([
    createDemo({ enabled: config.demo, wordDelayMs: config.demoWordDelayMs }),
    createOpenAI(config.openai),
    ...(config.openaiCompatible ?? []).map(createOpenAICompatible),
  ]);
}

export * from "./registry";
export * from "./types";
