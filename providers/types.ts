// The one interface every model adapter implements, per modality. Shaped after the Vercel AI SDK
// (LanguageModel / ImageModel / SpeechModel): a normalized request in, a normalized result + usage
// out, or a typed ProviderError. Nothing here knows about members, money, storage or Remix, and no
// vendor SDK type ever crosses this boundary.

// ---------------------------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------------------------

/** Per-call options. Both are optional; an adapter must honour both. */
export type CallOptions = {
  /** Aborting it cancels the upstream call; the call then fails with ProviderError kind "aborted". */
  signal?: AbortSignal;
  /**
   * Total time allowed for the whole call, in milliseconds — for a stream, until its last event
   * (not just until the first byte). When it runs out the call fails with kind "timeout".
   */
  timeoutMs?: number;
};

/**
 * Normalized usage, as reported by the provider (never guessed by an adapter for a real vendor).
 * All values are non-negative integers; a field is absent when the provider did not report it.
 *
 * Token convention (as OpenAI and the Vercel AI SDK report it): `inputTokens` is the TOTAL prompt
 * size and INCLUDES `cachedInputTokens`. A price is therefore
 * `(inputTokens - cachedInputTokens) × input + cachedInputTokens × cached + outputTokens × output`.
 * Adapters whose vendor reports cache reads separately (e.g. Anthropic) must add them in.
 */
export type Usage = {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  /** Number of images produced. */
  images?: number;
  /** Seconds of video produced. */
  videoSeconds?: number;
  /** Characters (Unicode code points) of text turned into speech. */
  characters?: number;
};

export type Modality = "text" | "image" | "speech" | "video";

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

export type TextPart = { type: "text"; text: string };
/** A file given to the model inline. Which media types a model accepts is the catalog's business. */
export type FilePart = { type: "file"; mediaType: string; data: Uint8Array; filename?: string };

export type Message = {
  role: "system" | "user" | "assistant";
  /** System and assistant messages may only hold text parts. */
  content: Array<TextPart | FilePart>;
};

export type TextRequest = {
  /** The provider's own model id (the part after "provider:"). */
  model: string;
  messages: Message[];
  maxOutputTokens?: number;
  temperature?: number;
};

/** Why generation stopped (Vercel AI SDK vocabulary). */
export type FinishReason = "stop" | "length" | "content-filter" | "tool-calls" | "error" | "other";

export type TextResult = { text: string; usage: Usage; finishReason: FinishReason };

/**
 * A stream's events. "usage" is the running usage as the vendor reports it while streaming (Gemini on
 * its chunks, Anthropic at message_start and message_delta, OpenAI in its usage chunk, some compatible
 * servers on every chunk): it counts everything up to the text already yielded before it, and a field
 * it leaves out keeps its last reported value. It lets a caller bill a stream that ends early from what
 * the vendor counted, not from a guess.
 */
export type TextStreamEvent =
  | { type: "text-delta"; text: string }
  | { type: "usage"; usage: Usage }
  | { type: "finish"; usage: Usage; finishReason: FinishReason };

export interface TextModel {
  readonly provider: string;
  readonly modelId: string;
  generate(req: TextRequest, opts?: CallOptions): Promise<TextResult>;
  /**
   * Text deltas (with "usage" events between them whenever the vendor reports usage), then exactly one
   * "finish" event. Errors (including abort and timeout) are thrown from the iteration as ProviderError.
   * Stopping the iteration early (break) cancels the upstream call.
   */
  stream(req: TextRequest, opts?: CallOptions): AsyncIterable<TextStreamEvent>;
}

// ---------------------------------------------------------------------------------------------
// Image
// ---------------------------------------------------------------------------------------------

export type ImageRequest = {
  model: string;
  prompt: string;
  /** "WIDTHxHEIGHT", e.g. "1024x1024". */
  size?: string;
  /** Vendor vocabulary, e.g. "low" | "medium" | "high" | "standard" | "hd". */
  quality?: string;
  /** Number of images, default 1. */
  n?: number;
  /**
   * Images to edit or take as reference (image to image). Only models whose catalog entry accepts image
   * files receive them; an adapter that cannot edit refuses with "invalid_request".
   */
  images?: Array<{ mediaType: string; data: Uint8Array }>;
};

export type GeneratedFile = { mediaType: string; data: Uint8Array };

export type ImageResult = { images: GeneratedFile[]; usage: Usage };

export interface ImageModel {
  readonly provider: string;
  readonly modelId: string;
  generate(req: ImageRequest, opts?: CallOptions): Promise<ImageResult>;
}

// ---------------------------------------------------------------------------------------------
// Speech (text to speech)
// ---------------------------------------------------------------------------------------------

