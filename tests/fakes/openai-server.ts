import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for the OpenAI HTTP API, speaking its real wire format, for adapter tests.
// Point an SDK client at `url` (it already ends in /v1). Serves:
//   POST /v1/chat/completions     JSON, or SSE (`data: {...}\n\n` chunks, a usage chunk when
//                                 stream_options.include_usage is set, then `data: [DONE]`)
//   POST /v1/images/generations   { created, data: [{ b64_json }], usage? }
//   POST /v1/images/edits         the same answer, for a multipart request with image files
//   POST /v1/audio/speech         the audio bytes
// Every request is recorded. The next request(s) can be told to fail, hang, stall mid-stream,
// send a malformed stream, an error event, or end a stream early.

export type FakeOpenAIRequest = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (or the raw string when it is not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
  /** True once the client went away before the response was complete (abort, timeout). */
  closedEarly: boolean;
};

export type FakeChatReply = {
  /** Streamed as these deltas (default: `text` split into words, spaces kept). */
  chunks?: string[];
  text: string;
  finishReason: string;
  usage: { prompt_tokens: number; completion_tokens: number; cached_tokens?: number };
};

export type FakeImageUsage = {
  input_tokens: number;
  output_tokens: number;
  input_tokens_details?: { text_tokens: number; image_tokens: number };
};

type Behaviour =
  | { kind: "fail"; status: number; body: unknown }
  | { kind: "hang" }
  | { kind: "stall"; afterChunks: number }
  | { kind: "malformed" }
  | { kind: "error-event" }
  | { kind: "truncate" };

export type FakeOpenAI = {
  /** Base URL including /v1, e.g. "http://127.0.0.1:54321/v1". */
  url: string;
  requests: FakeOpenAIRequest[];
  /** The chat answer; change it freely between tests. */
  chat: FakeChatReply;
  /** Base64 images returned by /images/generations (one per requested image, cycling). */
  images: string[];
  /**
   * The token usage /images/generations and /images/edits report (GPT image models do; DALL·E does not).
   * input_tokens_details defaults to all text tokens; an edit's pictures are counted in image_tokens.
   */
  imageUsage: FakeImageUsage | undefined;
  speech: { bytes: Buffer; contentType: string };
  /** Delay between streamed chunks, in ms (default 0). */
  chunkDelayMs: number;
  /**
   * Behave like an OpenAI-compatible server that ignores `stream_options.include_usage` (older vLLM,
   * some proxies): no usage chunk, and no usage field on the chunks.
   */
  ignoreIncludeUsage: boolean;
  /** The next request answers with this status and OpenAI-style error body. */
  failNext(status: number, error?: { message?: string; type?: string; code?: string | null }): void;
  /** The next request is accepted and never answered. */
  hangNext(): void;
  /** The next chat stream sends `afterChunks` chunks (the role chunk counts as one) and then hangs. */
  stallNext(afterChunks: number): void;
  /** The next chat stream sends one good chunk, then a line that is not JSON. */
  malformedNext(): void;
  /** The next chat stream sends one good chunk, then `data: {"error": {...}}`. */
  errorEventNext(): void;
  /** The next chat stream sends one good chunk and closes without finish reason, usage or [DONE]. */
  truncateNext(): void;
  reset(): void;
  close(): Promise<void>;
};

/** A valid 1×1 PNG (one red pixel). */
export const ONE_PIXEL_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

const DEFAULT_CHAT: FakeChatReply = {
  text: "Hello from the fake upstream, one word at a time.",
  finishReason: "stop",
  usage: { prompt_tokens: 1234, completion_tokens: 56, cached_tokens: 1024 },
};

function words(text: string): string[] {
  return text.split(/(?= )/);
}

