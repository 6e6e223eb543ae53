import { createHash } from "node:crypto";
import { countCodePoints, sleep, startCall } from "../call";
import { decodeJobId, encodeJobId, isRecord } from "../http";
import {
  ProviderError,
  type CallOptions,
  type FinishReason,
  type ImageModel,
  type ImageRequest,
  type ImageResult,
  type Message,
  type Provider,
  type SpeechModel,
  type SpeechRequest,
  type SpeechResult,
  type TextModel,
  type TextRequest,
  type TextResult,
  type TextStreamEvent,
  type Usage,
  type VideoModel,
  type VideoPollResult,
  type VideoRequest,
} from "../types";
import { encodePng } from "./png";
import { renderSunVideo } from "./video";
import { encodeWav } from "./wav";

// The built-in offline provider: no network, no keys, no model. Everything it returns is derived
// deterministically from the request (same request → same bytes), so a fresh install can run every
// flow, and tests can assert exact outputs. Clearly labelled "Demo" everywhere it shows.

export type DemoSettings = {
  /** Whether the demo may be called (production can switch it off). Default true. */
  enabled?: boolean;
  /** Pause between streamed words, in ms. Default 30; use 0 in tests. */
  wordDelayMs?: number;
  /** How long after `start` a demo video job reports success, in ms. Default 3000; use 0 in tests. */
  videoReadyAfterMs?: number;
};

const ID = "demo";

const OPENING = "Demo reply (offline, no AI model was called).";
const SENTENCES = [
  "This answer was put together from a fixed set of sentences, chosen by a hash of your message.",
  "Send the same message again and you will get exactly the same reply.",
  "Connect a real provider by adding its API key, and real models will appear next to this one.",
  "Every word you see here is counted as one output token, so the price shown is honest.",
  "Streaming works the same way it does for real models: one word at a time.",
  "Files you attach are accepted, but the demo does not read them.",
  "Try the image and speech demos too: they are generated on this server, offline.",
  "Nothing you write here leaves this machine while you use the demo provider.",
  "A cancelled or failed generation is never charged, and the demo is no exception.",
  "Long answers are cut at the maximum number of output tokens you choose.",
];

/** SHA-256 of a string, as a seeded pseudo-random generator (mulberry32) for derived choices. */
function seededRandom(seed: string): () => number {
  const digest = createHash("sha256").update(seed).digest();
  let state = digest.readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function conversationKey(messages: Message[]): string {
  return JSON.stringify(
    messages.map((message) => [
      message.role,
      message.content.map((part) =>
        part.type === "text" ? part.text : `${part.mediaType}:${createHash("sha256").update(part.data).digest("hex")}`,
      ),
    ]),
  );
}

function validateMessages(messages: Message[]) {
  if (messages.length === 0) throw new ProviderError("invalid_request", ID, { detail: "no messages" });
  for (const message of messages) {
    if (message.role !== "user" && message.content.some((part) => part.type === "file")) {
      throw new ProviderError("invalid_request", ID, { detail: `file in ${message.role} message` });
    }
  }
}

/** The reply's words (each with its leading space, except the first) and the request's usage. */
function plan(req: TextRequest): { words: string[]; inputTokens: number } {
  validateMessages(req.messages);
  const random = seededRandom(`${req.model}\n${conversationKey(req.messages)}`);
  const pool = [...SENTENCES];
  const chosen: string[] = [];
  const count = 2 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) chosen.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);

  const lastUser = [...req.messages].reverse().find((message) => message.role === "user");
  const userWords = lastUser
    ? countWords(lastUser.content.map((part) => (part.type === "text" ? part.text : "")).join(" "))
    : 0;
  const reply = [OPENING, ...chosen, `Your message had ${userWords} ${userWords === 1 ? "word" : "words"}.`].join(" ");

  const inputTokens = req.messages.reduce(
    (sum, message) =>
      sum + message.content.reduce((inner, part) => inner + (part.type === "text" ? countWords(part.text) : 0), 0),
    0,
  );
  const words = reply.split(" ").map((word, index) => (index === 0 ? word : ` ${word}`));
  return { words, inputTokens };
}

