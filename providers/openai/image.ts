import { toFile, type default as OpenAI } from "openai";
import type { ImageEditParamsNonStreaming, ImageGenerateParamsNonStreaming } from "openai/resources/images";
import { startCall } from "../call";
import {
  ProviderError,
  type CallOptions,
  type ImageModel,
  type ImageRequest,
  type ImageResult,
  type Usage,
} from "../types";
import { requestOptions } from "./client";
import { toProviderError } from "./errors";

// Images API (`images.generate`, and `images.edit` when pictures are given). DALL·E models answer with URLs unless asked for base64; GPT image
// models always answer with base64 and reject `response_format`, so it is only sent to dall-e-*.

export function sniffImageType(bytes: Uint8Array): string | undefined {
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
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  return undefined;
}

export function createImageModel(settings: { provider: string; modelId: string; client: () => OpenAI }): ImageModel {
  const { provider, modelId } = settings;
  return {
    provider,
    modelId,
    async generate(req: ImageRequest, opts: CallOptions = {}): Promise<ImageResult> {
      const call = startCall(provider, opts);
      try {
        call.throwIfInterrupted();
        const body: ImageGenerateParamsNonStreaming = {
          model: modelId,
          prompt: req.prompt,
          ...(req.n !== undefined ? { n: req.n } : {}),
          ...(req.size !== undefined ? { size: req.size as ImageGenerateParamsNonStreaming["size"] } : {}),
          ...(req.quality !== undefined ? { quality: req.quality as ImageGenerateParamsNonStreaming["quality"] } : {}),
          ...(modelId.startsWith("dall-e") ? { response_format: "b64_json" as const } : {}),
        };
        let response;
        try {
          if (req.images?.length) {
            // Image to image: the edits endpoint, the pictures as multipart files.
            const files = await Promise.all(
              req.images.map((image, index) =>
                toFile(Buffer.from(image.data), `image-${index}.${image.mediaType.split("/")[1] ?? "png"}`, {
                  type: image.mediaType,
                }),
              ),
            );
            const { response_format: _ignored, ...editable } = body as ImageGenerateParamsNonStreaming & {
              response_format?: string;
            };
            response = await settings
              .client()
              .images.edit(
                { ...(editable as unknown as ImageEditParamsNonStreaming), image: files },
                requestOptions(call, opts),
              );
          } else {
            response = await settings.client().images.generate(body, requestOptions(call, opts));
          }
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        const images = (response.data ?? []).map((image) => {
          if (!image.b64_json) throw new ProviderError("upstream", provider, { detail: "image without base64 data" });
          const data = new Uint8Array(Buffer.from(image.b64_json, "base64"));
          const mediaType = sniffImageType(data);
          if (!mediaType) throw new ProviderError("upstream", provider, { detail: "unrecognised image data" });
          return { mediaType, data };
        });
        if (images.length === 0) throw new ProviderError("upstream", provider, { detail: "no images" });
        const usage: Usage = { images: images.length };
        // GPT image models are billed by tokens and report them. Input is the prompt's text tokens plus, on
        // an edit, the pictures' image tokens (input_tokens_details splits them; the total is what counts).
        if (response.usage) {
          const { input_tokens, input_tokens_details: details, output_tokens } = response.usage;
          const input =
            input_tokens ?? (details ? (details.text_tokens ?? 0) + (details.image_tokens ?? 0) : undefined);
          if (input !== undefined) usage.inputTokens = input;
          if (output_tokens !== undefined) usage.outputTokens = output_tokens;
        }
        return { images, usage };
      } finally {
        call.end();
      }
    },
  };
}
