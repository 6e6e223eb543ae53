import type { Generation } from "@prisma/client";
import { isProviderError, ProviderError } from "#providers/index";
import type { CatalogEntry } from "#app/utils/catalog";
import { prisma } from "#app/utils/db.server";
import { estimateImages, estimateSpeech, estimateVideo } from "#app/utils/pricing";
import { getRegistry } from "#app/utils/providers.server";
import { readAllBytes, saveFile } from "#app/utils/storage.server";
import { GenerationRefused } from "./refusals.server";
import { settle } from "./settle.server";
import { OUTPUT_FILE_PURPOSE, timeoutMs } from "./settings.server";
import type { Attachment } from "./start.server";

// One runner per media modality: how a request is checked and priced before its hold, and how one step of
// its work runs in the background job. Adding a modality is adding an entry to MEDIA_RUNNERS.

export type MediaModality = "image" | "speech" | "video";

export type MediaInput = {
  userId: string;
  requestId: string;
  modelId: string;
  prompt: string;
  costCap?: bigint | null;
  /** Image: pictures to edit or take as reference (only for models that accept image files). */
  files?: Attachment[];
  size?: string;
  quality?: string;
  n?: number;
  /** Speech */
  voice?: string;
  /** Video */
  seconds?: number;
  aspectRatio?: string;
};

/** What the worker does next for a media generation. */
export type MediaStep = { next: "done" } | { next: "poll"; afterMs: number };

/** The parameters a generation was held for, as its row keeps them. */
export type MediaParams = {
  n?: number;
  size?: string;
  quality?: string;
  voice?: string;
  seconds?: number;
  aspectRatio?: string;
};

type CallOptions = { signal?: AbortSignal; timeoutMs: number };

export type MediaRunner = {
  /** Checks the request's settings against the model; the parameters to keep and the amount to hold. */
  prepare(
    entry: CatalogEntry,
    input: MediaInput,
    files: Attachment[],
  ): { params: Record<string, string | number>; held: bigint };
  /** One step: call the provider, store the outputs and settle, or say when to look again. */
  run(row: Generation, entry: CatalogEntry, params: MediaParams, options: CallOptions): Promise<MediaStep>;
};

const DONE: MediaStep = { next: "done" };

async function storeOutputs(row: Generation, outputs: Array<{ mediaType: string; data: Uint8Array }>) {
  for (const [position, output] of outputs.entries()) {
    const stored = await saveFile({
      ownerId: row.userId,
      purpose: OUTPUT_FILE_PURPOSE,
      bytes: output.data,
      mediaType: output.mediaType,
      originalName: null,
    });
    await prisma.generationFile.create({ data: { generationId: row.id, fileId: stored.id, role: "output", position } });
  }
}

/** The pictures given with an image request, in the order they were attached. */
async function inputImages(generationId: string) {
  const links = await prisma.generationFile.findMany({
    where: { generationId, role: "input" },
    include: { file: true },
    orderBy: { position: "asc" },
  });
  const images: Array<{ mediaType: string; data: Uint8Array }> = [];
  for (const link of links) {
    const data = await readAllBytes(link.file.storageKey);
    if (data) images.push({ mediaType: link.file.mediaType, data });
  }
  return images;
}

const image: MediaRunner = {
  prepare(entry, input, files) {
    const caps = entry.capabilities;
    const size = input.size ?? caps.sizes[0];
    if (caps.sizes.length && (!size || !caps.sizes.includes(size))) {
      throw new GenerationRefused("wrong_modality", "size", `Choose one of the sizes ${entry.label} offers.`);
    }
    const quality = input.quality ?? caps.qualities[0];
    if (caps.qualities.length && (!quality || !caps.qualities.includes(quality))) {
      throw new GenerationRefused("wrong_modality", "quality", `Choose one of the qualities ${entry.label} offers.`);
    }
    const n = input.n ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > caps.maxImages) {
      throw new GenerationRefused(
        "wrong_modality",
        "n",
        `${entry.label} makes 1 to ${caps.maxImages} images at a time.`,
      );
    }
    // Models that bill input tokens (GPT Image) hold for the prompt and the pictures too.
    const inputFiles = files.map((file) => ({ mediaType: file.mediaType, size: file.bytes.byteLength }));
    return {
      params: {
        n,
        ...(size ? { size } : {}),
        ...(quality ? { quality } : {}),
        ...(files.length ? { files: files.length } : {}),
      },
      held: estimateImages(
        entry.price,
        n,
        { size, quality },
        { prompt: input.prompt, files: inputFiles, limits: caps },
      ),
    };
  },
  async run(row, entry, params, options) {
    const model = getRegistry().imageModel(row.modelId);
    const images = await inputImages(row.id);
    const result = await model.generate(
      {
        model: model.modelId,
        prompt: row.prompt,
        n: params.n ?? 1,
        size: params.size,
        quality: params.quality,
        ...(images.length ? { images } : {}),
      },
      options,
    );
    await storeOutputs(row, result.images);
    await settle(
      row,
      entry.price,
      { status: "succeeded", usage: result.usage },
      { size: params.size, quality: params.quality },
    );
    return DONE;
  },
};

