import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for the Anthropic HTTP API, speaking its real wire format, for adapter tests.
// Point an SDK client at `url` (no /v1: the SDK adds it). Serves:
//   POST /v1/messages   a Message as JSON, or with `"stream": true` named SSE events
//                       (`event: <type>\ndata: {...}\n\n`): message_start, content_block_start, ping,
//                       content_block_delta…, content_block_stop, message_delta, message_stop.
// Errors are `{"type":"error","error":{"type","message"},"request_id"}` with a `request-id` header,
// as Anthropic sends them; a request without credentials gets a 401. Every request is recorded. The
// next request(s) can be told to fail, hang, stall mid-stream, send a malformed stream, an error
// event, or end a stream early.

export type FakeAnthropicRequest = {
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

export type FakeAnthropicUsage = {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
};

export type FakeAnthropicReply = {
  /** Streamed as these text deltas (default: `text` split into words, spaces kept). */
  chunks?: string[];
  text: string;
  /** "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "pause_turn" | "refusal" | … */
  stopReason: string;
  usage: FakeAnthropicUsage;
};

type Behaviour =
  | { kind: "fail"; status: number; body: unknown }
  | { kind: "hang" }
  | { kind: "stall"; afterEvents: number }
  | { kind: "malformed" }
  | { kind: "error-event"; type: string; message: string }
  | { kind: "truncate" };

export type FakeAnthropic = {
  /** Base URL without /v1, e.g. "http://127.0.0.1:54321". */
  url: string;
  requests: FakeAnthropicRequest[];
  /** The answer to /v1/messages; change it freely between tests. */
  reply: FakeAnthropicReply;
  /** Delay between streamed events, in ms (default 0). */
  chunkDelayMs: number;
  /**
   * The next request answers with this status and an Anthropic error body. `type` defaults to the
   * one Anthropic uses for the status (e.g. 429 → rate_limit_error, 529 → overloaded_error).
   */
  failNext(status: number, type?: string, error?: { message?: string; errorCode?: string }): void;
  /** The next request is accepted and never answered. */
  hangNext(): void;
  /** The next stream sends its first `afterEvents` events (message_start counts as one) and then hangs. */
  stallNext(afterEvents: number): void;
  /** The next stream sends message_start, content_block_start and one delta, then data that is not JSON. */
  malformedNext(): void;
  /** The next stream sends message_start, content_block_start and one delta, then `event: error`. */
  errorEventNext(type?: string, message?: string): void;
  /** The next stream sends message_start, content_block_start and one delta, then closes (no message_stop). */
  truncateNext(): void;
  reset(): void;
  close(): Promise<void>;
};

const DEFAULT_REPLY: FakeAnthropicReply = {
  text: "Hello from the fake upstream, one word at a time.",
  stopReason: "end_turn",
  usage: { input_tokens: 200, output_tokens: 56, cache_read_input_tokens: 1000, cache_creation_input_tokens: 34 },
};

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

function words(text: string): string[] {
  return text.split(/(?= )/);
}

/** Anthropic-looking ids: a prefix and base62-ish characters. */
function id(prefix: string): string {
  return `${prefix}_01${randomBytes(18).toString("base64url").replace(/[-_]/g, "x")}`;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function usageBody(usage: FakeAnthropicUsage, outputTokens = usage.output_tokens) {
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return {
    input_tokens: usage.input_tokens,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: "standard",
    inference_geo: "us",
    speed: "standard",
  };
}

function stopDetails(stopReason: string) {
  return stopReason === "refusal" ? { type: "refusal", category: null, explanation: null } : null;
}

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: FakeAnthropicRequest[] = [];
  const queue: Behaviour[] = [];
  const hanging = new Set<ServerResponse>();

  const fake: FakeAnthropic = {
    url: "",
    requests,
    reply: structuredClone(DEFAULT_REPLY),
    chunkDelayMs: 0,
    failNext(status, type, error = {}) {
      queue.push({
        kind: "fail",
        status,
        body: {
          type: "error",
          error: {
            type: type ?? ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error"),
            message: error.message ?? "Fake failure",
            ...(error.errorCode ? { details: { error_code: error.errorCode } } : {}),
          },
        },
      });
    },
    hangNext: () => void queue.push({ kind: "hang" }),
    stallNext: (afterEvents) => void queue.push({ kind: "stall", afterEvents }),
    malformedNext: () => void queue.push({ kind: "malformed" }),
    errorEventNext: (type = "api_error", message = "Internal server error") =>
      void queue.push({ kind: "error-event", type, message }),
    truncateNext: () => void queue.push({ kind: "truncate" }),
    reset() {
      requests.length = 0;
      queue.length = 0;
      fake.reply = structuredClone(DEFAULT_REPLY);
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
    const requestId = id("req");
    const body = status >= 400 ? { ...(payload as object), request_id: requestId } : payload;
    res.writeHead(status, { "content-type": "application/json", "request-id": requestId });
    res.end(JSON.stringify(body));
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function streamMessage(res: ServerResponse, body: any, behaviour: Behaviour | undefined) {
    const reply = fake.reply;
    const event = (type: string, data: Record<string, unknown>) => ({ type, data: JSON.stringify({ type, ...data }) });
    const deltas = (reply.chunks ?? words(reply.text)).map((text) =>
      event("content_block_delta", { index: 0, delta: { type: "text_delta", text } }),
    );
    const start = [
      event("message_start", {
        message: {
          id: id("msg"),
          type: "message",
          role: "assistant",
          model: body.model,
          content: [],
          container: null,
          diagnostics: null,
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          // Output so far is 1 token, as Anthropic reports it; message_delta carries the final count.
          usage: usageBody(reply.usage, 1),
        },
      }),
      event("content_block_start", { index: 0, content_block: { type: "text", text: "", citations: null } }),
    ];
    const events = [
      ...start,
      event("ping", {}),
      ...deltas,
      event("content_block_stop", { index: 0 }),
      event("message_delta", {
        delta: {
          stop_reason: reply.stopReason,
          stop_sequence: null,
          stop_details: stopDetails(reply.stopReason),
          container: null,
        },
        usage: {
          input_tokens: reply.usage.input_tokens,
          cache_creation_input_tokens: reply.usage.cache_creation_input_tokens ?? 0,
          cache_read_input_tokens: reply.usage.cache_read_input_tokens ?? 0,
          output_tokens: reply.usage.output_tokens,
          output_tokens_details: null,
          server_tool_use: null,
        },
      }),
      event("message_stop", {}),
    ];

    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "request-id": id("req"),
    });
    const send = async ({ type, data }: { type: string; data: string }) => {
      if (res.destroyed) return;
      res.write(`event: ${type}\ndata: ${data}\n\n`);
      if (fake.chunkDelayMs > 0) await wait(fake.chunkDelayMs);
    };
    const opening = [...start, deltas[0] ?? event("ping", {})];

    if (behaviour?.kind === "stall") {
      for (const item of events.slice(0, behaviour.afterEvents)) await send(item);
      hanging.add(res);
      return;
    }
    if (behaviour?.kind === "malformed") {
      for (const item of opening) await send(item);
      await send({ type: "content_block_delta", data: '{"type": "content_block_delta", "index": 0, "delta": {"te' });
      res.end();
      return;
    }
    if (behaviour?.kind === "error-event") {
      for (const item of opening) await send(item);
      await send({
        type: "error",
        data: JSON.stringify({
          type: "error",
          error: { type: behaviour.type, message: behaviour.message },
          request_id: id("req"),
        }),
      });
      res.end();
      return;
    }
    if (behaviour?.kind === "truncate") {
      for (const item of opening) await send(item);
      res.end();
      return;
    }
    for (const item of events) await send(item);
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
      const record: FakeAnthropicRequest = {
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
      if (!req.headers["x-api-key"] && !req.headers.authorization) {
        return json(res, 401, {
          type: "error",
          error: { type: "authentication_error", message: "x-api-key or Authorization header is required" },
        });
      }
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const b = body as any;

      if (req.method === "POST" && path === "/v1/messages") {
        if (b?.stream === true) {
          void streamMessage(res, b, behaviour);
          return;
        }
        const reply = fake.reply;
        return json(res, 200, {
          id: id("msg"),
          type: "message",
          role: "assistant",
          model: b?.model,
          content: [{ type: "text", text: reply.text, citations: null }],
          container: null,
          diagnostics: null,
          stop_reason: reply.stopReason,
          stop_sequence: null,
          stop_details: stopDetails(reply.stopReason),
          usage: usageBody(reply.usage),
        });
      }
      return json(res, 404, { type: "error", error: { type: "not_found_error", message: `Unknown path ${path}` } });
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
