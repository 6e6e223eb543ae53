import type { ImageModel, Modality, Provider, SpeechModel, TextModel, VideoModel } from "./types";

// Resolves "provider:model" ids to adapters. Three clear failures, checked in this order:
// unknown provider → NoSuchProviderError; provider without that modality (or that model) →
// NoSuchModelError; provider known but missing its key/base URL → ProviderNotConfiguredError.

const PROVIDER_ID = /^[a-z0-9][a-z0-9_-]*$/;

export class InvalidModelIdError extends Error {
  override readonly name = "InvalidModelIdError";
  constructor(readonly modelId: string) {
    super(`Model ids look like "provider:model", got ${JSON.stringify(modelId.slice(0, 100))}.`);
  }
}

export class NoSuchProviderError extends Error {
  override readonly name = "NoSuchProviderError";
  constructor(
    readonly providerId: string,
    readonly available: readonly string[],
  ) {
    super(`No provider "${providerId}". Known providers: ${available.join(", ") || "(none)"}.`);
  }
}

export class NoSuchModelError extends Error {
  override readonly name = "NoSuchModelError";
  constructor(
    readonly modelId: string,
    readonly modality: Modality,
    reason = `has no ${modality} models`,
  ) {
    super(`No ${modality} model "${modelId}": the provider ${reason}.`);
  }
}

export class ProviderNotConfiguredError extends Error {
  override readonly name = "ProviderNotConfiguredError";
  constructor(
    readonly providerId: string,
    readonly modelId: string,
  ) {
    super(`Provider "${providerId}" is not configured (missing key or base URL), so "${modelId}" is unavailable.`);
  }
}

export type ResolvedModelId = { provider: Provider; modelId: string };

export type Registry = {
  readonly providers: readonly Provider[];
  /** The provider with this id, or undefined. */
  provider(providerId: string): Provider | undefined;
  /** Splits "openai:gpt-4o" at the first ":" and finds the provider (configured or not). */
  resolve(id: string): ResolvedModelId;
  /** True when `id` names a configured provider that has this modality: safe to show as available. */
  isAvailable(id: string, modality: Modality): boolean;
  textModel(id: string): TextModel;
  imageModel(id: string): ImageModel;
  speechModel(id: string): SpeechModel;
  videoModel(id: string): VideoModel;
};

export function parseModelId(id: string): { providerId: string; modelId: string } {
  const colon = id.indexOf(":");
  if (colon <= 0 || colon === id.length - 1) throw new InvalidModelIdError(id);
  const providerId = id.slice(0, colon);
  const modelId = id.slice(colon + 1);
  if (!PROVIDER_ID.test(providerId) || modelId.trim() !== modelId) throw new InvalidModelIdError(id);
  return { providerId, modelId };
}

export function createRegistry(providers: Provider[]): Registry {
  const byId = new Map<string, Provider>();
  for (const provider of providers) {
    if (!PROVIDER_ID.test(provider.id)) throw new Error(`Invalid provider id "${provider.id}".`);
    if (byId.has(provider.id)) throw new Error(`Provider "${provider.id}" is registered twice.`);
    byId.set(provider.id, provider);
  }

  const resolve = (id: string): ResolvedModelId => {
    const { providerId, modelId } = parseModelId(id);
    const provider = byId.get(providerId);
    if (!provider) throw new NoSuchProviderError(providerId, [...byId.keys()]);
    return { provider, modelId };
  };

  function model<M>(id: string, modality: Modality, factory: (p: Provider) => ((modelId: string) => M) | undefined): M {
    const { provider, modelId } = resolve(id);
    const make = factory(provider);
    if (!make) throw new NoSuchModelError(id, modality);
    if (!provider.isConfigured) throw new ProviderNotConfiguredError(provider.id, id);
    return make.call(provider, modelId);
  }

  const registry: Registry = {
    providers: [...byId.values()],
    provider: (providerId) => byId.get(providerId),
    resolve,
    isAvailable(id, modality) {
      try {
        model<unknown>(id, modality, (p) => p[modality] as ((modelId: string) => unknown) | undefined);
        return true;
      } catch {
        return false;
      }
    },
    textModel: (id) => model(id, "text", (p) => p.text),
    imageModel: (id) => model(id, "image", (p) => p.image),
    speechModel: (id) => model(id, "speech", (p) => p.speech),
    videoModel: (id) => model(id, "video", (p) => p.video),
  };
  return registry;
}
