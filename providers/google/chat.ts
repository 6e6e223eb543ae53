import type {
  Content,
  GenerateContentConfig,
  GenerateContentResponse,
  GenerateContentResponseUsageMetadata,
  Part,
} from "@google/genai";
import { base64, baseMediaType, onlyText, textOfFile, unsupportedFile } from "../files";
import { startCall } from "../call";
import {
  ProviderError,
  type CallOptions,
  type FilePart,
  type FinishReason,
  type Message,
  type TextModel,
  type TextRequest,
  type TextResult,
  type TextStreamEvent,
  type Usage,
} from "../types";
import { requestConfig, type GoogleContext } from "./client";
import { toProviderError } from "./errors";

// Gemini text (`models.generateContent` / `generateContentStream`) with inline files. The request
// holds only what the TextRequest says — contents, system instruction, limits — never `labels` or
// anything else that could identify a member.

/** Media types Gemini reads from inline data (mapped to the spelling Gemini documents). */
const INLINE_TYPES: Record<string, string> = {
  "image/png": "image/png",
  "image/jpeg": "image/jpeg",
  "image/webp": "image/webp",
  "image/heic": "image/heic",
  "image/heif": "image/heif",
  "application/pdf": "application/pdf",
  "audio/wav": "audio/wav",
  "audio/x-wav": "audio/wav",
  "audio/mp3": "audio/mp3",
  "audio/mpeg": "audio/mp3",
  "audio/aiff": "audio/aiff",
  "audio/x-aiff": "audio/aiff",
  "audio/aac": "audio/aac",
  "audio/ogg": "audio/ogg",
  "audio/flac": "audio/flac",
  "video/mp4": "video/mp4",
  "video/mpeg": "video/mpeg",
  "video/mov": "video/mov",
  "video/quicktime": "video/mov",
  "video/avi": "video/avi",
  "video/x-msvideo": "video/avi",
  "video/x-flv": "video/x-flv",
  "video/mpg": "video/mpg",
  "video/webm": "video/webm",
  "video/wmv": "video/wmv",
  "video/x-ms-wmv": "video/wmv",
  "video/3gpp": "video/3gpp",
};

function filePart(part: FilePart, provider: string): Part {
  const inline = INLINE_TYPES[baseMediaType(part)];
  if (inline) return { inlineData: { mimeType: inline, data: base64(part.data) } };
  const text = textOfFile(part, provider);
  if (text !== undefined) return { text };
  throw unsupportedFile(provider);
}

/** System messages become one system instruction; the rest become contents ("assistant" is "model"). */
export function toContents(
  messages: Message[],
  provider: string,
): { contents: Content[]; systemInstruction?: Content } {
  const system: string[] = [];
  const contents: Content[] = [];
  for (const message of messages) {
    if (message.role === "system") system.push(onlyText(message, provider));
    else if (message.role === "assistant")
      contents.push({ role: "model", parts: [{ text: onlyText(message, provider) }] });
    else {
      contents.push({
        role: "user",
        parts: message.content.map((part) => (part.type === "text" ? { text: part.text } : filePart(part, provider))),
      });
    }
  }
  if (contents.length === 0) throw new ProviderError("invalid_request", provider, { detail: "no messages" });
  return { contents, ...(system.length > 0 ? { systemInstruction: { parts: [{ text: system.join("\n\n") }] } } : {}) };
}

function integer(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

export function toUsage(usage: GenerateContentResponseUsageMetadata | undefined): Usage {
  if (!usage) return {};
  const result: Usage = {};
  // promptTokenCount already includes cachedContentTokenCount: the same convention as Usage.
  const input = integer(usage.promptTokenCount);
  const cached = integer(usage.cachedContentTokenCount);
  const candidates = integer(usage.candidatesTokenCount);
  // Thinking tokens are not in candidatesTokenCount, but Google bills them at the output price:
  // leaving them out would undercharge every answer from a thinking model.
  const thoughts = integer(usage.thoughtsTokenCount);
  if (input !== undefined) result.inputTokens = input;
  if (cached !== undefined) result.cachedInputTokens = cached;
  if (candidates !== undefined || thoughts !== undefined) result.outputTokens = (candidates ?? 0) + (thoughts ?? 0);
  return result;
}

const FILTERED = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);

