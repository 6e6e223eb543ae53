import { ApiError } from "@google/genai";
import type { Call } from "../call";
import { ProviderError, type ProviderErrorKind } from "../types";

// Maps anything the SDK (or fetch underneath it) throws to a ProviderError. The SDK puts Google's
// whole error body into ApiError.message, and Google's messages may quote the prompt, so only the
// HTTP status, Google's status string (e.g. "RESOURCE_EXHAUSTED") and ErrorInfo reasons are read
// from it — and only the status string is kept, as the error's code.

type GoogleErrorInfo = { status?: string; reasons: string[] };

const STATUS_STRING = /^[A-Z][A-Z_]{0,63}$/;

/** Google's status string and ErrorInfo reasons from an SDK error message (a JSON error body). */
function parseGoogleError(message: string): GoogleErrorInfo {
  const start = message.indexOf("{");
  if (start < 0) return { reasons: [] };
  let body: unknown;
  try {
    body = JSON.parse(message.slice(start));
  } catch {
    return { reasons: [] };
  }
  const error = (body as { error?: unknown } | null)?.error;
  if (!error || typeof error !== "object") return { reasons: [] };
  const { status, details } = error as { status?: unknown; details?: unknown };
  const reasons = Array.isArray(details)
    ? details
        .map((detail: unknown) => (detail as { reason?: unknown } | null)?.reason)
        .filter((reason): reason is string => typeof reason === "string" && STATUS_STRING.test(reason))
    : [];
  return { ...(typeof status === "string" && STATUS_STRING.test(status) ? { status } : {}), reasons };
}

/** google.rpc.Code numbers (used in long-running operation errors) to their status strings. */
const RPC_CODES: Record<number, string> = {
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  10: "ABORTED",
  11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  15: "DATA_LOSS",
  16: "UNAUTHENTICATED",
};

const KIND_BY_STATUS: Record<string, ProviderErrorKind> = {
  UNAUTHENTICATED: "auth",
  PERMISSION_DENIED: "auth",
  // The Gemini API answers FAILED_PRECONDITION when the account cannot use the API at all (free
  // tier not offered in the server's region, billing not enabled). Nothing the member can change
  // and not worth retrying: the model is unavailable until the operator fixes the account.
  FAILED_PRECONDITION: "auth",
  RESOURCE_EXHAUSTED: "rate_limited",
  DEADLINE_EXCEEDED: "timeout",
  INVALID_ARGUMENT: "invalid_request",
  NOT_FOUND: "invalid_request",
  OUT_OF_RANGE: "invalid_request",
  ALREADY_EXISTS: "invalid_request",
  UNIMPLEMENTED: "invalid_request",
  CANCELLED: "upstream",
  UNKNOWN: "upstream",
  ABORTED: "upstream",
  INTERNAL: "upstream",
  UNAVAILABLE: "upstream",
  DATA_LOSS: "upstream",
};

function kindOf(status: number | undefined, info: GoogleErrorInfo): ProviderErrorKind {
  // An invalid key is a 400 INVALID_ARGUMENT whose ErrorInfo reason is API_KEY_INVALID.
  if (info.reasons.some((reason) => reason.startsWith("API_KEY_"))) return "auth";
  if (status === 401 || status === 403) return "auth";
  if (status === 429) return "rate_limited";
  if (status === 408 || status === 504) return "timeout";
  const byStatus = info.status !== undefined ? KIND_BY_STATUS[info.status] : undefined;
  if (byStatus) return byStatus;
  if (status === undefined || status >= 500) return "upstream";
  if (status >= 400) return "invalid_request";
  return "upstream";
}

/** An HTTP error answer (status + JSON body text) that did not come through the SDK. */
export function httpError(provider: string, status: number, bodyText: string): ProviderError {
  const info = parseGoogleError(bodyText);
  return new ProviderError(kindOf(status, info), provider, { status, ...(info.status ? { code: info.status } : {}) });
}

/** A failed long-running operation's `error` (a google.rpc.Status). */
export function operationError(provider: string, error: { code?: unknown }): ProviderError {
  const status = typeof error.code === "number" ? RPC_CODES[error.code] : undefined;
  return new ProviderError(kindOf(undefined, { ...(status ? { status } : {}), reasons: [] }), provider, {
    ...(status ? { code: status } : {}),
    detail: "operation failed",
  });
}

export function toProviderError(error: unknown, provider: string, call?: Call): ProviderError {
  // Our own deadline or the caller's abort wins: whatever the SDK made of it, that is what happened.
  const interruption = call?.interruption();
  if (interruption) return interruption;
  if (error instanceof ProviderError) return error;

  if (error instanceof ApiError) {
    // Raised for an HTTP error answer, and for an error object sent inside a stream.
    const info = parseGoogleError(error.message);
    const status = typeof error.status === "number" ? error.status : undefined;
    return new ProviderError(kindOf(status, info), provider, {
      ...(status !== undefined ? { status } : {}),
      ...(info.status ? { code: info.status } : {}),
    });
  }
  if (error instanceof SyntaxError) return new ProviderError("upstream", provider, { detail: "malformed response" });
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) {
    // The caller did not abort (interruption() would say so): the SDK's own copy of our deadline
    // fired a moment before ours did.
    return new ProviderError("timeout", provider);
  }
  if (error instanceof TypeError) return new ProviderError("upstream", provider, { detail: "connection failed" });
  return new ProviderError("upstream", provider);
}
