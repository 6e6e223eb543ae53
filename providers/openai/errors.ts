import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { Call } from "../call";
import { ProviderError } from "../types";

// Maps anything the SDK (or fetch underneath it) throws to a ProviderError. Only the status, the
// vendor's error code and request id are kept: the vendor's message may quote the prompt.

const CONTENT_POLICY_CODES = /content_policy|content_filter|moderation|safety/i;

function codeOf(error: APIError): string | undefined {
  const code = error.code ?? error.type;
  return typeof code === "string" && /^[\w.-]{1,64}$/.test(code) ? code : undefined;
}

export function toProviderError(error: unknown, provider: string, call?: Call): ProviderError {
  // Our own deadline or the caller's abort wins: whatever the SDK made of it, that is what happened.
  const interruption = call?.interruption();
  if (interruption) return interruption;
  if (error instanceof ProviderError) return error;

  if (error instanceof APIUserAbortError) return new ProviderError("aborted", provider);
  if (error instanceof APIConnectionTimeoutError) return new ProviderError("timeout", provider);
  if (error instanceof APIConnectionError) {
    return new ProviderError("upstream", provider, { detail: "connection failed" });
  }
  if (error instanceof APIError) {
    const status = error.status;
    const code = codeOf(error);
    const details = {
      ...(status !== undefined ? { status } : {}),
      ...(code !== undefined ? { code } : {}),
      ...(error.requestID ? { requestId: error.requestID } : {}),
    };
    if (code && CONTENT_POLICY_CODES.test(code) && (status === undefined || status === 400)) {
      return new ProviderError("content_policy", provider, details);
    }
    if (status === undefined) return new ProviderError("upstream", provider, details); // error event inside a stream
    if (status === 401 || status === 403) return new ProviderError("auth", provider, details);
    if (status === 429) {
      // An exhausted account is not cured by waiting a moment.
      return new ProviderError("rate_limited", provider, { ...details, retryable: code !== "insufficient_quota" });
    }
    if (status === 408) return new ProviderError("timeout", provider, details);
    if (status >= 500) return new ProviderError("upstream", provider, details);
    if (status >= 400) return new ProviderError("invalid_request", provider, details);
    return new ProviderError("upstream", provider, details);
  }
  if (error instanceof SyntaxError) return new ProviderError("upstream", provider, { detail: "malformed response" });
  if (error instanceof Error && error.name === "AbortError") return new ProviderError("aborted", provider);
  return new ProviderError("upstream", provider);
}
