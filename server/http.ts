import { randomBytes } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import path from "node:path";
import type { AppLoadContext } from "@remix-run/node";
import compression from "compression";
import ipaddr from "ipaddr.js";
import serveStatic from "serve-static";
import { isForbiddenCrossOrigin } from "../app/utils/origin.server";
import { compileTrust, forwardedClient, type TrustProxy } from "../app/utils/proxy-trust.server";
import {
  bodyLimitFor,
  declaredLength,
  discardRest,
  discardRestAfterAnswer,
  limitedBody,
  sendTooLarge,
  type LimitedBody,
} from "./body";

// The HTTP side of the app on node:http, without Express (ADR 0011): security headers, the cross-origin
// guard, static files for paths that name a file, then Remix through a small Node ↔ fetch adapter.

export type AppHandler = (request: Request, context: AppLoadContext) => Promise<Response>;

export type ListenerOptions = {
  handle: AppHandler;
  /** Folder with `build/` (immutable, hashed names) and the other public files. */
  publicDir: string;
  appOrigin: string;
  /** The proxies whose X-Forwarded-* entries are believed (docs/decisions/0013-proxy-trust.md). */
  trustProxy: TrustProxy;
  /** Adds Strict-Transport-Security. */
  production: boolean;
  /** `remix dev`: the page's live-reload script may open its websocket. */
  liveReload?: boolean;
  /**
   * Development: also accept forms posted from the address the browser used (`127.0.0.1`, a LAN address),
   * not only APP_URL's. Production keeps APP_URL alone and names a mismatch in the refusal.
   */
  acceptRequestHost?: boolean;
  onCrossOriginRefused?: (request: CrossOriginRefusal) => void;
  /** The most bytes a request to this path may send (default: server/body.ts's per-route limits). */
  bodyLimit?: (pathname: string) => number;
  onError?: (error: unknown) => void;
};

/**
 * The Content-Security-Policy (docs/decisions/0014-csp-nonces.md): scripts from this origin, and inline
 * ones only with this request's nonce. Styles keep 'unsafe-inline': React's style attributes (progress
 * bars, chart colours) cannot carry a nonce. The live-reload socket only under `remix dev`, at whatever
 * address the developer opened (localhost, 127.0.0.1, a LAN address).
 */
export function contentSecurityPolicy(nonce: string, liveReload: boolean) {
  return (
    `default-src 'self'; script-src 'self' 'nonce-${nonce}'; style-src 'self' 'unsafe-inline'; ` +
    "img-src 'self' data: blob:; media-src 'self' blob:; " +
    (liveReload ? "connect-src 'self' ws:; " : "connect-src 'self'; ") +
    "frame-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'self'; " +
    "form-action 'self' https://accounts.google.com https://checkout.stripe.com"
  );
}

const FILE_PATH = /\.[a-z0-9]+$/i;

export type CrossOriginRefusal = {
  method: string;
  path: string;
  origin: string | null;
  /** Set when the page came from this very server under another address than APP_URL's. */
  misconfiguredAppUrl: boolean;
};

type Next = (error?: unknown) => void;
type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