function limit(words: string[], maxOutputTokens: number | undefined): { words: string[]; finishReason: FinishReason } {
  if (maxOutputTokens !== undefined && maxOutputTokens >= 0 && words.length > maxOutputTokens) {
    return { words: words.slice(0, Math.floor(maxOutputTokens)), finishReason: "length" };
  }
  return { words, finishReason: "stop" };
}

function demoText(modelId: string, wordDelayMs: number): TextModel {
  async function* stream(req: TextRequest, opts: CallOptions = {}): AsyncGenerator<TextStreamEvent> {
    const call = startCall(ID, opts);
    try {
      call.throwIfInterrupted();
      const { words: all, inputTokens } = plan(req);
      const { words, finishReason } = limit(all, req.maxOutputTokens);
      let produced = 0;
      for (const word of words) {
        if (produced > 0) await sleep(wordDelayMs, call);
        call.throwIfInterrupted();
        produced++;
        yield { type: "text-delta", text: word };
        // Running usage after every word, as Gemini reports it on its chunks.
        yield { type: "usage", usage: { inputTokens, outputTokens: produced, cachedInputTokens: 0 } };
      }
      call.throwIfInterrupted();
      const usage: Usage = { inputTokens, outputTokens: produced, cachedInputTokens: 0 };
      yield { type: "finish", usage, finishReason };
    } finally {
      call.end();
    }
  }

  return {
    provider: ID,
    modelId,
    stream,
    async generate(req: TextRequest, opts: CallOptions = {}): Promise<TextResult> {
      const call = startCall(ID, opts);
      try {
        call.throwIfInterrupted();
        const { words: all, inputTokens } = plan(req);
        const { words, finishReason } = limit(all, req.maxOutputTokens);
        return {
          text: words.join(""),
          usage: { inputTokens, outputTokens: words.length, cachedInputTokens: 0 },
          finishReason,
        };
      } finally {
        call.end();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Images: a PNG gradient with a "sun", colours derived from the prompt.
// ---------------------------------------------------------------------------------------------

const MAX_SIDE = 2048;
const MAX_IMAGES = 10;

function parseSize(size: string | undefined): { width: number; height: number } {
  if (size === undefined || size === "auto") return { width: 512, height: 512 };
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(size);
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (!match || width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
    throw new ProviderError("invalid_request", ID, { detail: "unsupported size" });
  }
  return { width, height };
}

function colour(random: () => number): [number, number, number] {
  return [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)];
}

function demoPicture(seed: string, width: number, height: number): Uint8Array {
  const random = seededRandom(seed);
  const from = colour(random);
  const to = colour(random);
  const sun = colour(random);
  const cx = width * (0.2 + random() * 0.6);
  const cy = height * (0.2 + random() * 0.6);
  const radius = Math.min(width, height) * (0.1 + random() * 0.2);
  const rgb = new Uint8Array(width * height * 3);
  const span = Math.max(1, width + height - 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x + y) / span;
      const dx = x - cx;
      const dy = y - cy;
      const inSun = dx * dx + dy * dy <= radius * radius;
      const offset = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        rgb[offset + c] = inSun ? sun[c]! : Math.round(from[c]! + (to[c]! - from[c]!) * t);
      }
    }
  }
  return encodePng(width, height, rgb);
}

