import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for the Gemini Developer API (generativelanguage.googleapis.com), speaking its
// real wire format at the paths `@google/genai` really calls, for adapter tests. Point the SDK's
// baseUrl at `url` (no version: the SDK adds /v1beta). Serves:
//   POST /v1beta/models/{model}:generateContent         JSON GenerateContentResponse; image parts
//                                                       (inlineData) when generationConfig asks
//                                                       for the IMAGE modality
//   POST /v1beta/models/{model}:streamGenerateContent   ?alt=sse — `data: {...}\r\n\r\n` events
//   POST /v1beta/models/{model}:predictLongRunning      Veo: { name: "models/{model}/operations/{id}" }
//   GET  /v1beta/models/{model}/operations/{id}         the operation; done after `pollsUntilDone` polls
//   GET  /v1beta/files/{id}:download                    ?alt=media — the video bytes (needs the key),
//                                                       optionally via a redirect to /blobs/{id}
// Errors use Google's body: {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED"}}.
// A streamed answer's chunks each carry the running usageMetadata (prompt, thinking, answer so far), as
// Gemini sends it. Every request is recorded. The next request(s) can be told to fail, hang, stall mid-stream,
// send a malformed stream, an error event, or end a stream early.

export type FakeGoogleRequest = {
  method: string;
  /** Path without the query string, e.g. "/v1beta/models/gemini-2.5-flash:generateContent". */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (or the raw string when it is not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
  /** True once the client went away before the response was complete (abort, timeout). */
  closedEarly: boolean;
};

export type FakeGeminiUsage = {
  promptTokenCount: number;
  candidatesTokenCount: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
};

export type FakeGeminiReply = {
  /** Streamed as these deltas (default: `text` split into words, spaces kept). */
  chunks?: string[];
  text: string;
  /** Thought summaries sent (as `thought: true` parts) before the answer. */
  thoughts?: string[];
  /** Candidate 0's finish reason; null sends none. */
  finishReason: string | null;
  usage: FakeGeminiUsage;
  /** Refuse the prompt: promptFeedback.blockReason and no candidates. */
  blockReason?: string;
};

export type FakeGeminiImages = {
  /** Base64 images, one inlineData part each. */
  images: string[];
  mimeType: string;
  /** A draft image marked `thought: true` sent before the final ones. */
  draft?: string;
  finishReason: string;
  usage: FakeGeminiUsage;
};

export type FakeVeo = {
  bytes: Buffer;
  contentType: string;
  /** An operation reports done on this poll (1 = the first poll). */
  pollsUntilDone: number;
  /** The finished operation fails with this google.rpc.Status. */
  error?: { code: number; message: string };
  /** The finished operation has no video: all filtered. */
  filtered?: boolean;
  /** The download URI answers with a redirect to a keyless blob URL. */
  redirect?: boolean;
  /** Report this download URI instead of this server's own. */
  uri?: string;
};

type Behaviour =
  | { kind: "fail"; status: number; body: unknown }
  | { kind: "hang" }
  | { kind: "stall"; afterChunks: number }
  | { kind: "malformed" }
  | { kind: "error-event" }
  | { kind: "truncate" };

export type FakeGoogle = {
  /** Base URL without the API version, e.g. "http://127.0.0.1:54321". */
  url: string;
  requests: FakeGoogleRequest[];
  /** The text answer; change it freely between tests. */
  reply: FakeGeminiReply;
  /** The answer when the request asks for images. */
  image: FakeGeminiImages;
  video: FakeVeo;
  /** Delay between streamed events, in ms (default 0). */
  chunkDelayMs: number;
  /** The next request answers with this status and a Google-style error body. */
  failNext(
    status: number,
    error?: { message?: string; status?: string; details?: Array<Record<string, unknown>> },
  ): void;
  /** The next request is accepted and never answered. */
  hangNext(): void;
  /** The next stream sends `afterChunks` events and then hangs. */
  stallNext(afterChunks: number): void;
  /** The next stream sends one good event, then one that is not JSON. */
  malformedNext(): void;
  /** The next stream sends one good event, then `data: {"error": {...}}`. */
  errorEventNext(): void;
  /** The next stream sends one good event and closes without a finish reason. */
  truncateNext(): void;
  reset(): void;
  close(): Promise<void>;
};

/** A valid 1×1 PNG (one red pixel). */
export const ONE_PIXEL_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/** The first bytes of an MP4 (ftyp box) and some filler. */
export const FAKE_MP4 = Buffer.concat([
  Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32]),
  Buffer.from("fake-veo-video-bytes"),
]);

