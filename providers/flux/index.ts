import { sleep, startCall, type Call } from "../call";
import {
  download,
  isHttpsOn,
  isRecord,
  joinPath,
  normalizeBase,
  parseVendorUrl,
  safeCode,
  sendJson,
  sniffMediaType,
  type Http,
  type VendorError,
} from "../http";
import {
  ProviderError,
  type CallOptions,
  type GeneratedFile,
  type ImageModel,
  type ImageRequest,
  type ImageResult,
  type Provider,
} from "../types";

// Black Forest Labs (FLUX) over its HTTP API: POST /v1/{model} with the `x-key` header answers
// { id, polling_url }; GET polling_url until its status is "Ready", then download result.sample, a
// signed delivery URL valid for about ten minutes. The body holds only the prompt and the size.
//
// Vendor URLs are followed only where BFL documents them to point:
// - polling_url: the configured base URL's origin, or an https API host of bfl.ai (api.bfl.ai and
//   its regional hosts such as api.us1.bfl.ai, api.eu1.bfl.ai). The x-key header goes there.
// - result.sample: any https host of bfl.ai (delivery-eu1.bfl.ai …) or the configured origin. No key
//   header is sent to it (the signature in the URL is the credential), and every redirect hop is
//   checked against the same rule.

export const BFL_BASE_URL = "https://api.bfl.ai";

export type FluxSettings = {
  /** Without a key the provider is listed but not configured. */
  apiKey?: string;
  /** Default https://api.bfl.ai; a regional host, a proxy or a test server. */
  baseURL?: string;
  /** Pause between polls, in ms. Default 500 (BFL's own examples poll every 0.5 s). */
  pollIntervalMs?: number;
};

const PROVIDER = "flux";
/** Used when the caller gives no timeoutMs: a generation that is still pending then is given up on. */
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** Several images are several paid submissions; more than this is better asked for twice. */
const MAX_IMAGES = 4;
const MAX_IMAGE_BYTES = 40 * 1024 * 1024;
const MAX_SIDE = 4096;
const MODEL_ID = /^[a-z0-9][a-z0-9.-]{0,63}$/i;
const PENDING = new Set(["Pending", "Processing", "Queued"]);
const MODERATED: Record<string, string> = {
  "Request Moderated": "request_moderated",
  "Content Moderated": "content_moderated",
};
const FAILED: Record<string, string> = { Error: "generation_error", Failed: "generation_failed" };

/** BFL answers errors as FastAPI does: { detail: "text" } or { detail: [{ loc, msg, type }] }. */
function readError(_status: number, body: unknown): VendorError {
  if (!isRecord(body)) return {};
  const detail = body.detail;
  if (Array.isArray(detail) && isRecord(detail[0])) {
    const code = safeCode(detail[0].type);
    return code ? { code } : {};
  }
  const code = safeCode(body.code) ?? safeCode(body.error_code);
  return code ? { code } : {};
}

function parseSize(size: string | undefined): { width: number; height: number } | undefined {
  if (size === undefined || size === "auto") return undefined;
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size);
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (!match || width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
    throw new ProviderError("invalid_request", PROVIDER, { detail: "unsupported size" });
  }
  return { width, height };
}

/**
 * FLUX wants both sides as multiples of 32: "WxH" is rounded to the nearest multiple (at least 32),
 * so "1000x600" asks for 992x608. The range per model (e.g. 256–1440) is left to BFL to enforce.
 */
