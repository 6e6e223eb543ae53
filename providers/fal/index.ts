import { startCall } from "../call";
import {
  connectionError,
  decodeJobId,
  download,
  encodeJobId,
  errorFromResponse,
  isHttpsOn,
  isRecord,
  joinPath,
  normalizeBase,
  parseVendorUrl,
  readBytes,
  safeCode,
  sendJson,
  sniffMediaType,
  type Http,
  type VendorError,
} from "../http";
import {
  ProviderError,
  type CallOptions,
  type Provider,
  type VideoModel,
  type VideoPollResult,
  type VideoRequest,
} from "../types";

// fal.ai's queue API, for the video models it hosts (Kling, Seedance…):
//   POST {queue}/{model path}                       { prompt, duration, aspect_ratio } → { request_id, … }
//   GET  {queue}/{app}/requests/{id}/status         { status: IN_QUEUE | IN_PROGRESS | COMPLETED, … }
//   GET  {queue}/{app}/requests/{id}                { video: { url, content_type } } (or the job's error)
// with `Authorization: Key <key>`. {app} is the model path's owner/name ("fal-ai/kling-video" for
// "fal-ai/kling-video/v2.1/standard/text-to-video"), as fal's own client builds it.
//
// The status and result URLs are built from the configured base, never taken from the vendor's
// answer, so the job id only needs the model path, the request id and the seconds asked for — it
// survives a restart, and the key is only ever sent to the configured base. The one vendor URL
// followed is the video file: https on fal.media or fal.run (fal's CDN and storage), or the
// configured origin, checked on every redirect hop; the key is not sent there.
//
// Usage is the requested duration: fal bills these models per second of video generated, and the
// models produce the duration asked for (or reject it).

export const FAL_QUEUE_URL = "https://queue.fal.run";

export type FalSettings = {
  /** Without a key the provider is listed but not configured. */
  apiKey?: string;
  /** Default https://queue.fal.run; a proxy or a test server. */
  baseURL?: string;
};

const PROVIDER = "fal";
const JOB_PREFIX = "fal1";
const DEFAULT_TIMEOUT_MS = 2 * 60_000;
const DEFAULT_SECONDS = 5;
const MAX_SECONDS = 60;
const MAX_VIDEO_BYTES = 500 * 1024 * 1024;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ASPECT_RATIO = /^\d{1,2}:\d{1,2}$/;
/** Namespaces whose app ids have three parts (as in fal's client). */
const THREE_PART_NAMESPACES = new Set(["workflows", "comfy"]);

type Job = { model: string; requestId: string; seconds: number };

function segmentsOf(modelPath: string): string[] | undefined {
  const segments = modelPath.split("/");
  return segments.length >= 2 && segments.length <= 10 && segments.every((part) => SEGMENT.test(part))
    ? segments
    : undefined;
}

function appOf(segments: string[]): string[] {
  return segments.slice(0, THREE_PART_NAMESPACES.has(segments[0]!) ? 3 : 2);
}

function decodeJob(jobId: string): Job {
  const payload = decodeJobId(JOB_PREFIX, jobId);
  if (
    isRecord(payload) &&
    typeof payload.m === "string" &&
    segmentsOf(payload.m) &&
    typeof payload.r === "string" &&
    REQUEST_ID.test(payload.r) &&
    typeof payload.s === "number" &&
    Number.isInteger(payload.s) &&
    payload.s >= 1 &&
    payload.s <= MAX_SECONDS
  ) {
    return { model: payload.m, requestId: payload.r, seconds: payload.s };
  }
  throw new ProviderError("invalid_request", PROVIDER, { detail: "unknown job id" });
}

/**
 * fal's model errors are { detail: [{ loc, msg, type, url }] } (type e.g. "content_policy_violation");
 * its request errors are { detail: "text", error_type: "runner_server_error" }.
 */
function readError(_status: number, body: unknown): VendorError {
  if (!isRecord(body)) return {};
  const detail = body.detail;
  const code = Array.isArray(detail) && isRecord(detail[0]) ? safeCode(detail[0].type) : safeCode(body.error_type);
  return code ? { code } : {};
}

function isVideoUrlAllowed(base: URL) {
  return (url: URL) => url.origin === base.origin || isHttpsOn(url, "fal.media") || isHttpsOn(url, "fal.run");
}

function mediaTypeOf(declared: unknown, header: string | undefined, data: Uint8Array): string {
  const valid = (value: unknown): value is string =>
    typeof value === "string" && /^video\/[\w.+-]{1,40}$/.test(value.split(";")[0]!.trim());
  if (valid(declared)) return declared.split(";")[0]!.trim();
  if (valid(header)) return header.split(";")[0]!.trim();
  return sniffMediaType(data) ?? "video/mp4";
}