function usageBody(usage: FakeChatReply["usage"]) {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: FakeOpenAIRequest[] = [];
  const queue: Behaviour[] = [];
  const hanging = new Set<ServerResponse>();

  const fake: FakeOpenAI = {
    url: "",
    requests,
    chat: structuredClone(DEFAULT_CHAT),
    images: [ONE_PIXEL_PNG_BASE64],
    imageUsage: undefined,
    speech: { bytes: Buffer.from("ID3\u0004fake-mp3-bytes\u0000\u00ff", "latin1"), contentType: "audio/mpeg" },
    chunkDelayMs: 0,
    ignoreIncludeUsage: false,
    failNext(status, error = {}) {
      queue.push({
        kind: "fail",
        status,
        body: {
          error: {
            message: error.message ?? "Fake failure",
            type: error.type ?? (status >= 500 ? "server_error" : "invalid_request_error"),
            param: null,
            code: error.code === undefined ? null : error.code,
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
      fake.chat = structuredClone(DEFAULT_CHAT);
      fake.images = [ONE_PIXEL_PNG_BASE64];
      fake.imageUsage = undefined;
      fake.chunkDelayMs = 0;
      fake.ignoreIncludeUsage = false;
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
    res.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${randomUUID()}` });
    res.end(JSON.stringify(payload));
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function streamChat(res: ServerResponse, body: any, behaviour: Behaviour | undefined) {
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const includeUsage = body?.stream_options?.include_usage === true && !fake.ignoreIncludeUsage;
    const chunk = (choices: unknown[], usage?: unknown) =>
      JSON.stringify({
        id,
        object: "chat.completion.chunk",
        created,
        model: body.model,
        service_tier: "default",
        system_fingerprint: "fp_fake",
        choices,
        ...(includeUsage ? { usage: usage ?? null } : {}),
      });
    const delta = (content: Record<string, unknown>, finish: string | null = null) =>
      chunk([{ index: 0, delta: content, logprobs: null, finish_reason: finish }]);

    const reply = fake.chat;
    const lines = [
      delta({ role: "assistant", content: "", refusal: null }),
      ...(reply.chunks ?? words(reply.text)).map((text) => delta({ content: text })),
      delta({}, reply.finishReason),
      ...(includeUsage ? [chunk([], usageBody(reply.usage))] : []),
    ];

    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-request-id": `req_${randomUUID()}`,
    });
    const send = async (data: string) => {
      if (res.destroyed) return;
      res.write(`data: ${data}\n\n`);
      if (fake.chunkDelayMs > 0) await wait(fake.chunkDelayMs);
    };

    if (behaviour?.kind === "stall") {
      for (const line of lines.slice(0, behaviour.afterChunks)) await send(line);
      hanging.add(res);
      return;
    }
    if (behaviour?.kind === "malformed") {
      await send(lines[0]!);
      await send(lines[1]!);
      await send('{"id": "chatcmpl-broken", "choices": [{"delta": {"content": "unterminated');
      res.end();
      return;
    }
    if (behaviour?.kind === "error-event") {
      await send(lines[0]!);
      await send(lines[1]!);
      await send(
        JSON.stringify({ error: { message: "The server had an error", type: "server_error", code: "server_error" } }),
      );
      res.end();
      return;
    }
    if (behaviour?.kind === "truncate") {
      await send(lines[0]!);
      await send(lines[1]!);
      res.end();
      return;
    }
    for (const line of lines) await send(line);
    await send("[DONE]");
    res.end();
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
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const record: FakeOpenAIRequest = {
        method: req.method ?? "GET",
        path,
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
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const b = body as any;

      if (req.method === "POST" && path === "/v1/chat/completions") {
        if (b?.stream === true) {
          void streamChat(res, b, behaviour);
          return;
        }
        return json(res, 200, {
          id: `chatcmpl-${randomUUID()}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: b?.model,
          choices: [
            {
              index: 0,
              message: { role: "assistant", content: fake.chat.text, refusal: null, annotations: [] },
              logprobs: null,
              finish_reason: fake.chat.finishReason,
            },
          ],
          usage: usageBody(fake.chat.usage),
          service_tier: "default",
          system_fingerprint: "fp_fake",
        });
      }
      if (req.method === "POST" && (path === "/v1/images/generations" || path === "/v1/images/edits")) {
        // Edits arrive as multipart/form-data (kept in `raw`); generations as JSON.
        const multipartN = /name="n"\r\n\r\n(\d+)/.exec(raw)?.[1];
        const n = typeof b?.n === "number" ? b.n : multipartN ? Number(multipartN) : 1;
        return json(res, 200, {
          created: Math.floor(Date.now() / 1000),
          data: Array.from({ length: n }, (_, i) => ({ b64_json: fake.images[i % fake.images.length] })),
          ...(fake.imageUsage
            ? {
                usage: {
                  input_tokens: fake.imageUsage.input_tokens,
                  input_tokens_details: fake.imageUsage.input_tokens_details ?? {
                    text_tokens: fake.imageUsage.input_tokens,
                    image_tokens: 0,
                  },
                  output_tokens: fake.imageUsage.output_tokens,
                  total_tokens: fake.imageUsage.input_tokens + fake.imageUsage.output_tokens,
                },
              }
            : {}),
        });
      }
      if (req.method === "POST" && path === "/v1/audio/speech") {
        res.writeHead(200, { "content-type": fake.speech.contentType, "transfer-encoding": "chunked" });
        res.end(fake.speech.bytes);
        return;
      }
      return json(res, 404, {
        error: { message: `Unknown path ${path}`, type: "invalid_request_error", param: null, code: "unknown_url" },
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}/v1`;
  return fake;
}
