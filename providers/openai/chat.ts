import type OpenAI from "openai";
import type {
  ChatCompletionContentPart,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import type { CompletionUsage } from "openai/resources/completions";
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

// Chat Completions, shared by OpenAI and every OpenAI-compatible endpoint. The request body holds
// only what the TextRequest says (model, messages, limits) — never a `user`, `safety_identifier`,
// `metadata` or any other field that could identify a member.

export type ChatModelSettings = {
  provider: string;
  modelId: string;
  client: () => OpenAI;
  /**
   * OpenAI wants `max_completion_tokens` (reasoning models reject `max_tokens`); most compatible
   * servers (older vLLM, Ollama, DeepSeek, DashScope) only know `max_tokens`.
   */
  maxTokensParam: "max_completion_tokens" | "max_tokens";
};

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

function dataUrl(part: FilePart): string {
  return `data:${part.mediaType};base64,${base64(part.data)}`;
}

function filePart(part: FilePart, provider: string): ChatCompletionContentPart {
  const mediaType = baseMediaType(part);
  if (IMAGE_TYPES.has(mediaType)) return { type: "image_url", image_url: { url: dataUrl({ ...part, mediaType }) } };
  if (mediaType === "application/pdf") {
    return {
      type: "file",
      file: { filename: part.filename ?? "document.pdf", file_data: dataUrl({ ...part, mediaType }) },
    };
  }
  const text = textOfFile(part, provider);
  if (text !== undefined) return { type: "text", text };
  throw unsupportedFile(provider);
}

export function toChatMessages(messages: Message[], provider: string): ChatCompletionMessageParam[] {
  if (messages.length === 0) throw new ProviderError("invalid_request", provider, { detail: "no messages" });
  return messages.map((message): ChatCompletionMessageParam => {
    if (message.role === "system") return { role: "system", content: onlyText(message, provider) };
    if (message.role === "assistant") return { role: "assistant", content: onlyText(message, provider) };
    // Plain strings when there are no files: some compatible servers reject content arrays.
    if (message.content.every((part) => part.type === "text")) {
      return { role: "user", content: onlyText(message, provider) };
    }
    return {
      role: "user",
      content: message.content.map((part) =>
        part.type === "text" ? { type: "text", text: part.text } : filePart(part, provider),
      ),
    };
  });
}

function integer(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.round(value) : undefined;
}

export function toUsage(usage: CompletionUsage | null | undefined): Usage {
  if (!usage) return {};
  const result: Usage = {};
  const input = integer(usage.prompt_tokens);
  const output = integer(usage.completion_tokens);
  const cached = integer(usage.prompt_tokens_details?.cached_tokens);
  if (input !== undefined) result.inputTokens = input;
  if (output !== undefined) result.outputTokens = output;
  if (cached !== undefined) result.cachedInputTokens = cached;
  return result;
}

export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case "stop":
      return "stop";
    case "length":
      return "length";
    case "content_filter":
      return "content-filter";
    case "tool_calls":
    case "function_call":
      return "tool-calls";
    default:
      return "other";
  }
}

function baseBody(req: TextRequest, settings: ChatModelSettings) {
  return {
    model: settings.modelId,
    messages: toChatMessages(req.messages, settings.provider),
    ...(req.maxOutputTokens !== undefined ? { [settings.maxTokensParam]: req.maxOutputTokens } : {}),
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
  };
}

export function createChatModel(settings: ChatModelSettings): TextModel {
  const { provider, modelId } = settings;

  async function* stream(req: TextRequest, opts: CallOptions = {}): AsyncGenerator<TextStreamEvent> {
    const call = startCall(provider, opts);
    try {
      call.throwIfInterrupted();
      const body: ChatCompletionCreateParamsStreaming = {
        ...baseBody(req, settings),
        stream: true,
        stream_options: { include_usage: true },
      };
      let finishReason: FinishReason | undefined;
      let usage: Usage = {};
      let chunks;
      try {
        chunks = await settings.client().chat.completions.create(body, requestOptions(call, opts));
      } catch (error) {
        throw toProviderError(error, provider, call);
      }
      const iterator = chunks[Symbol.asyncIterator]();
      while (true) {
        let next: IteratorResult<OpenAI.Chat.Completions.ChatCompletionChunk>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        if (next.done) break;
        call.throwIfInterrupted(); // chunks already buffered when the caller aborted are not passed on
        const chunk = next.value;
        for (const choice of chunk.choices ?? []) {
          if (choice.index !== 0) continue;
          const text = choice.delta?.content;
          if (text) yield { type: "text-delta", text };
          if (choice.finish_reason) finishReason = toFinishReason(choice.finish_reason);
        }
        // OpenAI sends usage in one last chunk; some compatible servers (vLLM with continuous usage
        // stats) on every chunk, counting that chunk's text: passed on after it.
        if (chunk.usage) {
          usage = toUsage(chunk.usage);
          yield { type: "usage", usage };
        }
      }
      // The SDK ends the iteration quietly when its request is aborted: say what really happened.
      call.throwIfInterrupted();
      if (!finishReason)
        throw new ProviderError("upstream", provider, { detail: "stream ended without a finish reason" });
      yield { type: "finish", usage, finishReason };
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
        const body: ChatCompletionCreateParamsNonStreaming = { ...baseBody(req, settings), stream: false };
        let completion;
        try {
          completion = await settings.client().chat.completions.create(body, requestOptions(call, opts));
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        const choice = completion.choices?.find((candidate) => candidate.index === 0) ?? completion.choices?.[0];
        if (!choice) throw new ProviderError("upstream", provider, { detail: "no choices" });
        return {
          text: choice.message?.content ?? "",
          usage: toUsage(completion.usage),
          finishReason: toFinishReason(choice.finish_reason),
        };
      } finally {
        call.end();
      }
    },
  };
}