export function toFinishReason(reason: string | undefined): FinishReason {
  if (reason === "STOP") return "stop";
  // CONTINUATION: the answer hit the per-request limit and could be resumed (we do not resume).
  if (reason === "MAX_TOKENS" || reason === "CONTINUATION") return "length";
  if (reason !== undefined && FILTERED.has(reason)) return "content-filter";
  return "other";
}

/** A prompt Google refused outright (no candidates at all). */
export function throwIfPromptBlocked(response: GenerateContentResponse, provider: string): void {
  const reason = response.promptFeedback?.blockReason;
  if (reason) {
    throw new ProviderError("content_policy", provider, {
      ...(/^[A-Z_]{1,64}$/.test(reason) ? { code: reason } : {}),
      detail: "prompt blocked",
    });
  }
}

/** The answer's text: candidate 0's text parts, without the model's thought summaries. */
function textOf(response: GenerateContentResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  return parts
    .filter((part) => !part.thought && typeof part.text === "string")
    .map((part) => part.text)
    .join("");
}

function config(
  req: TextRequest,
  contents: ReturnType<typeof toContents>,
  request: ReturnType<typeof requestConfig>,
): GenerateContentConfig {
  return {
    ...request,
    // The SDK otherwise re-sends the request on its own when an answer stops with CONTINUATION:
    // more requests, more cost, outside the app's control.
    automaticContinuation: false,
    ...(contents.systemInstruction ? { systemInstruction: contents.systemInstruction } : {}),
    ...(req.maxOutputTokens !== undefined ? { maxOutputTokens: req.maxOutputTokens } : {}),
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
  };
}

export function createChatModel(context: GoogleContext, modelId: string): TextModel {
  const { provider } = context;

  async function* stream(req: TextRequest, opts: CallOptions = {}): AsyncGenerator<TextStreamEvent> {
    const call = startCall(provider, opts);
    try {
      call.throwIfInterrupted();
      const contents = toContents(req.messages, provider);
      let finishReason: FinishReason | undefined;
      let usage: Usage = {};
      let chunks: AsyncGenerator<GenerateContentResponse>;
      try {
        chunks = await context.client().models.generateContentStream({
          model: modelId,
          contents: contents.contents,
          config: config(req, contents, requestConfig(call, opts)),
        });
      } catch (error) {
        throw toProviderError(error, provider, call);
      }
      while (true) {
        let next: IteratorResult<GenerateContentResponse>;
        try {
          next = await chunks.next();
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        if (next.done) break;
        call.throwIfInterrupted(); // chunks already buffered when the caller aborted are not passed on
        const chunk = next.value;
        throwIfPromptBlocked(chunk, provider);
        const text = textOf(chunk);
        if (text) yield { type: "text-delta", text };
        // Each chunk's usage is the running total so far, this chunk's text included: the last one is the
        // answer's, and an answer cut short is billed from the last one that arrived.
        if (chunk.usageMetadata) {
          usage = toUsage(chunk.usageMetadata);
          yield { type: "usage", usage };
        }
        const reason = chunk.candidates?.[0]?.finishReason;
        if (reason) finishReason = toFinishReason(reason);
      }
      call.throwIfInterrupted();
      if (!finishReason) {
        throw new ProviderError("upstream", provider, { detail: "stream ended without a finish reason" });
      }
      yield { type: "finish", usage, finishReason };
    } finally {
      // Also what cancels the upstream request when the consumer stops reading early.
      call.end();
    }
  }

  return {
    provider,
    modelId,
    stream,
    async generate(req: TextRequest, opts: CallOptions = {}): Promise<TextResult> {
      const call = startCall(provider, opts);
      try {
        call.throwIfInterrupted();
        const contents = toContents(req.messages, provider);
        let response: GenerateContentResponse;
        try {
          response = await context.client().models.generateContent({
            model: modelId,
            contents: contents.contents,
            config: config(req, contents, requestConfig(call, opts)),
          });
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        throwIfPromptBlocked(response, provider);
        const candidate = response.candidates?.[0];
        if (!candidate) throw new ProviderError("upstream", provider, { detail: "no candidates" });
        return {
          text: textOf(response),
          usage: toUsage(response.usageMetadata),
          finishReason: toFinishReason(candidate.finishReason),
        };
      } finally {
        call.end();
      }
    },
  };
}