export function createRequestListener(options: ListenerOptions): RequestListener {
  const compress = compression() as unknown as Middleware;
  const buildFiles = serveStatic(path.join(options.publicDir, "build"), { immutable: true, maxAge: "1y" });
  const publicFiles = serveStatic(options.publicDir, { maxAge: "1h" });
  const trust = compileTrust(options.trustProxy);
  const bodyLimit = options.bodyLimit ?? bodyLimitFor;
  const fail = (res: ServerResponse, error: unknown) => {
    options.onError?.(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.end("Internal Server Error");
  };

  return (req, res) => {
    // 16 random bytes per request, as CSP asks: a nonce an attacker cannot guess or reuse.
    const nonce = randomBytes(16).toString("base64");
    setSecurityHeaders(res, options.production);
    res.setHeader("Content-Security-Policy", contentSecurityPolicy(nonce, options.liveReload ?? false));
    const pathname = pathOf(req.url);
    const forwarded = forwardedClient(req, trust);
    const origin = header(req, "origin");
    // The address the browser used for this request, as it would write it in Origin.
    const requestOrigin = `${forwarded.protocol ?? (isEncrypted(req) ? "https" : "http")}://${forwarded.host ?? header(req, "host") ?? ""}`;
    const allowedOrigins =
      options.acceptRequestHost && isLocalHostName(requestOrigin)
        ? [options.appOrigin, requestOrigin]
        : [options.appOrigin];
    const refused = isForbiddenCrossOrigin(
      { method: req.method ?? "GET", path: pathname, origin, secFetchSite: header(req, "sec-fetch-site") },
      allowedOrigins,
    );
    if (refused) {
      const misconfiguredAppUrl = origin !== null && sameHost(origin, requestOrigin);
      options.onCrossOriginRefused?.({ method: req.method ?? "GET", path: pathname, origin, misconfiguredAppUrl });
      discardRest(req, res);
      res.statusCode = 403;
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      res.end(
        misconfiguredAppUrl
          ? `Cross-origin request refused: this page was opened at ${origin}, but the app's APP_URL is ${options.appOrigin}. ` +
              `Open the app at ${options.appOrigin}, or set APP_URL to the address members use.`
          : "Cross-origin request refused",
      );
      return;
    }
    compress(req, res, (error) => {
      if (error) return fail(res, error);
      const app = () => {
        const method = req.method ?? "GET";
        let body: LimitedBody | null = null;
        let tooLarge = false;
        const controller = new AbortController();
        if (method !== "GET" && method !== "HEAD") {
          const limit = bodyLimit(pathname);
          const refuse = () => {
            tooLarge = true;
            // The app stops its work; its answer, whenever it comes, is dropped.
            controller.abort();
            if (res.headersSent) return void req.socket.destroy();
            discardRest(req, res, body);
            sendTooLarge(res, limit);
          };
          // Refused before a byte is read when the client says up front that it is too large.
          if ((declaredLength(req) ?? 0) > limit) return refuse();
          body = limitedBody(req, limit, refuse);
          discardRestAfterAnswer(req, res, body);
        }
        const client = forwarded;
        let request: Request;
        try {
          request = toFetchRequest(req, res, { forwarded: client, body: body?.stream ?? null, controller });
        } catch {
          // A Host, target or method that makes no URL or Request (`Host: a b`, `TRACE`): the client's fault.
          res.statusCode = 400;
          res.setHeader("Content-Type", "text/plain; charset=utf-8");
          res.end("Bad Request");
          return;
        }
        const context: AppLoadContext = { clientIp: client.ip, cspNonce: nonce };
        options
          .handle(request, context)
          .then((response) => {
            if (!tooLarge) return sendFetchResponse(res, response);
            void response.body?.cancel().catch(() => undefined);
          })
          // After a 413, whatever the app made of its cut-off body is no failure of the server's.
          .catch((error: unknown) => (tooLarge ? undefined : fail(res, error)));
      };
      if (!FILE_PATH.test(pathname)) return app();
      // A file that is not there falls through to the app, which answers with its 404 page.
      const files = (done: Next) =>
        /^\/build\//i.test(pathname)
          ? withPrefixRemoved(req, "/build", buildFiles, res, done)
          : publicFiles(req, res, done);
      files((error) => (error ? fail(res, error) : app()));
    });
  };
}

function setSecurityHeaders(res: ServerResponse, production: boolean) {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "strict-origin-when-cross-origin");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  if (production) res.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

/** serve-static resolves `req.url` against its folder, so `/build/x.js` is asked for as `/x.js` there, as
 * an Express mount does (`originalUrl` keeps the whole path for its directory redirects). */
function withPrefixRemoved(req: IncomingMessage, prefix: string, serve: Middleware, res: ServerResponse, next: Next) {
  const original = req.url!;
  (req as IncomingMessage & { originalUrl?: string }).originalUrl = original;
  req.url = original.slice(prefix.length) || "/";
  serve(req, res, (error) => {
    req.url = original;
    next(error);
  });
}

function isEncrypted(req: IncomingMessage) {
  return "encrypted" in req.socket && Boolean(req.socket.encrypted);
}

/**
 * localhost, *.local and IP literals: the names a developer opens `npm run dev` at. Domain names stay
 * refused even in development, so a DNS-rebinding page cannot post to a developer's machine.
 */
function isLocalHostName(origin: string) {
  try {
    const hostname = new URL(origin).hostname.replace(/^\[|\]$/g, "");
    return hostname === "localhost" || hostname.endsWith(".local") || ipaddr.isValid(hostname);
  } catch {
    return false;
  }
}

/** Whether two origins name the same host and port (the scheme may differ behind a TLS proxy). */
function sameHost(a: string, b: string) {
  try {
    return new URL(a).host === new URL(b).host;
  } catch {
    return false;
  }
}

function pathOf(url: string | undefined) {
  const end = url ? url.search(/[?#]/) : -1;
  return (end < 0 ? url : url!.slice(0, end)) || "/";
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

type FetchRequestParts = {
  /** Scheme and host from trusted proxies (proxy-trust.server.ts), when they said so. */
  forwarded?: { protocol: string | null; host: string | null };
  /** The body, already capped (body.ts); null for none. */
  body?: ReadableStream<Uint8Array> | null;
  controller?: AbortController;
};

/** The fetch `Request` Remix expects: full URL, every header, the body as a stream, and a signal that
 * aborts when the client goes away before its answer is complete. */
export function toFetchRequest(req: IncomingMessage, res: ServerResponse, parts: FetchRequestParts = {}): Request {
  const protocol = parts.forwarded?.protocol ?? (isEncrypted(req) ? "https" : "http");
  const host = parts.forwarded?.host ?? header(req, "host") ?? "localhost";
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const controller = parts.controller ?? new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const method = req.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal: controller.signal };
  if (parts.body && method !== "GET" && method !== "HEAD") {
    init.body = parts.body;
    init.duplex = "half";
  }
  // Joined as text, not resolved: a target such as `//evil.example/login` stays a path on this host.
  return new Request(new URL(`${protocol}://${host}${req.url ?? "/"}`).href, init);
}

/**
 * Writes a fetch `Response` to Node. What the body has ready within one turn of the event loop leaves in
 * one write: a page rendered in one go is a single write with a Content-Length, while a streamed page or
 * an event stream leaves part by part, each as soon as the body stops having more ready (a compressing
 * response is flushed then). The body is read no faster than the client takes it. Every write is a system call, and a page's dozen small chunks written one
 * by one cost about a tenth of the server's time (docs/benchmarks.md, session 7).
 */
export async function sendFetchResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader("Set-Cookie", cookies);
  if (!response.body) {
    res.end();
    return;
  }
  if (/text\/event-stream/i.test(response.headers.get("content-type") ?? "")) res.flushHeaders();
  const flush = (res as ServerResponse & { flush?: () => void }).flush?.bind(res);
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => undefined);
  // The client may have gone while the app was still working.
  if (res.destroyed) return stop();
  const writable = new Drain(res);
  res.on("close", () => {
    if (!res.writableFinished) stop();
  });
  const ready: Uint8Array[] = [];
  let readyBytes = 0;
  let streaming = false;
  try {
    let next = reader.read();
    for (;;) {
      const { done, value } = await next;
      if (done) break;
      ready.push(value);
      readyBytes += value.byteLength;
      next = reader.read();
      if (readyBytes < MAX_HELD_BYTES && (await readyWithinTurn(next))) continue;
      // The client left: the body was cancelled on "close", so the next read ends the loop.
      if (res.destroyed) continue;
      // The body has to wait for something (or enough is held): send what it has so far.
      let more = true;
      for (const chunk of ready) more = res.write(chunk);
      ready.length = 0;
      readyBytes = 0;
      streaming = true;
      flush?.();
      // A slow client holds the body back, instead of the server buffering all of it (a video, say).
      if (!more) await writable.drained();
    }
    if (res.destroyed) return;
    if (streaming || res.headersSent) {
      for (const chunk of ready) res.write(chunk);
      res.end();
    } else {
      const body = ready.length === 1 ? ready[0]! : Buffer.concat(ready);
      // Set here: the compression middleware sends its headers before Node could count the body (and
      // drops the length again when it compresses).
      if (!res.hasHeader("content-length")) res.setHeader("Content-Length", body.byteLength);
      res.end(body);
    }
  } catch (error) {
    stop();
    // Nothing sent yet: the caller answers 500, without the failed answer's headers and cookies.
    if (!res.headersSent) {
      for (const name of [...response.headers.keys(), "set-cookie"]) res.removeHeader(name);
    }
    throw error;
  } finally {
    writable.release();
  }
}

/**
 * Waits for a response to take more. One "drain" listener per response: compression passes listeners on
 * to its zlib stream, where a `once` listener could not remove itself and one would pile up per wait.
 */
class Drain {
  private wake: (() => void) | null = null;
  private readonly onDrain = () => this.resume();
  private readonly onClose = () => this.resume();

  constructor(private readonly res: ServerResponse) {
    res.on("drain", this.onDrain);
    res.on("close", this.onClose);
  }

  /** Resolves once the response takes more again, or at once when it is gone. */
  drained(): Promise<void> {
    if (this.res.destroyed || this.res.closed) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }

  release() {
    this.res.off("close", this.onClose);
    this.resume();
  }

  private resume() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** Held back at most before writing, so a large body that is always ready still streams. */
const MAX_HELD_BYTES = 256 * 1024;

const NOT_YET = Symbol("not yet");
const notYet = Promise.resolve(NOT_YET);

/** Whether a promise has already settled: a settled one's reaction is queued first and wins the race. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  return (await Promise.race([promise, notYet])) !== NOT_YET;
}

/** Whether a promise settles before the event loop's next check phase (setImmediate): React renders a
 * page's later parts in such turns. Checked for "already settled" first, to spare the timer. */
async function readyWithinTurn(promise: Promise<unknown>): Promise<boolean> {
  if (await isSettled(promise)) return true;
  const turn = new Promise<typeof NOT_YET>((resolve) => setImmediate(resolve, NOT_YET));
  return (await Promise.race([promise, turn])) !== NOT_YET;
}