export type SpeechRequest = {
  model: string;
  text: string;
  voice?: string;
  /** Preferred container, e.g. "mp3" | "wav" | "opus". The result's mediaType says what was produced. */
  format?: string;
};

export type SpeechResult = { audio: GeneratedFile; usage: Usage };

export interface SpeechModel {
  readonly provider: string;
  readonly modelId: string;
  generate(req: SpeechRequest, opts?: CallOptions): Promise<SpeechResult>;
}

// ---------------------------------------------------------------------------------------------
// Video (long-running jobs)
// ---------------------------------------------------------------------------------------------

export type VideoRequest = {
  model: string;
  prompt: string;
  seconds?: number;
  /** e.g. "16:9", "9:16", "1:1". */
  aspectRatio?: string;
};

export type VideoPollResult =
  | { status: "running"; progress?: number }
  | { status: "succeeded"; video: { mediaType: string; data?: Uint8Array; url?: string }; usage: Usage }
  | { status: "failed"; error: ProviderError };

export interface VideoModel {
  readonly provider: string;
  readonly modelId: string;
  /** Starts a job upstream. The returned id is opaque and must survive a restart (store it). */
  start(req: VideoRequest, opts?: CallOptions): Promise<{ jobId: string }>;
  poll(jobId: string, opts?: CallOptions): Promise<VideoPollResult>;
}

// ---------------------------------------------------------------------------------------------
// Provider
// ---------------------------------------------------------------------------------------------

export interface Provider {
  /** The prefix of model ids: "openai" in "openai:gpt-4o". Lowercase letters, digits, "-" and "_". */
  readonly id: string;
  /** Human label for the UI, e.g. "OpenAI" or "Demo". */
  readonly label: string;
  /** False when a key/base URL is missing: its models are shown as unavailable, never called. */
  readonly isConfigured: boolean;
  text?(modelId: string): TextModel;
  image?(modelId: string): ImageModel;
  speech?(modelId: string): SpeechModel;
  video?(modelId: string): VideoModel;
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export type ProviderErrorKind =
  "auth" | "rate_limited" | "invalid_request" | "content_policy" | "timeout" | "upstream" | "aborted";

const USER_MESSAGES: Record<ProviderErrorKind, string> = {
  auth: "This model is unavailable right now: the service could not sign in to the provider.",
  rate_limited: "The provider is busy right now. Please try again in a moment.",
  invalid_request: "The provider could not accept this request. Check the prompt, files and settings.",
  content_policy: "The provider declined this request under its content policy.",
  timeout: "The provider took too long to answer.",
  upstream: "The provider had a problem answering this request.",
  aborted: "The generation was cancelled.",
};

/** Kinds that are usually worth retrying later (the app decides whether and when). */
const RETRYABLE: Record<ProviderErrorKind, boolean> = {
  auth: false,
  rate_limited: true,
  invalid_request: false,
  content_policy: false,
  timeout: true,
  upstream: true,
  aborted: false,
};

/**
 * The only error an adapter lets escape. Its `message` and `userMessage` are built from fixed text,
 * the provider id, the HTTP status and the vendor's error code — never from the vendor's error text,
 * which may echo the prompt — so both are safe to log and to show. The vendor's raw error is NOT
 * attached (no `cause`) for the same reason.
 */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  readonly kind: ProviderErrorKind;
  readonly provider: string;
  readonly retryable: boolean;
  /** Plain text for the member. */
  readonly userMessage: string;
  /** Upstream HTTP status, when there was one. */
  readonly status?: number;
  /** Upstream machine-readable error code (e.g. "rate_limit_exceeded"), when there was one. */
  readonly code?: string;
  /** Upstream request id, for support tickets with the vendor. */
  readonly requestId?: string;

  constructor(
    kind: ProviderErrorKind,
    provider: string,
    details: {
      retryable?: boolean;
      userMessage?: string;
      status?: number;
      code?: string;
      requestId?: string;
      detail?: string;
    } = {},
  ) {
    const parts = [
      details.status !== undefined ? String(details.status) : undefined,
      details.code,
      details.detail,
    ].filter((part): part is string => Boolean(part));
    super(`${provider}: ${kind}${parts.length ? ` (${parts.join(", ")})` : ""}`);
    this.kind = kind;
    this.provider = provider;
    this.retryable = details.retryable ?? RETRYABLE[kind];
    this.userMessage = details.userMessage ?? USER_MESSAGES[kind];
    if (details.status !== undefined) this.status = details.status;
    if (details.code !== undefined) this.code = details.code;
    if (details.requestId !== undefined) this.requestId = details.requestId;
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError;
}
