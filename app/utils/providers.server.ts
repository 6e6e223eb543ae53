import { createDefaultRegistry, type Registry } from "#providers/index";
import { env } from "./env.server";

// The app's one provider registry, built from the validated environment on first use.

let registry: Registry | undefined;

export function getRegistry(): Registry {
  registry ??= createDefaultRegistry({
    demo: env.DEMO_PROVIDER,
    demoWordDelayMs: env.DEMO_WORD_DELAY_MS,
    demoVideoReadyAfterMs: env.DEMO_VIDEO_READY_AFTER_MS,
    openai: { apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL },
    anthropic: { apiKey: env.ANTHROPIC_API_KEY, baseURL: env.ANTHROPIC_BASE_URL },
    google: { apiKey: env.GEMINI_API_KEY, baseURL: env.GEMINI_BASE_URL },
    flux: { apiKey: env.BFL_API_KEY, baseURL: env.BFL_BASE_URL },
    elevenlabs: { apiKey: env.ELEVENLABS_API_KEY, baseURL: env.ELEVENLABS_BASE_URL },
    fal: { apiKey: env.FAL_KEY, baseURL: env.FAL_BASE_URL },
    openaiCompatible: env.OPENAI_COMPATIBLE_PROVIDERS,
  });
  return registry;
}