const STATUS_BY_CODE: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  408: "DEADLINE_EXCEEDED",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

const DEFAULT_REPLY: FakeGeminiReply = {
  text: "Hello from the fake Gemini, one word at a time.",
  finishReason: "STOP",
  usage: { promptTokenCount: 1234, candidatesTokenCount: 56, cachedContentTokenCount: 1024, thoughtsTokenCount: 100 },
};

const DEFAULT_IMAGE: FakeGeminiImages = {
  images: [ONE_PIXEL_PNG_BASE64],
  mimeType: "image/png",
  finishReason: "STOP",
  usage: { promptTokenCount: 12, candidatesTokenCount: 1290 },
};

const DEFAULT_VIDEO: FakeVeo = { bytes: FAKE_MP4, contentType: "video/mp4", pollsUntilDone: 3 };

function words(text: string): string[] {
  return text.split(/(?= )/);
}

/**
 * usageMetadata as Gemini sends it. On a streamed chunk it is the running total: the prompt, the thinking
 * once done, and the answer's tokens so far (`candidates`); with `final`, the whole answer's.
 */
function usageBody(usage: FakeGeminiUsage, final: boolean, runningCandidates?: number) {
  const candidates = final ? usage.candidatesTokenCount : (runningCandidates ?? 0);
  const thoughts = final || runningCandidates !== undefined ? (usage.thoughtsTokenCount ?? 0) : 0;
  return {
    promptTokenCount: usage.promptTokenCount,
    ...(final || runningCandidates !== undefined ? { candidatesTokenCount: candidates } : {}),
    ...(usage.cachedContentTokenCount !== undefined ? { cachedContentTokenCount: usage.cachedContentTokenCount } : {}),
    totalTokenCount: usage.promptTokenCount + candidates + thoughts,
    promptTokensDetails: [{ modality: "TEXT", tokenCount: usage.promptTokenCount }],
    ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
  };
}

