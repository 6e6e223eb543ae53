import { createAnthropic } from "./anthropic";
import { createDemo } from "./demo";
import { createElevenLabs, type ElevenLabsSettings } from "./elevenlabs";
import { createFal, type FalSettings } from "./fal";
import { createFlux, type FluxSettings } from "./flux";
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
  /** How long after start a demo video is ready (ms). Default 3000. */
  demoVideoReadyAfterMs?: number;
  openai?: { apiKey?: string; baseURL?: string; organization?: string };
  /** baseURL without /v1 (the SDK adds it). */
  anthropic?: { apiKey?: string; baseURL?: string };
  /** Gemini Developer API; baseURL without /v1beta. */
  google?: { apiKey?: string; baseURL?: string };
  flux?: FluxSettings;
  elevenlabs?: ElevenLabsSettings;
  fal?: FalSettings;
  /** Each entry becomes a provider, e.g. { id: "deepseek", label: "DeepSeek", baseURL, apiKey, models }. */
  openaiCompatible?: OpenAICompatibleSettings[];
};

export function createDefaultRegistry(config: ProvidersConfig): Registry {
  return createRegistry([
    createDemo({
      enabled: config.demo,
      wordDelayMs: config.demoWordDelayMs,
      videoReadyAfterMs: config.demoVideoReadyAfterMs,
    }),
    createOpenAI(config.openai),
    createAnthropic(config.anthropic),
    createGoogle(config.google),
    createFlux(config.flux),
    createElevenLabs(config.elevenlabs),
    createFal(config.fal),
    ...(config.openaiCompatible ?? []).map(createOpenAICompatible),
  ]);
}

export * from "./registry";
export * from "./types";
