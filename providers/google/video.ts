import { GenerateVideosOperation } from "@google/genai";
import { startCall, type Call } from "../call";
import { ProviderError, type CallOptions, type VideoModel, type VideoPollResult, type VideoRequest } from "../types";
import { GOOGLE_BASE_URL, requestConfig, type GoogleContext } from "./client";
import { httpError, operationError, toProviderError } from "./errors";

// Veo through a long-running operation: `models.generateVideos` starts it, `operations.
// getVideosOperation` polls it, and the finished video is downloaded here (its URI needs the API
// key) so the app gets bytes and never follows a vendor URL itself.
//
// Billing is per second of video, and Google does not report the duration back: the request
// always states it (DEFAULT_SECONDS when the member did not choose), and the job id carries it to
// `poll` as `${operationName}#${seconds}`, so usage is what was asked for and never a guess.

/** Veo's default length; a valid duration for every Veo model (2.x: 5–8 s, 3.x: 4, 6 or 8 s). */
export const DEFAULT_SECONDS = 8;
const OPERATION_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;
const MAX_REDIRECTS = 3;

function parseJobId(jobId: string, provider: string): { name: string; seconds: number } {
  const hash = jobId.lastIndexOf("#");
  const name = jobId.slice(0, hash);
  const seconds = Number(jobId.slice(hash + 1));
  // The name becomes a URL path: no "..", no query, nothing but path segments.
  if (hash <= 0 || !OPERATION_NAME.test(name) || !Number.isInteger(seconds) || seconds <= 0) {
    throw new ProviderError("invalid_request", provider, { detail: "not a Google video job id" });
  }
  return { name, seconds };
}

/**
 * Fetches the finished video. The API key goes only to the configured API origin (or Google's):
 * the URI comes from the response, and a key sent wherever a response points would leak. Redirects
 * (to a signed storage URL) are followed by hand, without the key.
 */
async function download(
  context: GoogleContext,
  uri: string,
  call: Call,
): Promise<{ data: Uint8Array; contentType: string | undefined }> {
  const { provider } = context;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ProviderError("upstream", provider, { detail: "invalid video URI" });
  }
  const trusted = new Set([new URL(context.baseURL).origin, new URL(GOOGLE_BASE_URL).origin]);
  if (!trusted.has(url.origin)) throw new ProviderError("upstream", provider, { detail: "untrusted video URI" });
  let withKey = true;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: withKey ? { "x-goog-api-key": context.apiKey } : {},
        redirect: "manual",
        signal: call.signal,
      });
    } catch (error) {
      throw toProviderError(error, provider, call);
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      url = new URL(location, url);
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new ProviderError("upstream", provider, { detail: "invalid video redirect" });
      }
      withKey = false;
      continue;
    }
    if (!response.ok) {
      let text = "";
      try {
        text = await response.text();
      } catch (error) {
        throw toProviderError(error, provider, call);
      }
      throw httpError(provider, response.status, text);
    }
    try {
      return {
        data: new Uint8Array(await response.arrayBuffer()),
        contentType: response.headers.get("content-type") ?? undefined,
      };
    } catch (error) {
      throw toProviderError(error, provider, call);
    }
  }
  throw new ProviderError("upstream", provider, { detail: "too many redirects" });
}

function videoType(...candidates: Array<string | undefined>): string {
  for (const candidate of candidates) {
    const type = candidate?.toLowerCase().split(";")[0]!.trim();
    if (type?.startsWith("video/")) return type;
  }
  return "video/mp4";
}

export function createVideoModel(context: GoogleContext, modelId: string): VideoModel {
  const { provider } = context;
  return {
    provider,
    modelId,
    async start(req: VideoRequest, opts: CallOptions = {}): Promise<{ jobId: string }> {
      const call = startCall(provider, opts);
      try {
        call.throwIfInterrupted();
        const seconds = req.seconds ?? DEFAULT_SECONDS;
        if (!Number.isInteger(seconds) || seconds <= 0) {
          throw new ProviderError("invalid_request", provider, { detail: "seconds must be a positive integer" });
        }
        let operation: GenerateVideosOperation;
        try {
          operation = await context.client().models.generateVideos({
            model: modelId,
            source: { prompt: req.prompt },
            config: {
              ...requestConfig(call, opts),
              numberOfVideos: 1,
              durationSeconds: seconds,
              ...(req.aspectRatio !== undefined ? { aspectRatio: req.aspectRatio } : {}),
            },
          });
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        if (!operation.name || !OPERATION_NAME.test(operation.name)) {
          throw new ProviderError("upstream", provider, { detail: "no operation name" });
        }
        return { jobId: `${operation.name}#${seconds}` };
      } finally {
        call.end();
      }
    },

    async poll(jobId: string, opts: CallOptions = {}): Promise<VideoPollResult> {
      const call = startCall(provider, opts);
      try {
        call.throwIfInterrupted();
        const { name, seconds } = parseJobId(jobId, provider);
        let operation: GenerateVideosOperation;
        try {
          // The SDK wants the operation object it returned; a fresh one with the name is enough.
          operation = await context.client().operations.getVideosOperation({
            operation: Object.assign(new GenerateVideosOperation(), { name }),
            config: requestConfig(call, opts),
          });
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        // The Gemini API reports no progress for Veo operations.
        if (!operation.done) return { status: "running" };
        if (operation.error) return { status: "failed", error: operationError(provider, operation.error) };
        const video = operation.response?.generatedVideos?.[0]?.video;
        if (!video?.uri && !video?.videoBytes) {
          if ((operation.response?.raiMediaFilteredCount ?? 0) > 0) {
            return {
              status: "failed",
              error: new ProviderError("content_policy", provider, { detail: "video filtered" }),
            };
          }
          return { status: "failed", error: new ProviderError("upstream", provider, { detail: "no video" }) };
        }
        let data: Uint8Array;
        let contentType: string | undefined;
        if (video.videoBytes) {
          data = new Uint8Array(Buffer.from(video.videoBytes, "base64"));
        } else {
          ({ data, contentType } = await download(context, video.uri!, call));
        }
        call.throwIfInterrupted();
        if (data.length === 0) throw new ProviderError("upstream", provider, { detail: "empty video" });
        return {
          status: "succeeded",
          video: { mediaType: videoType(video.mimeType, contentType), data },
          usage: { videoSeconds: seconds },
        };
      } finally {
        call.end();
      }
    },
  };
}
