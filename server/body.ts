import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_RECEIPT_BYTES } from "../app/utils/file-type.server";
import { MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS } from "../app/utils/generation-form";

// Request bodies with a cap that holds while they stream (docs/decisions/0018-bounded-request-bodies.md):
// a declared Content-Length over the route's limit is refused before anything is read, and a chunked
// body is counted as it arrives and refused the moment it passes the limit. Either way the client gets
// an HTTP 413, and the connection is never dropped under an answer.

const KiB = 1024;
const MiB = 1024 * KiB;

/** Page forms. The largest, the contact message (5,000 characters), is at most 60 KB url-encoded. */
export const FORM_BODY_LIMIT = 256 * KiB;
/** The generation form: every attachment at its upload limit, plus the prompt (100,000 characters). */
export const GENERATION_BODY_LIMIT = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES + MiB;
/** The manual top-up form: its receipt and a few short fields. */
export const RECEIPT_BODY_LIMIT = MAX_RECEIPT_BYTES + FORM_BODY_LIMIT;
/** Stripe's signed events: a few KB each; the ones with many line items stay well under this. */
export const STRIPE_WEBHOOK_BODY_LIMIT = MiB;

// Exact paths only (lower case, without Remix's `.data` suffix or a trailing slash): any other spelling
// of a route gets the small limit, which errs on the safe side.
const LIMITS = new Map<string, number>([
  ["/generate", GENERATION_BODY_LIMIT],
  ["/api/generate/text", GENERATION_BODY_LIMIT],
  ["/wallet/top-up/manual", RECEIPT_BODY_LIMIT],
  ["/webhooks/stripe", STRIPE_WEBHOOK_BODY_LIMIT],
]);

/** The most bytes a request to this path may send. */
export function bodyLimitFor(pathname: string): number {
  const path = pathname
    .toLowerCase()
    .replace(/\.data$/, "")
    .replace(/(.)\/+$/, "$1");
  return LIMITS.get(path) ?? FORM_BODY_LIMIT;
}

/** The declared Content-Length, or null for a chunked body (or a value Node would have refused). */
export function declaredLength(req: IncomingMessage): number | null {
  const value = req.headers["content-length"];
  return value && /^\d+$/.test(value) ? Number(value) : null;
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body over ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

export type LimitedBody = {
  stream: ReadableStream<Uint8Array>;
  /** Stops handing the request's data to the stream (before the rest is drained). */
  detach: () => void;
};

/**
 * The request body as a web stream that errors with BodyTooLargeError once more than `limit` bytes have
 * come, calling `onTooLarge` then. Node's chunks are handed on as they are (no copies); the request is
 * paused whenever the stream's queue is full. Cancelling it (a form parser that stops early) only stops
 * listening: the connection stays, so the answer the app then makes still reaches the client.
 */
export function limitedBody(req: IncomingMessage, limit: number, onTooLarge: () => void): LimitedBody {
  let received = 0;
  let detach = () => {};
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const onData = (chunk: Buffer) => {
          received += chunk.byteLength;
          if (received > limit) {
            detach();
            req.pause();
            controller.error(new BodyTooLargeError(limit));
            onTooLarge();
            return;
          }
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        };
        const onEnd = () => {
          detach();
          controller.close();
        };
        const onError = (error: Error) => {
          detach();
          controller.error(error);
        };
        detach = () => {
          req.off("data", onData);
          req.off("end", onEnd);
          req.off("error", onError);
        };
        req.on("data", onData);
        req.once("end", onEnd);
        req.once("error", onError);
      },
      pull() {
        req.resume();
      },
      cancel() {
        detach();
        req.pause();
      },
    },
    { highWaterMark: req.readableHighWaterMark, size: (chunk) => chunk.byteLength },
  );
  return { stream, detach: () => detach() };
}

/** Of a body nobody will read, at most this much more is read and thrown away... */
const LINGER_BYTES = MiB;
/** ...for at most this long; then the connection is closed. */
const LINGER_MS = 5_000;

/**
 * Reads and throws away the rest of a body nobody will read, so that a client still uploading receives
 * the answer rather than a reset (a socket closed with unread data is reset, and the reset can overtake
 * the answer). Past LINGER_BYTES or LINGER_MS, once the answer has gone, the connection is closed; a
 * body that ends in time leaves it open for the next request. Started before Node's own "dump" of an
 * unread body, which would read an endless body for ever.
 */
export function discardRest(req: IncomingMessage, res: ServerResponse, body: LimitedBody | null = null) {
  if (req.complete || req.socket.destroyed) return;
  body?.detach();
  let discarded = 0;
  let overdue = false;
  const close = () => {
    if (!res.writableFinished) {
      // Not before the answer has been handed to the socket.
      if (!overdue) res.once("finish", close);
      overdue = true;
      return;
    }
    stop();
    req.socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > LINGER_BYTES) close();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  const stop = () => {
    clearTimeout(timer);
    req.off("data", onData);
  };
  req.on("data", onData);
  req.once("end", stop);
  req.once("close", stop);
  req.resume();
}

/** Once the app's answer has gone: the rest of a body it left unread (or never started) is discarded. */
export function discardRestAfterAnswer(req: IncomingMessage, res: ServerResponse, body: LimitedBody) {
  res.once("finish", () => discardRest(req, res, body));
}

function formatLimit(bytes: number) {
  return bytes >= MiB ? `${Math.floor(bytes / MiB)} MB` : `${Math.floor(bytes / KiB)} KB`;
}

/** The 413 page a browser shows (plain HTML: nothing to load, nothing the CSP could block). */
export function sendTooLarge(res: ServerResponse, limit: number) {
  const message = `What you sent is larger than this page accepts (${formatLimit(limit)}). Go back, send less (a shorter text or smaller files) and try again.`;
  const body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>Too large</title></head><body><h1>Too large</h1><p>${message}</p></body></html>`;
  res.statusCode = 413;
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("Cache-Control", "no-store");
  res.end(body);
}
