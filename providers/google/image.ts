import type { GenerateContentResponse } from "@google/genai";
import { startCall } from "../call";
import {
  ProviderError,
  type CallOptions,
  type GeneratedFile,
  type ImageModel,
  type ImageRequest,
  type ImageResult,
} from "../types";
import { toFinishReason, throwIfPromptBlocked, toUsage } from "./chat";
import { requestConfig, type GoogleContext } from "./client";
import { toProviderError } from "./errors";

// Images from Gemini image models ("Nano Banana": gemini-2.5-flash-image, gemini-3-pro-image, ...)
// through `models.generateContent` with an IMAGE response modality.
//
// Not Imagen: Google shut the Imagen models down on the Gemini Developer API (August 2026), and
// this SDK's `models.generateImages` refuses to run outside Vertex AI. Gemini image models make
// one image per request and bill it as output tokens, so usage carries the token counts as well.

/** The aspect ratios Gemini image models accept. */
export const ASPECT_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9"] as const;

/**
 * ImageRequest.size ("WIDTHxHEIGHT") to the supported aspect ratio closest to it, compared on a
 * log scale so that 2:1 and 1:2 are equally far from 1:1. The pixel size itself is the model's
 * choice (see `quality` for 1K/2K/4K).
 */
export function aspectRatioFor(size: string): string | undefined {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size.trim());
  if (!match) return undefined;
  const width = Number(match[1]);
  const height = Number(match[2]);
  if (!width || !height) return undefined;
  const wanted = Math.log(width / height);
  let best: string = ASPECT_RATIOS[0];
  let bestDistance = Infinity;
  for (const ratio of ASPECT_RATIOS) {
    const [w, h] = ratio.split(":").map(Number) as [number, number];
    const distance = Math.abs(Math.log(w / h) - wanted);
    if (distance < bestDistance) {
      best = ratio;
      bestDistance = distance;
    }
  }
  return best;
}

/** ImageRequest.quality in Google's vocabulary: the output resolution. */
const IMAGE_SIZES = new Set(["1K", "2K", "4K"]);

function sniffImageType(bytes: Uint8Array): string | undefined {
  const starts = (...signature: number[]) => signature.every((byte, i) => bytes[i] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (
    starts(0x52, 0x49, 0x46, 0x46) &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  ) {
    return "image/webp";
  }
  return undefined;
}

function imagesOf(response: GenerateContentResponse, provider: string): GeneratedFile[] {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  // Thinking image models may send draft images marked as thoughts: only final images count.
  return parts
    .filter((part) => !part.thought && part.inlineData?.data)
    .map((part) => {
      const data = new Uint8Array(Buffer.from(part.inlineData!.data!, "base64"));
      const mediaType = sniffImageType(data);
      if (!mediaType) throw new ProviderError("upstream", provider, { detail: "unrecognised image data" });
      return { mediaType, data };
    });
}

export function createImageModel(context: GoogleContext, modelId: string): ImageModel {
  const { provider } = context;
  return {
    provider,
    modelId,
    async generate(req: ImageRequest, opts: CallOptions = {}): Promise<ImageResult> {
      const call = startCall(provider, opts);
      try {
        call.throwIfInterrupted();
        if (req.n !== undefined && req.n !== 1) {
          throw new ProviderError("invalid_request", provider, {
            detail: "one image per request",
            userMessage: "This model makes one image at a time.",
          });
        }
        const aspectRatio = req.size !== undefined ? aspectRatioFor(req.size) : undefined;
        if (req.size !== undefined && !aspectRatio) {
          throw new ProviderError("invalid_request", provider, { detail: "size is not WIDTHxHEIGHT" });
        }
        const imageSize = req.quality?.toUpperCase();
        if (imageSize !== undefined && !IMAGE_SIZES.has(imageSize)) {
          throw new ProviderError("invalid_request", provider, { detail: "quality is not 1K, 2K or 4K" });
        }
        let response: GenerateContentResponse;
        try {
          response = await context.client().models.generateContent({
            model: modelId,
            contents: [
              {
                role: "user",
                parts: [
                  ...(req.images ?? []).map((image) => ({
                    inlineData: { mimeType: image.mediaType, data: Buffer.from(image.data).toString("base64") },
                  })),
                  { text: req.prompt },
                ],
              },
            ],
            config: {
              ...requestConfig(call, opts),
              automaticContinuation: false,
              responseModalities: ["IMAGE"],
              ...(aspectRatio || imageSize
                ? { imageConfig: { ...(aspectRatio ? { aspectRatio } : {}), ...(imageSize ? { imageSize } : {}) } }
                : {}),
            },
          });
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        throwIfPromptBlocked(response, provider);
        const images = imagesOf(response, provider);
        if (images.length === 0) {
          const reason = response.candidates?.[0]?.finishReason;
          if (toFinishReason(reason) === "content-filter") {
            throw new ProviderError("content_policy", provider, {
              ...(reason && /^[A-Z_]{1,64}$/.test(reason) ? { code: reason } : {}),
              detail: "image filtered",
            });
          }
          throw new ProviderError("upstream", provider, { detail: "no images" });
        }
        return { images, usage: { images: images.length, ...toUsage(response.usageMetadata) } };
      } finally {
        call.end();
      }
    },
  };
}
