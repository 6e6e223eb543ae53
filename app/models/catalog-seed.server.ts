import type { Capabilities } from "#app/utils/catalog";
import type { Modality } from "#app/utils/pricing";

// The models a fresh install offers. Prices are USD micro-units ($1 = 1,000,000) as the providers list
// them (checked 2026-11); an admin edits them (and the markup) in the catalog table afterwards, and a
// re-seed never overwrites an existing row.

export type SeedModel = {
  id: string;
  label: string;
  modality: Modality;
  description: string;
  capabilities: Partial<Capabilities>;
  inputPerMillion?: bigint;
  outputPerMillion?: bigint;
  cachedInputPerMillion?: bigint;
  perImage?: bigint;
  imagePrices?: Record<string, bigint>;
  perVideoSecond?: bigint;
  perThousandCharacters?: bigint;
  markupBps?: number;
};

/** "0.075" → 75_000n micro-units, exactly (no floating point). */
function usd(dollars: string): bigint {
  const [whole, fraction = ""] = dollars.split(".");
  if (!/^\d+$/.test(whole!) || !/^\d{0,6}$/.test(fraction)) throw new Error(`Bad seed price ${dollars}`);
  return BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
}

const VISION = ["image/png", "image/jpeg", "image/webp", "image/gif"];
/** Pictures image models take to edit or as reference. */
const EDITABLE = ["image/png", "image/jpeg", "image/webp"];
const DOCUMENTS = [...VISION, "application/pdf", "text/plain", "text/markdown", "text/csv", "application/json"];
const OPENAI_VOICES = ["alloy", "ash", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer"].map((id) => ({
  id,
  label: id[0]!.toUpperCase() + id.slice(1),
}));