function demoImage(modelId: string): ImageModel {
  return {
    provider: ID,
    modelId,
    async generate(req: ImageRequest, opts: CallOptions = {}): Promise<ImageResult> {
      const call = startCall(ID, opts);
      try {
        call.throwIfInterrupted();
        const { width, height } = parseSize(req.size);
        const n = req.n ?? 1;
        if (!Number.isInteger(n) || n < 1 || n > MAX_IMAGES) {
          throw new ProviderError("invalid_request", ID, { detail: "unsupported n" });
        }
        const images = [];
        for (let i = 0; i < n; i++) {
          call.throwIfInterrupted();
          // An edit depends on the pictures given, too (by their hash: the demo does not read them).
          const inputs = (req.images ?? []).map((image) => createHash("sha256").update(image.data).digest("hex"));
          const seed = `${req.model}\n${req.quality ?? ""}\n${i}\n${req.prompt}${inputs.length ? `\n${inputs.join(",")}` : ""}`;
          images.push({ mediaType: "image/png", data: demoPicture(seed, width, height) });
        }
        return { images, usage: { images: n } };
      } finally {
        call.end();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Speech: one short sine tone per word (pentatonic), 16-bit PCM mono WAV.
// ---------------------------------------------------------------------------------------------

const SAMPLE_RATE = 16_000;
const NOTE_SECONDS = 0.16;
const GAP_SECONDS = 0.04;
const MAX_NOTES = 40;
const PENTATONIC = [0, 2, 4, 7, 9, 12, 14, 16];

function demoSpeech(modelId: string): SpeechModel {
  return {
    provider: ID,
    modelId,
    async generate(req: SpeechRequest, opts: CallOptions = {}): Promise<SpeechResult> {
      const call = startCall(ID, opts);
      try {
        call.throwIfInterrupted();
        if (req.text.trim() === "") throw new ProviderError("invalid_request", ID, { detail: "empty text" });
        const words = req.text.split(/\s+/).filter(Boolean).slice(0, MAX_NOTES);
        const base = 220 * 2 ** (Math.floor(seededRandom(`voice:${req.voice ?? ""}`)() * 12) / 12);
        const noteSamples = Math.round(NOTE_SECONDS * SAMPLE_RATE);
        const gapSamples = Math.round(GAP_SECONDS * SAMPLE_RATE);
        const fade = Math.round(0.005 * SAMPLE_RATE);
        const samples = new Int16Array(words.length * (noteSamples + gapSamples));
        words.forEach((word, index) => {
          const step = PENTATONIC[Math.floor(seededRandom(word.toLowerCase())() * PENTATONIC.length)]!;
          const frequency = base * 2 ** (step / 12);
          const start = index * (noteSamples + gapSamples);
          for (let i = 0; i < noteSamples; i++) {
            const envelope = Math.min(1, i / fade, (noteSamples - 1 - i) / fade);
            samples[start + i] = Math.round(
              Math.sin((2 * Math.PI * frequency * i) / SAMPLE_RATE) * envelope * 0.3 * 32767,
            );
          }
        });
        return {
          audio: { mediaType: "audio/wav", data: encodeWav(samples, SAMPLE_RATE) },
          usage: { characters: countCodePoints(req.text) },
        };
      } finally {
        call.end();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Video: a sun crossing a gradient sky, as a real H.264 MP4 (see mp4.ts), colours from the prompt.
// The job id carries everything poll needs (a hash of the request, the seconds, the aspect ratio
// and the start time), so a restarted server, or another one, polls it just the same.
// ---------------------------------------------------------------------------------------------

const VIDEO_JOB_PREFIX = "demo1";
const VIDEO_FPS = 10;
const DEFAULT_VIDEO_SECONDS = 4;
const MAX_VIDEO_SECONDS = 20;
const VIDEO_SIZES: Record<string, { width: number; height: number }> = {
  "16:9": { width: 192, height: 108 },
  "9:16": { width: 108, height: 192 },
  "1:1": { width: 144, height: 144 },
};

type VideoJob = { seed: string; seconds: number; aspectRatio: string; startedAt: number };

function decodeVideoJob(jobId: string): VideoJob {
  const job = decodeJobId(VIDEO_JOB_PREFIX, jobId);
  if (
    isRecord(job) &&
    typeof job.h === "string" &&
    /^[0-9a-f]{32}$/.test(job.h) &&
    typeof job.s === "number" &&
    Number.isInteger(job.s) &&
    job.s >= 1 &&
    job.s <= MAX_VIDEO_SECONDS &&
    typeof job.a === "string" &&
    Object.hasOwn(VIDEO_SIZES, job.a) &&
    typeof job.t === "number" &&
    Number.isSafeInteger(job.t)
  ) {
    return { seed: job.h, seconds: job.s, aspectRatio: job.a, startedAt: job.t };
  }
  throw new ProviderError("invalid_request", ID, { detail: "unknown job id" });
}

function shade(rgb: [number, number, number], floor: number, scale: number): [number, number, number] {
  return [floor + Math.round(rgb[0] * scale), floor + Math.round(rgb[1] * scale), floor + Math.round(rgb[2] * scale)];
}

function demoVideo(modelId: string, readyAfterMs: number): VideoModel {
  return {
    provider: ID,
    modelId,
    async start(req: VideoRequest, opts: CallOptions = {}): Promise<{ jobId: string }> {
      const call = startCall(ID, opts);
      try {
        call.throwIfInterrupted();
        if (req.prompt.trim() === "") throw new ProviderError("invalid_request", ID, { detail: "empty prompt" });
        const seconds = req.seconds ?? DEFAULT_VIDEO_SECONDS;
        if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_VIDEO_SECONDS) {
          throw new ProviderError("invalid_request", ID, { detail: "unsupported duration" });
        }
        const aspectRatio = req.aspectRatio ?? "16:9";
        if (!Object.hasOwn(VIDEO_SIZES, aspectRatio)) {
          throw new ProviderError("invalid_request", ID, { detail: "unsupported aspect ratio" });
        }
        // A hash, not the prompt: the job id is stored and logged, and need not repeat the prompt.
        const seed = createHash("sha256")
          .update(`${req.model}\n${aspectRatio}\n${req.prompt}`)
          .digest("hex")
          .slice(0, 32);
        return { jobId: encodeJobId(VIDEO_JOB_PREFIX, { h: seed, s: seconds, a: aspectRatio, t: Date.now() }) };
      } finally {
        call.end();
      }
    },
    async poll(jobId: string, opts: CallOptions = {}): Promise<VideoPollResult> {
      const call = startCall(ID, opts);
      try {
        call.throwIfInterrupted();
        const job = decodeVideoJob(jobId);
        const elapsed = Date.now() - job.startedAt;
        if (elapsed < readyAfterMs) {
          return { status: "running", progress: Math.max(0, Math.min(99, Math.floor((100 * elapsed) / readyAfterMs))) };
        }
        const random = seededRandom(`video\n${job.seed}`);
        const { width, height } = VIDEO_SIZES[job.aspectRatio]!;
        const data = renderSunVideo({
          width,
          height,
          seconds: job.seconds,
          fps: VIDEO_FPS,
          // A darker sky and a bright sun, so the sun always stands out.
          sky: [shade(colour(random), 0, 0.6), shade(colour(random), 0, 0.6)],
          sun: shade(colour(random), 170, 0.33),
          radius: 0.12 + random() * 0.06,
        });
        call.throwIfInterrupted();
        return { status: "succeeded", video: { mediaType: "video/mp4", data }, usage: { videoSeconds: job.seconds } };
      } finally {
        call.end();
      }
    },
  };
}

export function createDemo(settings: DemoSettings = {}): Provider {
  const wordDelayMs = settings.wordDelayMs ?? 30;
  const videoReadyAfterMs = settings.videoReadyAfterMs ?? 3000;
  return {
    id: ID,
    label: "Demo",
    isConfigured: settings.enabled ?? true,
    text: (modelId) => demoText(modelId, wordDelayMs),
    image: (modelId) => demoImage(modelId),
    speech: (modelId) => demoSpeech(modelId),
    video: (modelId) => demoVideo(modelId, videoReadyAfterMs),
  };
}
