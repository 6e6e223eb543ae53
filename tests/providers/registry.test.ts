import { describe, expect, it } from "vitest";
import { createDemo } from "#providers/demo/index";
import { createDefaultRegistry } from "#providers/index";
import { createOpenAI } from "#providers/openai/index";
import { createOpenAICompatible } from "#providers/openai-compatible/index";
import {
  createRegistry,
  InvalidModelIdError,
  NoSuchModelError,
  NoSuchProviderError,
  ProviderNotConfiguredError,
} from "#providers/registry";

describe("provider registry", () => {
  const registry = createRegistry([
    createDemo({ wordDelayMs: 0 }),
    createOpenAI({ apiKey: "sk-test", baseURL: "http://127.0.0.1:9/v1" }),
    createOpenAICompatible({
      id: "deepseek",
      label: "DeepSeek",
      baseURL: "http://127.0.0.1:9/v1",
      models: ["deepseek-chat"],
    }),
    createOpenAICompatible({ id: "ollama", label: "Ollama", baseURL: undefined, models: [] }),
  ]);

  it("resolves provider:model ids, splitting at the first colon only", () => {
    const { provider, modelId } = registry.resolve("openai:gpt-4o");
    expect(provider.id).toBe("openai");
    expect(modelId).toBe("gpt-4o");
    expect(registry.resolve("ollama:llama3.1:8b").modelId).toBe("llama3.1:8b");
  });

  it("hands out models per modality", () => {
    const text = registry.textModel("openai:gpt-4o");
    expect(text).toMatchObject({ provider: "openai", modelId: "gpt-4o" });
    expect(registry.imageModel("openai:gpt-image-1").modelId).toBe("gpt-image-1");
    expect(registry.speechModel("openai:gpt-4o-mini-tts").modelId).toBe("gpt-4o-mini-tts");
    expect(registry.textModel("demo:chat").provider).toBe("demo");
    expect(registry.imageModel("demo:image").provider).toBe("demo");
    expect(registry.speechModel("demo:voice").provider).toBe("demo");
    expect(registry.textModel("deepseek:deepseek-chat").provider).toBe("deepseek");
  });

  it("rejects ids that are not provider:model", () => {
    for (const id of ["gpt-4o", ":gpt-4o", "openai:", "OpenAI:gpt-4o", " openai:gpt-4o", "openai: gpt-4o"]) {
      expect(() => registry.resolve(id), id).toThrow(InvalidModelIdError);
    }
  });

  it("fails clearly on an unknown provider", () => {
    const error = (() => {
      try {
        registry.textModel("nope:gpt-4o");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(NoSuchProviderError);
    expect((error as NoSuchProviderError).providerId).toBe("nope");
    expect((error as Error).message).toContain("demo, openai, deepseek, ollama");
  });

  it("fails with NoSuchModelError when the provider lacks the modality or the model", () => {
    expect(() => registry.videoModel("openai:sora-2")).toThrow(NoSuchModelError);
    expect(() => registry.speechModel("deepseek:deepseek-chat")).toThrow(NoSuchModelError);
    expect(() => registry.imageModel("deepseek:deepseek-chat")).toThrow(NoSuchModelError);
    expect(() => registry.textModel("deepseek:deepseek-reasoner-9000")).toThrow(NoSuchModelError);
    expect(() => registry.textModel("deepseek:deepseek-reasoner-9000")).toThrow(/does not list/);
  });

  it("fails with ProviderNotConfiguredError when a key or base URL is missing", () => {
    const unconfigured = createRegistry([createOpenAI({}), createDemo({ enabled: false })]);
    expect(() => unconfigured.textModel("openai:gpt-4o")).toThrow(ProviderNotConfiguredError);
    expect(() => unconfigured.textModel("demo:chat")).toThrow(ProviderNotConfiguredError);
    expect(() => registry.textModel("ollama:llama3")).toThrow(ProviderNotConfiguredError);
    // The modality check comes first: a missing modality is not hidden behind "not configured".
    expect(() => unconfigured.videoModel("openai:sora-2")).toThrow(NoSuchModelError);
  });

  it("answers isAvailable without throwing, for the UI", () => {
    expect(registry.isAvailable("openai:gpt-4o", "text")).toBe(true);
    expect(registry.isAvailable("openai:gpt-4o", "video")).toBe(false);
    expect(registry.isAvailable("ollama:llama3", "text")).toBe(false);
    expect(registry.isAvailable("deepseek:unknown", "text")).toBe(false);
    expect(registry.isAvailable("nope:x", "text")).toBe(false);
    expect(registry.isAvailable("garbage", "text")).toBe(false);
  });

  it("refuses duplicate or malformed provider ids", () => {
    expect(() => createRegistry([createDemo(), createDemo()])).toThrow(/twice/);
    expect(() =>
      createRegistry([createOpenAICompatible({ id: "Bad Id", label: "x", baseURL: "http://x", models: [] })]),
    ).toThrow(/Invalid provider id/);
  });

  it("builds the default registry from a plain config object, never from process.env", () => {
    const previous = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = "sk-from-env-must-be-ignored";
    try {
      const defaults = createDefaultRegistry({ demo: true });
      expect(defaults.providers.map((provider) => provider.id)).toEqual([
        "demo",
        "openai",
        "anthropic",
        "google",
        "flux",
        "elevenlabs",
        "fal",
      ]);
      expect(defaults.provider("demo")?.label).toBe("Demo");
      expect(defaults.provider("openai")?.isConfigured).toBe(false);
      expect(defaults.isAvailable("demo:chat", "text")).toBe(true);

      const production = createDefaultRegistry({
        demo: false,
        openai: { apiKey: "sk-real" },
        openaiCompatible: [
          { id: "qwen", label: "Qwen", apiKey: "k", baseURL: "http://127.0.0.1:9/v1", models: ["qwen-plus"] },
        ],
      });
      expect(production.providers.map((provider) => provider.id)).toEqual([
        "demo",
        "openai",
        "anthropic",
        "google",
        "flux",
        "elevenlabs",
        "fal",
        "qwen",
      ]);
      expect(production.isAvailable("demo:chat", "text")).toBe(false);
      expect(production.isAvailable("openai:gpt-4o", "text")).toBe(true);
      expect(production.isAvailable("qwen:qwen-plus", "text")).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previous;
    }
  });
});