/** The answer's running token count after each chunk: the whole count spread over the chunks by length. */
function runningCounts(deltas: string[], total: number): number[] {
  const length = deltas.reduce((sum, text) => sum + text.length, 0) || 1;
  let sent = 0;
  return deltas.map((text) => {
    sent += text.length;
    return Math.round((total * sent) / length);
  });
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeGoogle(): Promise<FakeGoogle> {
  const requests: FakeGoogleRequest[] = [];
  const queue: Behaviour[] = [];
  const hanging = new Set<ServerResponse>();
  const operations = new Map<string, { polls: number }>();

  const fake: FakeGoogle = {
    url: "",
    requests,
    reply: structuredClone(DEFAULT_REPLY),
    image: structuredClone(DEFAULT_IMAGE),
    video: { ...DEFAULT_VIDEO },
    chunkDelayMs: 0,
    failNext(status, error = {}) {
      queue.push({
        kind: "fail",
        status,
        body: {
          error: {
            code: status,
            message: error.message ?? "Fake failure",
            status: error.status ?? STATUS_BY_CODE[status] ?? "UNKNOWN",
            ...(error.details ? { details: error.details } : {}),
          },
        },
      });
    },
    hangNext: () => void queue.push({ kind: "hang" }),
    stallNext: (afterChunks) => void queue.push({ kind: "stall", afterChunks }),
    malformedNext: () => void queue.push({ kind: "malformed" }),
    errorEventNext: () => void queue.push({ kind: "error-event" }),
    truncateNext: () => void queue.push({ kind: "truncate" }),
    reset() {
      requests.length = 0;
      queue.length = 0;
      operations.clear();
      fake.reply = structuredClone(DEFAULT_REPLY);
      fake.image = structuredClone(DEFAULT_IMAGE);
      fake.video = { ...DEFAULT_VIDEO };
      fake.chunkDelayMs = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };

  const json = (res: ServerResponse, status: number, payload: unknown) => {
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify(payload));
  };
  const googleError = (res: ServerResponse, status: number, message: string) =>
    json(res, status, { error: { code: status, message, status: STATUS_BY_CODE[status] ?? "UNKNOWN" } });

  const responseId = () => randomUUID().replace(/-/g, "").slice(0, 22);

  function candidate(parts: unknown[], finishReason: string | null) {
    return {
      ...(parts.length > 0 ? { content: { parts, role: "model" } } : {}),
      ...(finishReason ? { finishReason } : {}),
      index: 0,
    };
  }

  function textResponse(model: string) {
    const reply = fake.reply;
    if (reply.blockReason) {
      return {
        promptFeedback: { blockReason: reply.blockReason },
        usageMetadata: usageBody(reply.usage, false),
        modelVersion: model,
        responseId: responseId(),
      };
    }
    const parts = [
      ...(reply.thoughts ?? []).map((text) => ({ text, thought: true })),
      ...(reply.text ? [{ text: reply.text }] : []),
    ];
    return {
      candidates: [candidate(parts, reply.finishReason)],
      usageMetadata: usageBody(reply.usage, true),
      modelVersion: model,
      responseId: responseId(),
    };
  }

  function imageResponse(model: string) {
    const image = fake.image;
    const parts = [
      ...(image.draft ? [{ inlineData: { mimeType: image.mimeType, data: image.draft }, thought: true }] : []),
      ...image.images.map((data) => ({ inlineData: { mimeType: image.mimeType, data } })),
    ];
    return {
      candidates: [candidate(parts, image.finishReason)],
      usageMetadata: usageBody(image.usage, true),
      modelVersion: model,
      responseId: responseId(),
    };
  }

  async function streamContent(res: ServerResponse, model: string, behaviour: Behaviour | undefined) {
    const reply = fake.reply;
    const id = responseId();
    const event = (body: Record<string, unknown>) => JSON.stringify({ ...body, modelVersion: model, responseId: id });
    const deltas = reply.chunks ?? words(reply.text);
    const running = runningCounts(deltas, reply.usage.candidatesTokenCount);
    const events = reply.blockReason
      ? [event({ promptFeedback: { blockReason: reply.blockReason }, usageMetadata: usageBody(reply.usage, false) })]
      : [
          ...(reply.thoughts ?? []).map((text) =>
            event({
              candidates: [candidate([{ text, thought: true }], null)],
              usageMetadata: usageBody(reply.usage, false),
            }),
          ),
          ...deltas.map((text, i) => {
            const last = i === deltas.length - 1;
            return event({
              candidates: [candidate([{ text }], last ? reply.finishReason : null)],
              usageMetadata: usageBody(reply.usage, last, running[i]),
            });
          }),
        ];

    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    });
    const send = async (data: string) => {
      if (res.destroyed) return;
      res.write(`data: ${data}\r\n\r\n`);
      if (fake.chunkDelayMs > 0) await wait(fake.chunkDelayMs);
    };

    if (behaviour?.kind === "stall") {
      for (const line of events.slice(0, behaviour.afterChunks)) await send(line);
      hanging.add(res);
      return;
    }
    if (behaviour?.kind === "malformed") {
      await send(events[0]!);
      await send('{"candidates": [{"content": {"parts": [{"text": "unterminated');
      res.end();
      return;
    }
    if (behaviour?.kind === "error-event") {
      await send(events[0]!);
      await send(
        JSON.stringify({ error: { code: 500, message: "An internal error has occurred.", status: "INTERNAL" } }),
      );
      res.end();
      return;
    }
    if (behaviour?.kind === "truncate") {
      await send(events[0]!);
      res.end();
      return;
    }
    for (const line of events) await send(line);
    res.end();
  }

  function operationBody(model: string, id: string) {
    const name = `models/${model}/operations/${id}`;
    const operation = operations.get(id)!;
    operation.polls++;
    if (operation.polls < fake.video.pollsUntilDone) return { name };
    if (fake.video.error) return { name, done: true, error: fake.video.error };
    const generateVideoResponse = fake.video.filtered
      ? {
          raiMediaFilteredCount: 1,
          raiMediaFilteredReasons: ["The prompt could not be submitted (fake filter)."],
        }
      : {
          generatedSamples: [{ video: { uri: fake.video.uri ?? `${fake.url}/v1beta/files/${id}:download?alt=media` } }],
        };
    return {
      name,
      done: true,
      response: {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        generateVideoResponse,
      },
    };
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (part: Buffer) => chunks.push(part));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw string
      }
      const url = new URL(req.url ?? "/", "http://fake");
      const path = decodeURIComponent(url.pathname);
      const record: FakeGoogleRequest = {
        method: req.method ?? "GET",
        path,
        query: url.searchParams,
        headers: req.headers,
        body,
        raw,
        closedEarly: false,
      };
      requests.push(record);
      res.on("close", () => {
        hanging.delete(res);
        if (!res.writableEnded) record.closedEarly = true;
      });

      const behaviour = queue.shift();
      if (behaviour?.kind === "fail") return json(res, behaviour.status, behaviour.body);
      if (behaviour?.kind === "hang") {
        hanging.add(res);
        return;
      }

      // The blob a download may redirect to: signed, so it needs no key (like Google's storage URLs).
      const blob = /^\/blobs\/([\w-]+)$/.exec(path);
      if (req.method === "GET" && blob) {
        res.writeHead(200, { "content-type": fake.video.contentType });
        res.end(fake.video.bytes);
        return;
      }
      if (!path.startsWith("/v1beta/")) return googleError(res, 404, "Not found.");
      if (req.headers["x-goog-api-key"] === undefined) {
        return googleError(res, 403, "Method doesn't allow unregistered callers.");
      }

      const call = /^\/v1beta\/models\/([\w.-]+):(generateContent|streamGenerateContent|predictLongRunning)$/.exec(
        path,
      );
      if (req.method === "POST" && call) {
        const [, model, method] = call as unknown as [string, string, string];
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const b = body as any;
        if (method === "streamGenerateContent") {
          if (url.searchParams.get("alt") !== "sse") return googleError(res, 400, "Streaming needs alt=sse here.");
          void streamContent(res, model, behaviour);
          return;
        }
        if (method === "generateContent") {
          const modalities: unknown = b?.generationConfig?.responseModalities;
          const wantsImage = Array.isArray(modalities) && modalities.includes("IMAGE");
          return json(res, 200, wantsImage ? imageResponse(model) : textResponse(model));
        }
        const id = randomUUID().replace(/-/g, "").slice(0, 12);
        operations.set(id, { polls: 0 });
        return json(res, 200, { name: `models/${model}/operations/${id}` });
      }
      const operation = /^\/v1beta\/models\/([\w.-]+)\/operations\/(\w+)$/.exec(path);
      if (req.method === "GET" && operation) {
        const [, model, id] = operation as unknown as [string, string, string];
        if (!operations.has(id)) return googleError(res, 404, "Operation not found.");
        return json(res, 200, operationBody(model, id));
      }
      const download = /^\/v1beta\/files\/(\w+):download$/.exec(path);
      if (req.method === "GET" && download) {
        if (url.searchParams.get("alt") !== "media") return googleError(res, 400, "alt=media is required.");
        if (fake.video.redirect) {
          res.writeHead(302, { location: `/blobs/${download[1]}` });
          res.end();
          return;
        }
        res.writeHead(200, { "content-type": fake.video.contentType });
        res.end(fake.video.bytes);
        return;
      }
      return googleError(res, 404, `Unknown path ${path}`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  return fake;
}
