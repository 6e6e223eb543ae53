import type Anthropic from "@anthropic-ai/sdk";
import type {
  Base64ImageSource,
  ContentBlockParam,
  MessageCreateParamsNonStreaming,
  MessageCreateParamsStreaming,
  MessageParam,
  RawMessageStreamEvent,
} from "@anthropic-ai/sdk/resources/messages";
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
import { requestOptions } from "./client";
import { toProviderError } from "./errors";

// The Messages API (POST /v1/messages). The request body holds only what the TextRequest says —
// never `metadata.user_id` or anything else that could identify a member.

/**
 * Anthropic requires `max_tokens` on every request; this is what we send when the request gives no
 * maxOutputTokens. Whoever estimates the cost of a call up front must assume the same ceiling.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export type MessagesModelSettings = {
  provider: string;
  modelId: string;
  client: () => Anthropic;
};

type ImageMediaType = Base64ImageSource["media_type"];
const IMAGE_TYPES = new Set<string>(["image/png", "image/jpeg", "image/gif", "image/webp"] satisfies ImageMediaType[]);

function fileBlock(part: FilePart, provider: string): ContentBlockParam {
  const mediaType = baseMediaType(part);
  if (IMAGE_TYPES.has(mediaType)) {
    return {
      type: "image",
      source: { type: "base64", media_type: mediaType as ImageMediaType, data: base64(part.data) },
    };
  }
  if (mediaType === "application/pdf") {
    return {
      type: "document",
      source: { type: "base64", media_type: "application/pdf", data: base64(part.data) },
      ...(part.filename ? { title: part.filename } : {}),
    };
  }
  const text = textOfFile(part, provider);
  if (text !== undefined) return { type: "text", text };
  throw unsupportedFile(provider);
}

/**
 * System messages become the top-level `system` parameter (joined, wherever they stood: Anthropic
 * has one system prompt per request); user and assistant turns stay in order.
 */
export function toAnthropicMessages(
  messages: Message[],
  provider: string,
): { system?: string; messages: MessageParam[] } {
  const system: string[] = [];
  const turns: MessageParam[] = [];
  for (const message of messages) {
    if (message.role === "system") system.push(onlyText(message, provider));
    else if (message.role === "assistant") turns.push({ role: "assistant", content: onlyText(message, provider) });
    else if (message.content.every((part) => part.type === "text")) {
      turns.push({ role: "user", content: onlyText(message, provider) });
    } else {
      turns.push({
        role: "user",
        content: message.content
          .filter((part) => part.type !== "text" || part.text !== "") // the API rejects empty text blocks
          .map((part) => (part.type === "text" ? { type: "text", text: part.text } : fileBlock(part, provider))),
      });
    }
  }
  if (turns.length === 0) throw new ProviderError("invalid_request", provider, { detail: "no messages" });
  const systemText = system.filter(Boolean).join("\n\n");
  return { ...(systemText ? { system: systemText } : {}), messages: turns };
}

/** The usage fields we read, as both `message.usage` and the cumulative `message_delta.usage` carry them. */
type RawUsage = {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
};

const USAGE_FIELDS = [
  "input_tokens",
  "output_tokens",
  "cache_read_input_tokens",
  "cache_creation_input_tokens",
] as const;

/** message_delta's usage is cumulative: a field it reports replaces the one from message_start. */
function mergeUsage(into: RawUsage, from: RawUsage | null | undefined): RawUsage {
  const merged = { ...into };
  for (const field of USAGE_FIELDS) {
    const value = from?.[field];
    if (value !== null && value !== undefined) merged[field] = value;
  }
  return merged;
}

function integer(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

/**
 * Anthropic reports the uncached part of the prompt (`input_tokens`), cache reads and cache writes
 * separately; our Usage wants the TOTAL prompt in inputTokens with the cache reads inside it. Cache
 * writes are billed by Anthropic at 1.25× the input price; this normalized usage counts them as
 * ordinary input tokens (there is no field for them), so a price built from it undercounts them.
 */
export function toUsage(usage: RawUsage | null | undefined): Usage {
  if (!usage) return {};
  const result: Usage = {};
  const input = integer(usage.input_tokens);
  const cacheRead = integer(usage.cache_read_input_tokens);
  const cacheWrite = integer(usage.cache_creation_input_tokens);
  const output = integer(usage.output_tokens);
  if (input !== undefined) result.inputTokens = input + (cacheRead ?? 0) + (cacheWrite ?? 0);
  if (output !== undefined) result.outputTokens = output;
  if (cacheRead !== undefined) result.cachedInputTokens = cacheRead;
  return result;
}

export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool-calls";
    case "refusal":
      return "content-filter";
    default:
      return "other"; // pause_turn, and whatever the API adds later
  }
}

function baseBody(req: TextRequest, settings: MessagesModelSettings) {
  // No `temperature`: API version 2026-10-21 (the one SDK 1.x sends) rejects temperature, top_p
  // and top_k with a 400 even at their default values, and the SDK no longer has them.
  return {
    model: settings.modelId,
    max_tokens: req.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
    ...toAnthropicMessages(req.messages, settings.provider),
  };
}

export function createMessagesModel(settings: MessagesModelSettings): TextModel {
  const { provider, modelId } = settings;

  async function* stream(req: TextRequest, opts: CallOptions = {}): AsyncGenerator<TextStreamEvent> {
    const call = startCall(provider, opts);
    try {
      call.throwIfInterrupted();
      const body: MessageCreateParamsStreaming = { ...baseBody(req, settings), stream: true };
      let events;
      try {
        events = await settings.client().messages.create(body, requestOptions(call, opts));
      } catch (error) {
        throw toProviderError(error, provider, call);
      }
      let usage: RawUsage = {};
      let stopReason: string | null | undefined;
      let stopped = false;
      const iterator = events[Symbol.asyncIterator]();
      while (true) {
        let next: IteratorResult<RawMessageStreamEvent>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        if (next.done) break;
        call.throwIfInterrupted(); // events already buffered when the caller aborted are not passed on
        const event = next.value;
        switch (event.type) {
          case "message_start":
            usage = mergeUsage({}, event.message?.usage);
            yield { type: "usage", usage: toUsage(usage) };
            break;
          case "content_block_delta":
            if (event.delta?.type === "text_delta" && event.delta.text)
              yield { type: "text-delta", text: event.delta.text };
            break;
          case "message_delta":
            usage = mergeUsage(usage, event.usage);
            if (event.delta?.stop_reason) stopReason = event.delta.stop_reason;
            yield { type: "usage", usage: toUsage(usage) };
            break;
          case "message_stop":
            stopped = true;
            break;
          default:
            break; // content_block_start/stop, and event types added later
        }
      }
      // The SDK ends the iteration quietly when its request is aborted: say what really happened.
      call.throwIfInterrupted();
      if (!stopped) throw new ProviderError("upstream", provider, { detail: "stream ended early" });
      yield { type: "finish", usage: toUsage(usage), finishReason: toFinishReason(stopReason) };
    } finally {
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
        const body: MessageCreateParamsNonStreaming = { ...baseBody(req, settings), stream: false };
        let message;
        try {
          message = await settings.client().messages.create(body, requestOptions(call, opts));
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        if (!Array.isArray(message?.content)) throw new ProviderError("upstream", provider, { detail: "no content" });
        return {
          text: message.content.map((block) => (block.type === "text" ? block.text : "")).join(""),
          usage: toUsage(message.usage),
          finishReason: toFinishReason(message.stop_reason),
        };
      } finally {
        call.end();
      }
    },
  };
}
