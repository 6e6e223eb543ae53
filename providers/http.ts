import type { Call } from "./call";
import { ProviderError, type ProviderErrorKind } from "./types";

// A small fetch layer for the adapters whose vendors have no SDK in our stack (Black Forest Labs,
// ElevenLabs, fal.ai). Every request carries the call's signal (caller abort + deadline), every
// failure becomes a ProviderError, and an error's text never leaves this file: only the HTTP status,
// a machine-readable code the vendor's reader picks out, and the request id are kept.

/** What a vendor's error body says, reduced to safe fields. */
export type VendorError = { code?: string; kind?: ProviderErrorKind; retryable?: boolean };

export type Http = {
  provider: string;
  call: Call;
  /** Picks a code (never a message) out of an error body, and may override the kind for it. */
  readError?: (status: number, body: unknown) => VendorError;
};

export type SendInit = {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** Sent as a JSON body. */
  json?: unknown;
};

const MAX_ERROR_BODY = 64 * 1024;
const MAX_JSON_BODY = 4 * 1024 * 1024;
const SAFE_CODE = /^[\w.:-]{1,64}$/;
const SAFE_REQUEST_ID = /^[\w.:-]{1,128}$/;
const REQUEST_ID_HEADERS = ["x-request-id", "request-id", "x-fal-request-id", "cf-ray"];
const CONTENT_POLICY_CODE = /content_policy|content_moderat|moderated|moderation|safety/i;

export function safeCode(value: unknown): string | undefined {
  return typeof value === "string" && SAFE_CODE.test(value) ? value : undefined;
}

/** The call's interruption wins over whatever fetch made of it; anything else is a connection failure. */
export function connectionError(http: Http, error: unknown): ProviderError {
  const interruption = http.call.interruption();
  if (interruption) return interruption;
  if (error instanceof ProviderError) return error;
  return new ProviderError("upstream", http.provider, { detail: "connection failed" });
}

function requestIdOf(response: Response): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const value = response.headers.get(name);
    if (value && SAFE_REQUEST_ID.test(value)) return value;
  }
  return undefined;
}

export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 402 || status === 429) return "rate_limited";
  if (status === 408) return "timeout";
  if (status >= 500) return "upstream";
  if (status >= 400) return "invalid_request";
  return "upstream";
}

/** Turns a non-2xx response into a ProviderError; the body is read (bounded) only for its code. */
export async function errorFromResponse(http: Http, response: Response): Promise<ProviderError> {
  let body: unknown;
  try {
    const text = await readText(http, response, MAX_ERROR_BODY);
    body = text ? JSON.parse(text) : undefined;
  } catch {
    const interruption = http.call.interruption();
    if (interruption) return interruption;
    // A body that is not JSON (or too large) says nothing we would keep anyway.
  }
  const status = response.status;
  const vendor = http.readError?.(status, body) ?? {};
  const code = safeCode(vendor.code);
  let kind = vendor.kind ?? kindForStatus(status);
  if (!vendor.kind && code && CONTENT_POLICY_CODE.test(code) && status >= 400 && status < 500) kind = "content_policy";
  const requestId = requestIdOf(response);
  return new ProviderError(kind, http.provider, {
    status,
    ...(code ? { code } : {}),
    ...(requestId ? { requestId } : {}),
    // Out of credits (402) is not cured by waiting a moment.
    ...(vendor.retryable !== undefined ? { retryable: vendor.retryable } : status === 402 ? { retryable: false } : {}),
  });
}

/**
 * One request to the vendor's API. Redirects are refused: fetch would carry our key header
 * (x-key, xi-api-key) along to wherever a redirect points.
 */
export async function send(http: Http, url: URL, init: SendInit = {}): Promise<Response> {
  http.call.throwIfInterrupted();
  const headers: Record<string, string> = { ...init.headers };
  if (init.json !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? (init.json !== undefined ? "POST" : "GET"),
      headers,
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      signal: http.call.signal,
      redirect: "error",
    });
  } catch (error) {
    throw connectionError(http, error);
  }
  if (!response.ok) throw await errorFromResponse(http, response);
  return response;
}

/** `send`, then the body parsed as JSON (malformed → upstream). */
export async function sendJson(http: Http, url: URL, init: SendInit = {}): Promise<unknown> {
  const response = await send(http, url, { ...init, headers: { accept: "application/json", ...init.headers } });
  const text = await readText(http, response, MAX_JSON_BODY);
  try {
    return JSON.parse(text);
  } catch {
    throw new ProviderError("upstream", http.provider, { detail: "malformed response" });
  }
}