function createVideoModel(settings: { modelId: string; apiKey: string; base: URL }): VideoModel {
  const { modelId, apiKey, base } = settings;
  const headers = { authorization: `Key ${apiKey}` };

  /** The finished job's result: the video, or why the job failed (which polling again will not change). */
  async function result(http: Http, job: Job, app: string[]): Promise<VideoPollResult> {
    let response: Response;
    try {
      response = await fetch(joinPath(base, ...app, "requests", job.requestId), {
        headers: { ...headers, accept: "application/json" },
        signal: http.call.signal,
        redirect: "error",
      });
    } catch (error) {
      throw connectionError(http, error);
    }
    if (!response.ok) {
      const error = await errorFromResponse(http, response);
      http.call.throwIfInterrupted();
      // Our key or our rate, not the job: the job may be fine, so this poll throws. Anything else is
      // the stored outcome of a finished job, which polling again will not change.
      if (error.kind === "auth" || error.kind === "rate_limited") throw error;
      return { status: "failed", error };
    }
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(await readBytes(http, response, 4 * 1024 * 1024)));
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw new ProviderError("upstream", PROVIDER, { detail: "malformed response" });
    }
    const video = isRecord(body) && isRecord(body.video) ? body.video : undefined;
    const url = parseVendorUrl(video?.url);
    if (!video || !url) {
      return { status: "failed", error: new ProviderError("upstream", PROVIDER, { detail: "no video in result" }) };
    }
    const isAllowed = isVideoUrlAllowed(base);
    if (!isAllowed(url)) {
      return { status: "failed", error: new ProviderError("upstream", PROVIDER, { detail: "untrusted result URL" }) };
    }
    const file = await download(http, url, isAllowed, MAX_VIDEO_BYTES);
    if (file.data.length === 0) throw new ProviderError("upstream", PROVIDER, { detail: "empty video" });
    return {
      status: "succeeded",
      video: { mediaType: mediaTypeOf(video.content_type, file.contentType, file.data), data: file.data },
      usage: { videoSeconds: job.seconds },
    };
  }

  return {
    provider: PROVIDER,
    modelId,
    async start(req: VideoRequest, opts: CallOptions = {}): Promise<{ jobId: string }> {
      const call = startCall(PROVIDER, { ...opts, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
      try {
        call.throwIfInterrupted();
        const segments = segmentsOf(modelId);
        if (!segments) throw new ProviderError("invalid_request", PROVIDER, { detail: "unknown model" });
        if (req.prompt.trim() === "") throw new ProviderError("invalid_request", PROVIDER, { detail: "empty prompt" });
        const seconds = req.seconds ?? DEFAULT_SECONDS;
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_SECONDS) {
          throw new ProviderError("invalid_request", PROVIDER, { detail: "unsupported duration" });
        }
        if (req.aspectRatio !== undefined && !ASPECT_RATIO.test(req.aspectRatio)) {
          throw new ProviderError("invalid_request", PROVIDER, { detail: "unsupported aspect ratio" });
        }
        const http: Http = { provider: PROVIDER, call, readError };
        // Kling and Seedance take the duration as a string of whole seconds ("5", "10").
        const body = {
          prompt: req.prompt,
          duration: String(seconds),
          ...(req.aspectRatio !== undefined ? { aspect_ratio: req.aspectRatio } : {}),
        };
        const queued = await sendJson(http, joinPath(base, ...segments), { headers, json: body });
        const requestId = isRecord(queued) ? queued.request_id : undefined;
        if (typeof requestId !== "string" || !REQUEST_ID.test(requestId)) {
          throw new ProviderError("upstream", PROVIDER, { detail: "no request id" });
        }
        return { jobId: encodeJobId(JOB_PREFIX, { m: modelId, r: requestId, s: seconds }) };
      } finally {
        call.end();
      }
    },

    async poll(jobId: string, opts: CallOptions = {}): Promise<VideoPollResult> {
      const call = startCall(PROVIDER, { ...opts, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
      try {
        call.throwIfInterrupted();
        const job = decodeJob(jobId);
        const app = appOf(segmentsOf(job.model)!);
        const http: Http = { provider: PROVIDER, call, readError };
        const status = await sendJson(http, joinPath(base, ...app, "requests", job.requestId, "status"), { headers });
        const state = isRecord(status) ? status.status : undefined;
        if (state === "IN_QUEUE") return { status: "running", progress: 0 };
        // fal reports no percentage for these models; its logs are free text, not progress.
        if (state === "IN_PROGRESS") return { status: "running" };
        if (state === "FAILED" || state === "CANCELED" || state === "CANCELLED") {
          return {
            status: "failed",
            error: new ProviderError("upstream", PROVIDER, { code: state === "FAILED" ? "failed" : "canceled" }),
          };
        }
        if (state !== "COMPLETED") throw new ProviderError("upstream", PROVIDER, { detail: "unexpected status" });
        const outcome = await result(http, job, app);
        call.throwIfInterrupted();
        return outcome;
      } finally {
        call.end();
      }
    },
  };
}

export function createFal(settings: FalSettings = {}): Provider {
  const base = normalizeBase(settings.baseURL || FAL_QUEUE_URL);
  return {
    id: PROVIDER,
    label: "fal.ai (Kling, Seedance)",
    isConfigured: Boolean(settings.apiKey),
    video: (modelId) => createVideoModel({ modelId, apiKey: settings.apiKey ?? "", base }),
  };
}
