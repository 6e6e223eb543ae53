import { z } from "zod";
import { formatMoney } from "./money";
import { priceOf, type Modality, type Price } from "./pricing";

// The shape of a catalog entry as pages see it (shared by server and browser). The rows live in the
// catalog_models table; app/models/catalog.server.ts reads and seeds them.

export const capabilitiesSchema = z.object({
  /** Text: answers arrive token by token. */
  streaming: z.boolean().default(false),
  /** Media types (sniffed from content) the model accepts as attachments; empty = no attachments. */
  fileTypes: z.array(z.string()).default([]),
  maxFileBytes: z
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  maxFiles: z.number().int().min(0).default(5),
  contextWindow: z.number().int().positive().default(128_000),
  maxOutputTokens: z.number().int().positive().default(4_096),
  /** What the output-token field starts at. */
  defaultOutputTokens: z.number().int().positive().default(1_024),
  tokensPerImage: z.number().int().positive().default(1_600),
  temperature: z.boolean().default(true),
  /** Image: "WIDTHxHEIGHT" choices, first is the default. */
  sizes: z.array(z.string()).default([]),
  qualities: z.array(z.string()).default([]),
  maxImages: z.number().int().positive().default(1),
  /** Speech. */
  voices: z.array(z.object({ id: z.string(), label: z.string() })).default([]),
  maxCharacters: z.number().int().positive().default(4_096),
  /** Video: allowed durations in seconds, first is the default. */
  seconds: z.array(z.number().int().positive()).default([]),
  aspectRatios: z.array(z.string()).default([]),
});

export type Capabilities = z.infer<typeof capabilitiesSchema>;

export type CatalogEntry = {
  id: string;
  provider: string;
  providerLabel: string;
  label: string;
  modality: Modality;
  description: string;
  capabilities: Capabilities;
  price: Price;
  /** False when the provider has no key here, or the model is switched off by an admin. */
  available: boolean;
  /** Why it is unavailable, in words for members. */
  unavailableReason: string | null;
  privacyNote: string;
};

export const MODALITY_LABELS: Record<Modality, string> = {
  text: "Text and chat",
  image: "Images",
  speech: "Speech",
  video: "Video",
};

/** What each provider does with what members send, shown next to the model picker. */
export const PROVIDER_PRIVACY_NOTES: Record<string, string> = {
  demo: "Runs on this server. Nothing you send leaves it.",
  openai: "Sent to OpenAI (USA). Under its API terms, inputs are not used for training and are kept up to 30 days.",
  anthropic: "Sent to Anthropic (USA). Under its API terms, inputs are not used for training.",
  google: "Sent to Google (Gemini API). Paid-tier inputs are not used for training.",
  flux: "Sent to Black Forest Labs. Outputs are deleted from their servers after a few minutes.",
  elevenlabs: "Sent to ElevenLabs to produce the audio.",
  fal: "Sent to fal.ai, which runs the Kling and Seedance video models.",
  deepseek: "Sent to DeepSeek (China).",
  qwen: "Sent to Alibaba Cloud DashScope.",
};

export function privacyNoteFor(provider: string): string {
  return PROVIDER_PRIVACY_NOTES[provider] ?? "Sent to this model's provider to produce the answer.";
}

/** A model's unit prices in words, markup included: "$2.50 in · $10 out per million tokens". */
export function describePrice(entry: Pick<CatalogEntry, "modality" | "price">, currency: string): string {
  const money = (amount: bigint) => formatMoney(amount, currency);
  const { price } = entry;
  switch (entry.modality) {
    case "text":
      return `${money(priceOf(price, { inputTokens: 1_000_000 }))} in · ${money(priceOf(price, { outputTokens: 1_000_000 }))} out per million tokens`;
    case "image": {
      const prices = new Set([price.perImage, ...Object.values(price.imagePrices)].filter((amount) => amount > 0n));
      const amounts = [...prices].map((amount) =>
        priceOf({ ...price, perImage: amount, imagePrices: {} }, { images: 1 }),
      );
      const low = amounts.reduce((a, b) => (b < a ? b : a), amounts[0] ?? 0n);
      const high = amounts.reduce((a, b) => (b > a ? b : a), amounts[0] ?? 0n);
      const perImage = low === high ? `${money(low)} per image` : `${money(low)}–${money(high)} per image`;
      // Some image models also bill their input (prompt and pictures) by the token.
      return price.inputPerMillion > 0n
        ? `${perImage} + ${money(priceOf(price, { inputTokens: 1_000_000 }))} per million input tokens`
        : perImage;
    }
    case "speech":
      return `${money(priceOf(price, { characters: 1_000 }))} per 1,000 characters`;
    case "video":
      return `${money(priceOf(price, { videoSeconds: 1 }))} per second`;
  }
}