export function fluxSize(size: string | undefined): { width: number; height: number } | undefined {
  const parsed = parseSize(size);
  if (!parsed) return undefined;
  const round = (side: number) => Math.max(32, Math.round(side / 32) * 32);
  return { width: round(parsed.width), height: round(parsed.height) };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Kontext and Ultra take an aspect ratio instead of pixel sizes. */
function takesAspectRatio(modelId: string): boolean {
  return modelId.startsWith("flux-kontext") || modelId.endsWith("-ultra");
}

function requestBody(modelId: string, req: ImageRequest): Record<string, unknown> {
  const asked = parseSize(req.size);
  if (!asked) return { prompt: req.prompt };
  if (takesAspectRatio(modelId)) {
    const divisor = gcd(asked.width, asked.height);
    return { prompt: req.prompt, aspect_ratio: `${asked.width / divisor}:${asked.height / divisor}` };
  }
  const size = fluxSize(req.size)!;
  return { prompt: req.prompt, width: size.width, height: size.height };
}

function createImageModel(settings: {
  modelId: string;
  apiKey: string;
  base: URL;
  pollIntervalMs: number;
}): ImageModel {
  const { modelId, apiKey, base, pollIntervalMs } = settings;
  const headers = { "x-key": apiKey };
  const isApiUrl = (url: URL) =>
    url.origin === base.origin ||
    (isHttpsOn(url, "bfl.ai") && /^api(\.[a-z0-9-]+)?\.bfl\.ai$/i.test(url.hostname) && url.port === "");
  const isDeliveryUrl = (url: URL) => url.origin === base.origin || isHttpsOn(url, "bfl.ai");

  async function one(http: Http, call: Call, body: Record<string, unknown>): Promise<GeneratedFile> {
    const task = await sendJson(http, joinPath(base, "v1", modelId), { headers, json: body });
    const pollingUrl = isRecord(task) ? parseVendorUrl(task.polling_url) : undefined;
    if (!pollingUrl) throw new ProviderError("upstream", PROVIDER, { detail: "no polling URL" });
    if (!isApiUrl(pollingUrl)) throw new ProviderError("upstream", PROVIDER, { detail: "untrusted polling URL" });

    while (true) {
      await sleep(pollIntervalMs, call);
      const result = await sendJson(http, pollingUrl, { headers });
      const status = isRecord(result) && typeof result.status === "string" ? result.status : undefined;
      if (status === undefined) throw new ProviderError("upstream", PROVIDER, { detail: "malformed response" });
      if (PENDING.has(status)) continue;
      const moderated = MODERATED[status];
      if (moderated) throw new ProviderError("content_policy", PROVIDER, { code: moderated });
      const failed = FAILED[status];
      if (failed) throw new ProviderError("upstream", PROVIDER, { code: failed });
      if (status === "Task not found") throw new ProviderError("upstream", PROVIDER, { code: "task_not_found" });
      if (status !== "Ready") throw new ProviderError("upstream", PROVIDER, { detail: "unexpected status" });

      const sample = isRecord(result) && isRecord(result.result) ? parseVendorUrl(result.result.sample) : undefined;
      if (!sample) throw new ProviderError("upstream", PROVIDER, { detail: "no result URL" });
      const { data } = await download(http, sample, isDeliveryUrl, MAX_IMAGE_BYTES);
      const mediaType = sniffMediaType(data);
      if (!mediaType?.startsWith("image/")) {
        throw new ProviderError("upstream", PROVIDER, { detail: "unrecognised image data" });
      }
      return { mediaType, data };
    }
  }

  return {
    provider: PROVIDER,
    modelId,
    async generate(req: ImageRequest, opts: CallOptions = {}): Promise<ImageResult> {
      const call = startCall(PROVIDER, { ...opts, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
      try {
        call.throwIfInterrupted();
        if (!MODEL_ID.test(modelId)) throw new ProviderError("invalid_request", PROVIDER, { detail: "unknown model" });
        const n = req.n ?? 1;
        if (!Number.isInteger(n) || n < 1 || n > MAX_IMAGES) {
          throw new ProviderError("invalid_request", PROVIDER, { detail: "unsupported n" });
        }
        const body = requestBody(modelId, req);
        const http: Http = { provider: PROVIDER, call, readError };
        // BFL makes one image per task: n images are n tasks, side by side. The first failure fails
        // the call, and call.end() below cancels the others.
        const images = await Promise.all(Array.from({ length: n }, () => one(http, call, body)));
        call.throwIfInterrupted();
        return { images, usage: { images: images.length } };
      } finally {
        call.end();
      }
    },
  };
}

export function createFlux(settings: FluxSettings = {}): Provider {
  const base = normalizeBase(settings.baseURL || BFL_BASE_URL);
  const pollIntervalMs = settings.pollIntervalMs ?? 500;
  return {
    id: PROVIDER,
    label: "Black Forest Labs",
    isConfigured: Boolean(settings.apiKey),
    image: (modelId) => createImageModel({ modelId, apiKey: settings.apiKey ?? "", base, pollIntervalMs }),
  };
}