export const SEED_MODELS: SeedModel[] = [
  // ---- Demo (offline) ----
  {
    id: "demo:chat",
    label: "Demo chat",
    modality: "text",
    description: "Offline demo: a deterministic reply streamed word by word. No AI model is called.",
    capabilities: {
      streaming: true,
      fileTypes: DOCUMENTS,
      contextWindow: 32_000,
      maxOutputTokens: 2_000,
      defaultOutputTokens: 200,
      tokensPerImage: 500,
    },
    inputPerMillion: usd("0.1"),
    outputPerMillion: usd("0.4"),
  },
  {
    id: "demo:chat-mini",
    label: "Demo chat mini",
    modality: "text",
    description: "Offline demo: a second, cheaper demo model, so Compare works without any key.",
    capabilities: { streaming: true, contextWindow: 16_000, maxOutputTokens: 1_000, defaultOutputTokens: 200 },
    inputPerMillion: usd("0.05"),
    outputPerMillion: usd("0.2"),
  },
  {
    id: "demo:image",
    label: "Demo image",
    modality: "image",
    description: "Offline demo: a colourful gradient drawn from your prompt on this server.",
    capabilities: {
      sizes: ["512x512", "1024x1024", "1024x768", "768x1024"],
      maxImages: 4,
      // A picture to "edit": the demo only mixes its fingerprint into the result.
      fileTypes: EDITABLE,
      maxFiles: 2,
    },
    perImage: usd("0.002"),
    imagePrices: { "1024x1024": usd("0.004"), "1024x768": usd("0.004"), "768x1024": usd("0.004") },
  },
  {
    id: "demo:speech",
    label: "Demo speech",
    modality: "speech",
    description: "Offline demo: a short tone sequence derived from your text (a WAV file).",
    capabilities: {
      voices: [
        { id: "low", label: "Low" },
        { id: "high", label: "High" },
      ],
      maxCharacters: 2_000,
    },
    perThousandCharacters: usd("0.001"),
  },
  {
    id: "demo:video",
    label: "Demo video",
    modality: "video",
    description: "Offline demo: a short clip made on this server after a few seconds of 'rendering'.",
    capabilities: { seconds: [4, 8], aspectRatios: ["16:9", "9:16", "1:1"] },
    perVideoSecond: usd("0.005"),
  },
  // ---- OpenAI ----
  {
    id: "openai:gpt-4o",
    label: "GPT-4o",
    modality: "text",
    description: "OpenAI's multimodal flagship: text, images and PDFs in, text out.",
    capabilities: { streaming: true, fileTypes: DOCUMENTS, contextWindow: 128_000, maxOutputTokens: 16_384 },
    inputPerMillion: usd("2.5"),
    outputPerMillion: usd("10"),
    cachedInputPerMillion: usd("1.25"),
  },
  {
    id: "openai:gpt-4o-mini",
    label: "GPT-4o mini",
    modality: "text",
    description: "Small, fast and cheap; reads images and PDFs.",
    capabilities: { streaming: true, fileTypes: DOCUMENTS, contextWindow: 128_000, maxOutputTokens: 16_384 },
    inputPerMillion: usd("0.15"),
    outputPerMillion: usd("0.6"),
    cachedInputPerMillion: usd("0.075"),
  },
  {
    id: "openai:gpt-image-1",
    label: "GPT Image 1",
    modality: "image",
    description: "OpenAI's image model, strong at following detailed prompts and rendering text.",
    capabilities: {
      sizes: ["1024x1024", "1536x1024", "1024x1536"],
      qualities: ["low", "medium", "high"],
      maxImages: 4,
      fileTypes: EDITABLE,
      maxFiles: 4,
      // Input tokens one picture to edit can cost at most: OpenAI tiles it like vision input (65 + 129 per
      // 512 px tile, at most 8 tiles at the default low input fidelity, ≈1,100) and adds a few text tokens
      // per picture; 1,600 keeps the hold above the charge.
      tokensPerImage: 1_600,
    },
    // OpenAI bills GPT Image 1 in tokens: text input $5, image input $10, image output $40 per million.
    // The catalog has one input price and per-image prices, so:
    // - output: the per-image prices below are OpenAI's published prices for each size and quality (its
    //   $40/M × the fixed output tokens of that size and quality). No outputPerMillion: priceOf adds
    //   tokens and images, so both would charge the output twice.
    // - input: $10/M, the image-input price, for all input tokens (the prompt, and on an edit the
    //   pictures). Text tokens are thus charged at twice OpenAI's text price; a prompt is a few dozen
    //   tokens (a hundred cost $0.001 instead of $0.0005), and the service never pays more than it charges.
    inputPerMillion: usd("10"),
    perImage: usd("0.167"),
    imagePrices: {
      "1024x1024/low": usd("0.011"),
      "1024x1024/medium": usd("0.042"),
      "1024x1024/high": usd("0.167"),
      "1536x1024/low": usd("0.016"),
      "1536x1024/medium": usd("0.063"),
      "1536x1024/high": usd("0.25"),
      "1024x1536/low": usd("0.016"),
      "1024x1536/medium": usd("0.063"),
      "1024x1536/high": usd("0.25"),
    },
  },
  {
    id: "openai:tts-1",
    label: "OpenAI TTS",
    modality: "speech",
    description: "Natural text to speech in many languages.",
    capabilities: { voices: OPENAI_VOICES, maxCharacters: 4_096 },
    perThousandCharacters: usd("0.015"),
  },
  // ---- Anthropic ----
  {
    id: "anthropic:claude-sonnet-4-6",
    label: "Claude Sonnet 4.6",
    modality: "text",
    description: "Anthropic's balanced model for writing, analysis and code; reads images and PDFs.",
    // The current Messages API version refuses `temperature`, so the field is not offered.
    capabilities: {
      streaming: true,
      fileTypes: DOCUMENTS,
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      temperature: false,
    },
    inputPerMillion: usd("3"),
    outputPerMillion: usd("15"),
    cachedInputPerMillion: usd("0.3"),
  },
  {
    id: "anthropic:claude-haiku-4-5",
    label: "Claude Haiku 4.5",
    modality: "text",
    description: "Anthropic's fastest model.",
    capabilities: {
      streaming: true,
      fileTypes: DOCUMENTS,
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      temperature: false,
    },
    inputPerMillion: usd("1"),
    outputPerMillion: usd("5"),
    cachedInputPerMillion: usd("0.1"),
  },
  // ---- Google ----
  {
    id: "google:gemini-2.5-flash",
    label: "Gemini 2.5 Flash",
    modality: "text",
    description: "Google's fast multimodal model with a very long context.",
    capabilities: {
      streaming: true,
      fileTypes: DOCUMENTS,
      contextWindow: 1_048_576,
      maxOutputTokens: 65_536,
      tokensPerImage: 258,
    },
    inputPerMillion: usd("0.3"),
    outputPerMillion: usd("2.5"),
    cachedInputPerMillion: usd("0.03"),
  },
  {
    id: "google:gemini-2.5-pro",
    label: "Gemini 2.5 Pro",
    modality: "text",
    description: "Google's most capable reasoning model.",
    capabilities: {
      streaming: true,
      fileTypes: DOCUMENTS,
      contextWindow: 200_000,
      maxOutputTokens: 65_536,
      tokensPerImage: 258,
    },
    inputPerMillion: usd("1.25"),
    outputPerMillion: usd("10"),
    cachedInputPerMillion: usd("0.125"),
  },
  {
    id: "google:gemini-2.5-flash-image",
    label: "Gemini 2.5 Flash Image",
    modality: "image",
    description: "Google's image model (Imagen is not offered on the Gemini API any more). One image per request.",
    // Google bills these images as output tokens (about 1,290 at $30/M); the catalog charges that per image.
    capabilities: { sizes: ["1024x1024", "1344x768", "768x1344"], maxImages: 1, fileTypes: EDITABLE, maxFiles: 3 },
    perImage: usd("0.039"),
  },
  {
    id: "google:veo-3.0-fast-generate-001",
    label: "Veo 3 Fast",
    modality: "video",
    description: "Google's video model, with sound.",
    capabilities: { seconds: [8], aspectRatios: ["16:9", "9:16"] },
    perVideoSecond: usd("0.4"),
  },
  // ---- Black Forest Labs, ElevenLabs, fal.ai ----
  {
    id: "flux:flux-pro-1.1",
    label: "FLUX1.1 [pro]",
    modality: "image",
    description: "Black Forest Labs' fast, high-quality image model.",
    capabilities: { sizes: ["1024x1024", "1344x768", "768x1344"], maxImages: 1 },
    perImage: usd("0.04"),
  },
  {
    id: "elevenlabs:eleven_multilingual_v2",
    label: "ElevenLabs Multilingual v2",
    modality: "speech",
    description: "Lifelike speech in 29 languages.",
    capabilities: {
      voices: [
        { id: "JBFqnCBsd6RMkjVDRZzb", label: "George" },
        { id: "21m00Tcm4TlvDq8ikWAM", label: "Rachel" },
      ],
      maxCharacters: 5_000,
    },
    perThousandCharacters: usd("0.3"),
  },
  {
    id: "fal:fal-ai/kling-video/v2.1/standard/text-to-video",
    label: "Kling 2.1 (fal.ai)",
    modality: "video",
    description: "Kuaishou's Kling video model, through fal.ai.",
    capabilities: { seconds: [5, 10], aspectRatios: ["16:9", "9:16", "1:1"] },
    perVideoSecond: usd("0.05"),
  },
  {
    id: "fal:fal-ai/bytedance/seedance/v1/lite/text-to-video",
    label: "Seedance 1 Lite (fal.ai)",
    modality: "video",
    description: "ByteDance's Seedance video model, through fal.ai.",
    capabilities: { seconds: [5, 10], aspectRatios: ["16:9", "9:16", "1:1"] },
    perVideoSecond: usd("0.036"),
  },
  // ---- OpenAI-compatible endpoints (listed when OPENAI_COMPATIBLE_PROVIDERS configures them) ----
  {
    id: "deepseek:deepseek-chat",
    label: "DeepSeek V3",
    modality: "text",
    description: "DeepSeek's general model (text only).",
    capabilities: { streaming: true, contextWindow: 128_000, maxOutputTokens: 8_192 },
    inputPerMillion: usd("0.27"),
    outputPerMillion: usd("1.1"),
    cachedInputPerMillion: usd("0.07"),
  },
  {
    id: "qwen:qwen-plus",
    label: "Qwen Plus",
    modality: "text",
    description: "Alibaba's Qwen through DashScope (text only).",
    capabilities: { streaming: true, contextWindow: 131_072, maxOutputTokens: 8_192 },
    inputPerMillion: usd("0.4"),
    outputPerMillion: usd("1.2"),
  },
];