/** Reads a body up to `maxBytes`, through the call's signal. */
export async function readBytes(http: Http, response: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new ProviderError("upstream", http.provider, { detail: "response too large" });
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.byteLength;
      if (length > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new ProviderError("upstream", http.provider, { detail: "response too large" });
      }
      parts.push(value);
    }
  } catch (error) {
    throw connectionError(http, error);
  }
  http.call.throwIfInterrupted();
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

async function readText(http: Http, response: Response, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await readBytes(http, response, maxBytes));
}

/**
 * Downloads a file the vendor pointed us at (a signed delivery/CDN URL). No key header is sent: the
 * URL is its own credential. Redirects are followed by hand so that every hop passes `isAllowed`.
 */
export async function download(
  http: Http,
  url: URL,
  isAllowed: (url: URL) => boolean,
  maxBytes: number,
): Promise<{ data: Uint8Array; contentType: string | undefined }> {
  let target = url;
  for (let hop = 0; hop <= 3; hop++) {
    if (!isAllowed(target)) throw new ProviderError("upstream", http.provider, { detail: "untrusted result URL" });
    http.call.throwIfInterrupted();
    let response: Response;
    try {
      response = await fetch(target, { signal: http.call.signal, redirect: "manual" });
    } catch (error) {
      throw connectionError(http, error);
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel().catch(() => {});
      try {
        target = new URL(location, target);
      } catch {
        throw new ProviderError("upstream", http.provider, { detail: "bad redirect" });
      }
      continue;
    }
    if (!response.ok) {
      // A refused delivery URL (expired signature, gone) is the vendor's problem, never our key's.
      await response.body?.cancel().catch(() => {});
      throw new ProviderError("upstream", http.provider, { status: response.status, detail: "download failed" });
    }
    const data = await readBytes(http, response, maxBytes);
    return { data, contentType: response.headers.get("content-type") ?? undefined };
  }
  throw new ProviderError("upstream", http.provider, { detail: "too many redirects" });
}

/** Parses a URL the vendor sent; undefined when it is not an http(s) URL. */
export function parseVendorUrl(value: unknown): URL | undefined {
  if (typeof value !== "string" || value.length > 4096) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/** True for https URLs on `domain` itself or any of its subdomains. */
export function isHttpsOn(url: URL, domain: string): boolean {
  const host = url.hostname.toLowerCase();
  return url.protocol === "https:" && url.username === "" && (host === domain || host.endsWith(`.${domain}`));
}

/** The configured base URL without trailing slashes ("https://api.bfl.ai", "http://127.0.0.1:4000/x"). */
export function normalizeBase(baseURL: string): URL {
  const url = new URL(baseURL);
  url.pathname = url.pathname.replace(/\/+$/, "");
  url.search = "";
  url.hash = "";
  return url;
}

/** `base` + path segments, each percent-encoded. */
export function joinPath(base: URL, ...segments: string[]): URL {
  const url = new URL(base);
  url.pathname = [url.pathname.replace(/\/+$/, ""), ...segments.map(encodeURIComponent)].join("/");
  return url;
}

/** Recognises the media types the adapters receive, from the first bytes. */
export function sniffMediaType(bytes: Uint8Array): string | undefined {
  const starts = (offset: number, ...signature: number[]) => signature.every((byte, i) => bytes[offset + i] === byte);
  if (starts(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0, 0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0, 0x52, 0x49, 0x46, 0x46) && starts(8, 0x57, 0x45, 0x42, 0x50)) return "image/webp";
  if (starts(0, 0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (starts(4, 0x66, 0x74, 0x79, 0x70)) return "video/mp4"; // "ftyp"
  if (starts(0, 0x1a, 0x45, 0xdf, 0xa3)) return "video/webm";
  return undefined;
}

/** Base64url JSON, for opaque job ids that must survive a restart. */
export function encodeJobId(prefix: string, payload: unknown): string {
  return `${prefix}.${Buffer.from(JSON.stringify(payload), "utf8").toString("base64url")}`;
}

export function decodeJobId(prefix: string, jobId: string): unknown {
  if (typeof jobId !== "string" || jobId.length > 2048 || !jobId.startsWith(`${prefix}.`)) return undefined;
  const encoded = jobId.slice(prefix.length + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  try {
    return JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
