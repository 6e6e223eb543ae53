import Anthropic from "@anthropic-ai/sdk";
import type { Call } from "../call";
import { ProviderError, type CallOptions } from "../types";

// Builds the official SDK client the way this app needs it. When an option is left undefined the
// SDK reads ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_BASE_URL, ANTHROPIC_WEBHOOK_SIGNING_KEY,
// ANTHROPIC_LOG and the ANTHROPIC_OPEN_TELEMETRY* variables from process.env, and without any
// credential it goes looking for profiles and workload-identity tokens (ANTHROPIC_PROFILE, config
// files on disk). Every option is therefore given explicitly, the client is never built without a
// key, and the logger is silenced (the SDK logs unparsable stream events — model output — at its
// default level). ANTHROPIC_CUSTOM_HEADERS is still honoured by the SDK; it cannot be turned off.

export const ANTHROPIC_BASE_URL = "https://api.anthropic.com";

/** The SDK's own default per-request timeout (10 minutes), used when the caller gives none. */
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

export type AnthropicClientSettings = {
  provider: string;
  apiKey?: string;
  baseURL?: string;
};

const silent = { error() {}, warn() {}, info() {}, debug() {} };

export function createClient(settings: AnthropicClientSettings): Anthropic {
  // A keyless client would fall back to the SDK's credential chain (profiles, files, env).
  if (!settings.apiKey) throw new ProviderError("auth", settings.provider, { detail: "no API key" });
  return new Anthropic({
    apiKey: settings.apiKey, // sent as `Authorization: Bearer` (SDK 1.x / API version 2026-10-21)
    authToken: null,
    credentials: null,
    config: null,
    profile: null,
    webhookKey: null,
    baseURL: settings.baseURL || ANTHROPIC_BASE_URL,
    maxRetries: 0, // the app decides about retries (and must not pay twice)
    timeout: DEFAULT_TIMEOUT_MS,
    // No spans (which may record prompts) and no trace headers sent to the vendor.
    openTelemetry: { traces: false, propagation: false },
    logLevel: "off",
    logger: silent,
  });
}

/**
 * Per-request SDK options: our combined signal (caller + deadline), no retries, and always a
 * timeout. The SDK's timeout only covers the wait for the response headers; the call's deadline
 * (startCall) covers the rest. Giving one also stops the SDK from refusing non-streaming calls whose
 * max_tokens it guesses could take over 10 minutes: the deadline is the caller's to choose.
 */
export function requestOptions(call: Call, opts: CallOptions) {
  return {
    signal: call.signal,
    maxRetries: 0,
    timeout: opts.timeoutMs !== undefined ? Math.max(1, Math.ceil(opts.timeoutMs)) : DEFAULT_TIMEOUT_MS,
  };
}

/** Lazily built, then shared by every model of one provider instance. */
export function lazyClient(settings: AnthropicClientSettings): () => Anthropic {
  let client: Anthropic | undefined;
  return () => (client ??= createClient(settings));
}
