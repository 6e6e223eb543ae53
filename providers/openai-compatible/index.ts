import { createChatModel } from "../openai/chat";
import { lazyClient } from "../openai/client";
import { NoSuchModelError } from "../registry";
import type { Provider } from "../types";

// Any server speaking OpenAI's Chat Completions: Qwen through DashScope
// (https://dashscope-intl.aliyuncs.com/compatible-mode/v1), DeepSeek (https://api.deepseek.com/v1),
// Ollama (http://localhost:11434/v1), vLLM (http://host:8000/v1). Text only; it reuses the OpenAI
// adapter's chat path, sending `max_tokens` (which these servers understand) instead of
// `max_completion_tokens`.

export type OpenAICompatibleSettings = {
  /** The id prefix, e.g. "qwen" for "qwen:qwen-plus". */
  id: string;
  label: string;
  /** Optional: local servers (Ollama, vLLM) usually need none; then no Authorization header is sent. */
  apiKey?: string;
  /** Required to be configured. */
  baseURL?: string;
  /** The model ids this endpoint serves. Empty = accept any id. */
  models: readonly string[];
};

export function createOpenAICompatible(settings: OpenAICompatibleSettings): Provider {
  const provider = settings.id;
  const client = lazyClient({ apiKey: settings.apiKey, baseURL: settings.baseURL });
  const known = new Set(settings.models);
  return {
    id: provider,
    label: settings.label,
    isConfigured: Boolean(settings.baseURL),
    text: (modelId) => {
      if (known.size > 0 && !known.has(modelId)) {
        throw new NoSuchModelError(`${provider}:${modelId}`, "text", `does not list "${modelId}"`);
      }
      return createChatModel({ provider, modelId, client, maxTokensParam: "max_tokens" });
    },
  };
}
