import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "@anthropic-ai/sdk";
import type { Call } from "../call";
import { ProviderError } from "../types";

// Maps anything the SDK (or fetch underneath it) throws to a ProviderError. Only the status, the
// vendor's error type (e.g. "overloaded_error") and the request-id header are kept: the vendor's
// message may quote the prompt.

function codeOf(error: APIError): string | undefined {
  const type = error.type;
  return typeof type === "string" && /^[\w.-]{1,64}$/.test(type) ? type : undefined;
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
    if (status === undefined) {
      // An `event: error` inside a stream that had already started: only its type tells what it was.
      if (code === "overloaded_error" || code === "rate_limit_error") {
        return new ProviderError("rate_limited", provider, details);
      }
      return new ProviderError("upstream", provider, details);
    }
    if (status === 401 || status === 403) return new ProviderError("auth", provider, details);
    // 529 overloaded_error: Anthropic is short of capacity for everyone; waiting a moment helps.
    if (status === 429 || status === 529) return new ProviderError("rate_limited", provider, details);
    // An exhausted or blocked account is not cured by waiting (same call as OpenAI's insufficient_quota).
    if (status === 402 || code === "billing_error") {
      return new ProviderError("rate_limited", provider, { ...details, retryable: false });
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