const speech: MediaRunner = {
  prepare(entry, input) {
    const caps = entry.capabilities;
    const characters = [...input.prompt].length;
    if (characters > caps.maxCharacters) {
      throw new GenerationRefused(
        "too_long",
        "prompt",
        `${entry.label} reads at most ${caps.maxCharacters.toLocaleString("en")} characters at a time.`,
      );
    }
    const voice = input.voice ?? caps.voices[0]?.id;
    if (caps.voices.length && (!voice || !caps.voices.some((option) => option.id === voice))) {
      throw new GenerationRefused("wrong_modality", "voice", `Choose one of the voices ${entry.label} offers.`);
    }
    return { params: { ...(voice ? { voice } : {}), characters }, held: estimateSpeech(entry.price, input.prompt) };
  },
  async run(row, entry, params, options) {
    const model = getRegistry().speechModel(row.modelId);
    const result = await model.generate({ model: model.modelId, text: row.prompt, voice: params.voice }, options);
    await storeOutputs(row, [result.audio]);
    await settle(row, entry.price, { status: "succeeded", usage: result.usage });
    return DONE;
  },
};

// A video is started upstream in one step and polled in later ones, so no worker waits while it renders.
const video: MediaRunner = {
  prepare(entry, input) {
    const caps = entry.capabilities;
    const seconds = input.seconds ?? caps.seconds[0] ?? 4;
    if (caps.seconds.length && !caps.seconds.includes(seconds)) {
      throw new GenerationRefused("wrong_modality", "seconds", `Choose one of the lengths ${entry.label} offers.`);
    }
    const aspectRatio = input.aspectRatio ?? caps.aspectRatios[0];
    if (caps.aspectRatios.length && (!aspectRatio || !caps.aspectRatios.includes(aspectRatio))) {
      throw new GenerationRefused("wrong_modality", "aspectRatio", `Choose one of the shapes ${entry.label} offers.`);
    }
    return { params: { seconds, ...(aspectRatio ? { aspectRatio } : {}) }, held: estimateVideo(entry.price, seconds) };
  },
  async run(row, entry, params, options) {
    const model = getRegistry().videoModel(row.modelId);
    if (!row.upstreamJobId) {
      const { jobId } = await model.start(
        { model: model.modelId, prompt: row.prompt, seconds: params.seconds, aspectRatio: params.aspectRatio },
        options,
      );
      await prisma.generation.update({ where: { id: row.id }, data: { upstreamJobId: jobId, progress: 10 } });
      return { next: "poll", afterMs: 1_000 };
    }
    const age = () => Date.now() - (row.startedAt ?? row.createdAt).getTime();
    let poll;
    try {
      poll = await model.poll(row.upstreamJobId, options);
    } catch (error) {
      // A hiccup while asking (503, rate limit) says nothing about the job itself: ask again later.
      if (isProviderError(error) && error.retryable && age() < timeoutMs() * 4) return { next: "poll", afterMs: 5_000 };
      throw error;
    }
    if (poll.status === "running") {
      const progress = Math.max(10, Math.min(95, Math.round(poll.progress ?? row.progress)));
      await prisma.generation.update({ where: { id: row.id }, data: { progress } });
      if (age() > timeoutMs() * 4) throw new ProviderError("timeout", entry.provider);
      return { next: "poll", afterMs: 2_000 };
    }
    if (poll.status === "failed") throw poll.error;
    if (!poll.video.data) throw new ProviderError("upstream", entry.provider, { detail: "no video bytes" });
    await storeOutputs(row, [{ mediaType: poll.video.mediaType, data: poll.video.data }]);
    await settle(row, entry.price, { status: "succeeded", usage: poll.usage });
    return DONE;
  },
};

export const MEDIA_RUNNERS: Readonly<Record<MediaModality, MediaRunner>> = { image, speech, video };

export function isMediaModality(modality: string): modality is MediaModality {
  return Object.hasOwn(MEDIA_RUNNERS, modality);
}

/** The parameters a media row was held for (its params column is JSON written by `prepare`). */
export function mediaParams(row: Generation): MediaParams {
  const params = (row.params ?? {}) as Record<string, unknown>;
  const pick = <T>(key: string, type: "string" | "number") =>
    typeof params[key] === type ? (params[key] as T) : undefined;
  return {
    n: pick<number>("n", "number"),
    size: pick<string>("size", "string"),
    quality: pick<string>("quality", "string"),
    voice: pick<string>("voice", "string"),
    seconds: pick<number>("seconds", "number"),
    aspectRatio: pick<string>("aspectRatio", "string"),
  };
}
