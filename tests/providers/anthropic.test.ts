import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createAnthropic, DEFAULT_MAX_OUTPUT_TOKENS } from "#providers/anthropic/index";
import { ProviderError, type FinishReason, type TextRequest, type TextStreamEvent, type Usage } from "#providers/types";
import { startFakeAnthropic, type FakeAnthropic } from "#tests/fakes/anthropic-server";

// The Anthropic adapter end to end through the official SDK, against a local server that speaks
// Anthropic's wire format. Nothing is mocked between the adapter and the socket.

let fake: FakeAnthropic;
const API_KEY = "sk-ant-test-0123456789";
/** A valid 1×1 PNG (one red pixel). */
const ONE_PIXEL_PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());
afterEach(() => vi.restoreAllMocks());

function anthropic() {
  return createAnthropic({ apiKey: API_KEY, baseURL: fake.url });
}

function claude() {
  return anthropic().text!("claude-sonnet-5-5");
}

function ask(prompt: string, extra: Partial<TextRequest> = {}): TextRequest {
  return {
    model: "claude-sonnet-5-5",
    messages: [{ role: "user", content: [{ type: "text", text: prompt }] }],
    ...extra,
  };
}

async function collect(events: AsyncIterable<TextStreamEvent>) {
  const deltas: string[] = [];
  let finish: Extract<TextStreamEvent, { type: "finish" }> | undefined;
  /** Every event in order, text as "text:<delta>", usage as its outputTokens: where usage came. */
  const order: string[] = [];
  const usages: Usage[] = [];
  for await (const event of events) {
    if (event.type === "text-delta") {
      deltas.push(event.text);
      order.push(`text:${event.text}`);
    } else if (event.type === "usage") {
      usages.push(event.usage);
      order.push(`usage:${event.usage.outputTokens ?? "-"}`);
    } else finish = event;
  }
  return { deltas, finish, usages, order };
}

async function failure(work: () => Promise<unknown>): Promise<ProviderError> {
  const error = await work().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

const consume = (events: AsyncIterable<TextStreamEvent>) => () => collect(events);

/** Sets environment variables for the duration of `work`, then puts the old values back. */
async function withEnv(values: Record<string, string>, work: () => Promise<void>) {
  const previous = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  try {
    await work();
  } finally {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

describe("anthropic adapter: provider", () => {
  it("is listed without a key but not configured, and never calls upstream without one", async () => {
    const keyless = createAnthropic({ baseURL: fake.url });
    expect(keyless).toMatchObject({ id: "anthropic", label: "Anthropic", isConfigured: false });
    expect(keyless.image).toBeUndefined();
    expect(keyless.speech).toBeUndefined();
    expect(keyless.video).toBeUndefined();
    expect(anthropic().isConfigured).toBe(true);

    // Not even a key in the environment is picked up.
    await withEnv({ ANTHROPIC_API_KEY: "sk-ant-from-env", ANTHROPIC_AUTH_TOKEN: "token-from-env" }, async () => {
      const model = keyless.text!("claude-sonnet-5-5");
      expect(model).toMatchObject({ provider: "anthropic", modelId: "claude-sonnet-5-5" });
      expect(await failure(() => model.generate(ask("Hi")))).toMatchObject({ kind: "auth", retryable: false });
      expect((await failure(consume(model.stream(ask("Hi"))))).kind).toBe("auth");
    });
    expect(fake.requests).toHaveLength(0);
  });
});

describe("anthropic adapter: text", () => {
  it("streams deltas that concatenate to the full text, with usage normalized exactly", async () => {
    fake.reply = {
      text: "Streaming works, token by token.",
      chunks: ["Stream", "ing", " works", ",", " token", " by", " token", "."],
      stopReason: "end_turn",
      usage: { input_tokens: 512, output_tokens: 9, cache_read_input_tokens: 1536, cache_creation_input_tokens: 100 },
    };
    const { deltas, finish } = await collect(claude().stream(ask("Say something"), { timeoutMs: 5_000 }));
    expect(deltas).toEqual(fake.reply.chunks);
    expect(deltas.join("")).toBe("Streaming works, token by token.");
    // inputTokens is the whole prompt: uncached 512 + cache reads 1536 + cache writes 100.
    expect(finish).toEqual({
      type: "finish",
      finishReason: "stop",
      usage: { inputTokens: 2148, outputTokens: 9, cachedInputTokens: 1536 },
    });

    const [request] = fake.requests;
    expect(request).toMatchObject({ method: "POST", path: "/v1/messages" });
    // SDK 1.x sends the key as a bearer token (API version 2026-10-21), not as x-api-key.
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers).not.toHaveProperty("x-api-key");
    expect(request!.headers["anthropic-version"]).toBe("2026-10-21");
    expect(request!.headers["x-stainless-retry-count"]).toBe("0");
    expect(request!.body).toEqual({
      model: "claude-sonnet-5-5",
      max_tokens: DEFAULT_MAX_OUTPUT_TOKENS,
      messages: [{ role: "user", content: "Say something" }],
      stream: true,
    });
  });

  it("reports usage as it streams: the prompt at message_start, the answer's count at message_delta", async () => {
    fake.reply = {
      text: "One two",
      chunks: ["One", " two"],
      stopReason: "end_turn",
      usage: { input_tokens: 512, output_tokens: 2, cache_read_input_tokens: 1536 },
    };
    const { order, usages } = await collect(claude().stream(ask("Count")));
    expect(order).toEqual(["usage:1", "text:One", "text: two", "usage:2"]);
    expect(usages[0]).toEqual({ inputTokens: 2048, outputTokens: 1, cachedInputTokens: 1536 });
    expect(usages[1]).toEqual({ inputTokens: 2048, outputTokens: 2, cachedInputTokens: 1536 });
  });

  it("reports usage without cache fields when there was no caching", async () => {
    fake.reply = { text: "Hi", stopReason: "end_turn", usage: { input_tokens: 12, output_tokens: 2 } };
    const { finish } = await collect(claude().stream(ask("Hi")));
    expect(finish?.usage).toEqual({ inputTokens: 12, outputTokens: 2, cachedInputTokens: 0 });
  });

  it("generates without streaming, sending max_tokens but never temperature", async () => {
    fake.reply = {
      text: "Cut short",
      stopReason: "max_tokens",
      usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 },
    };
    const result = await claude().generate(ask("Hi", { maxOutputTokens: 3, temperature: 0.2 }));
    expect(result).toEqual({
      text: "Cut short",
      finishReason: "length",
      usage: { inputTokens: 16, outputTokens: 3, cachedInputTokens: 4 },
    });
    // API version 2026-10-21 answers 400 to any temperature, so it is not sent.
    expect(fake.requests[0]!.body).toEqual({
      model: "claude-sonnet-5-5",
      max_tokens: 3,
      messages: [{ role: "user", content: "Hi" }],
      stream: false,
    });
  });

  it("maps every stop reason, streamed or not", async () => {
    const expected: Array<[string, FinishReason]> = [
      ["end_turn", "stop"],
      ["stop_sequence", "stop"],
      ["max_tokens", "length"],
      ["model_context_window_exceeded", "length"],
      ["tool_use", "tool-calls"],
      ["refusal", "content-filter"],
      ["pause_turn", "other"],
      ["something_new", "other"],
    ];
    for (const [stopReason, finishReason] of expected) {
      fake.reply = { ...fake.reply, stopReason };
      expect((await claude().generate(ask("Hi"))).finishReason, stopReason).toBe(finishReason);
      expect((await collect(claude().stream(ask("Hi")))).finish?.finishReason, stopReason).toBe(finishReason);
    }
  });

  it("sends system prompts as `system`, images and PDFs as base64 blocks and text files inline", async () => {
    const png = Buffer.from(ONE_PIXEL_PNG_BASE64, "base64");
    const pdf = Buffer.from("%PDF-1.4\n%fake\n");
    await claude().generate({
      model: "claude-sonnet-5-5",
      messages: [
        { role: "system", content: [{ type: "text", text: "You describe files." }] },
        { role: "system", content: [{ type: "text", text: "Be brief." }] },
        { role: "user", content: [{ type: "text", text: "Hello" }] },
        { role: "assistant", content: [{ type: "text", text: "Hi! Send them over." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "file", mediaType: "image/png", data: new Uint8Array(png) },
            { type: "file", mediaType: "IMAGE/JPEG; q=1", data: new Uint8Array(png) },
            { type: "file", mediaType: "application/pdf", data: new Uint8Array(pdf), filename: "report.pdf" },
            { type: "file", mediaType: "text/csv", data: new TextEncoder().encode("a,b\n1,2\n"), filename: "data.csv" },
            { type: "file", mediaType: "application/json", data: new TextEncoder().encode('{"é":1}') },
          ],
        },
      ],
    });
    const body = fake.requests[0]!.body;
    expect(body.system).toBe("You describe files.\n\nBe brief.");
    expect(body.messages).toEqual([
      { role: "user", content: "Hello" },
      { role: "assistant", content: "Hi! Send them over." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: ONE_PIXEL_PNG_BASE64 } },
          { type: "image", source: { type: "base64", media_type: "image/jpeg", data: ONE_PIXEL_PNG_BASE64 } },
          {
            type: "document",
            source: { type: "base64", media_type: "application/pdf", data: pdf.toString("base64") },
            title: "report.pdf",
          },
          { type: "text", text: "data.csv:\n\na,b\n1,2\n" },
          { type: "text", text: 'Attached file:\n\n{"é":1}' },
        ],
      },
    ]);
  });

  it("refuses what Anthropic cannot take, before calling upstream", async () => {
    const model = claude();
    const zip = await failure(() =>
      model.generate({
        model: "claude-sonnet-5-5",
        messages: [
          { role: "user", content: [{ type: "file", mediaType: "application/zip", data: new Uint8Array([80, 75]) }] },
        ],
      }),
    );
    expect(zip).toMatchObject({ kind: "invalid_request", retryable: false });
    expect(zip.userMessage).toBe("This model cannot read that type of file.");

    const streamed = await failure(
      consume(
        model.stream({
          model: "claude-sonnet-5-5",
          messages: [
            { role: "user", content: [{ type: "file", mediaType: "audio/mpeg", data: new Uint8Array([73, 68, 51]) }] },
          ],
        }),
      ),
    );
    expect(streamed.userMessage).toBe("This model cannot read that type of file.");

    const notUtf8 = await failure(() =>
      model.generate({
        model: "claude-sonnet-5-5",
        messages: [
          {
            role: "user",
            content: [{ type: "file", mediaType: "text/plain", data: new Uint8Array([0xff, 0xfe, 0x41]) }],
          },
        ],
      }),
    );
    expect(notUtf8).toMatchObject({
      kind: "invalid_request",
      message: "anthropic: invalid_request (text file is not UTF-8)",
    });

    const fileFromAssistant = await failure(() =>
      model.generate({
        model: "claude-sonnet-5-5",
        messages: [
          { role: "user", content: [{ type: "text", text: "Hi" }] },
          { role: "assistant", content: [{ type: "file", mediaType: "application/pdf", data: new Uint8Array([37]) }] },
        ],
      }),
    );
    expect(fileFromAssistant.kind).toBe("invalid_request");

    const onlySystem = await failure(() =>
      model.generate({
        model: "claude-sonnet-5-5",
        messages: [{ role: "system", content: [{ type: "text", text: "x" }] }],
      }),
    );
    expect(onlySystem.message).toBe("anthropic: invalid_request (no messages)");
    expect(fake.requests).toHaveLength(0);
  });
});

describe("anthropic adapter: errors", () => {
  const SECRET = "my secret prompt about Alice";

  const cases: Array<{ status: number; type: string; kind: ProviderError["kind"]; retryable: boolean }> = [
    { status: 400, type: "invalid_request_error", kind: "invalid_request", retryable: false },
    { status: 401, type: "authentication_error", kind: "auth", retryable: false },
    { status: 402, type: "billing_error", kind: "rate_limited", retryable: false },
    { status: 403, type: "permission_error", kind: "auth", retryable: false },
    { status: 404, type: "not_found_error", kind: "invalid_request", retryable: false },
    { status: 413, type: "request_too_large", kind: "invalid_request", retryable: false },
    { status: 429, type: "rate_limit_error", kind: "rate_limited", retryable: true },
    { status: 500, type: "api_error", kind: "upstream", retryable: true },
    { status: 504, type: "timeout_error", kind: "upstream", retryable: true },
    { status: 529, type: "overloaded_error", kind: "rate_limited", retryable: true },
  ];

  for (const { status, type, kind, retryable } of cases) {
    it(`maps ${status} ${type} to ${kind}, without retrying or echoing upstream text`, async () => {
      const model = claude();
      for (const run of [() => model.generate(ask(SECRET)), consume(model.stream(ask(SECRET)))]) {
        fake.failNext(status, type, { message: `Rejected: "${SECRET}"`, errorCode: "some_detail" });
        const error = await failure(run);
        expect(error).toMatchObject({ kind, retryable, provider: "anthropic", status, code: type });
        expect(error.requestId).toMatch(/^req_/);
        expect(error.message).toBe(`anthropic: ${kind} (${status}, ${type})`);
        expect(error.message).not.toContain("secret");
        expect(error.userMessage).not.toContain("secret");
        expect(JSON.stringify(error)).not.toContain("secret");
        expect(error).not.toHaveProperty("cause");
      }
      expect(fake.requests).toHaveLength(2); // maxRetries: 0 — one request per call, even for 429/5xx
    });
  }

  it("times out a hanging server after timeoutMs", async () => {
    fake.hangNext();
    const started = Date.now();
    const error = await failure(() => claude().generate(ask("Hello"), { timeoutMs: 300 }));
    expect(error).toMatchObject({ kind: "timeout", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);

    fake.hangNext();
    expect((await failure(consume(claude().stream(ask("Hello"), { timeoutMs: 300 })))).kind).toBe("timeout");
    await vi.waitFor(() => expect(fake.requests.every((request) => request.closedEarly)).toBe(true));
  });

  it("times out a stream that stalls after its first events (the SDK's own timeout stops at the headers)", async () => {
    fake.reply = { ...fake.reply, chunks: ["Hello", " there"] };
    fake.stallNext(4); // message_start, content_block_start, ping, "Hello"
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of claude().stream(ask("Hello"), { timeoutMs: 400 })) {
        if (event.type === "text-delta") seen.push(event.text);
      }
    });
    expect(error.kind).toBe("timeout");
    expect(seen).toEqual(["Hello"]);
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));
  });

  it("aborts mid-stream: the iteration throws aborted and the upstream request is cancelled", async () => {
    fake.reply = { ...fake.reply, chunks: ["Hello", " there", " friend"] };
    fake.stallNext(5);
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of claude().stream(ask("Hello"), { signal: controller.signal })) {
        if (event.type === "text-delta") seen.push(event.text);
        if (seen.length === 1) controller.abort();
      }
    });
    expect(error).toMatchObject({ kind: "aborted", retryable: false });
    expect(seen).toEqual(["Hello"]);
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));

    const already = await failure(() => claude().generate(ask("x"), { signal: AbortSignal.abort() }));
    expect(already.kind).toBe("aborted");
    expect((await failure(consume(claude().stream(ask("x"), { signal: AbortSignal.abort() })))).kind).toBe("aborted");
    expect(fake.requests).toHaveLength(1);
  });

  it("aborts a non-streaming call in flight", async () => {
    fake.hangNext();
    const controller = new AbortController();
    const pending = failure(() => claude().generate(ask("Hello"), { signal: controller.signal }));
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
    controller.abort();
    expect((await pending).kind).toBe("aborted");
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));
  });

  it("cancels the upstream request when the consumer stops reading", async () => {
    fake.reply = { ...fake.reply, chunks: ["Hello", " there", " friend"] };
    fake.stallNext(5);
    const seen: string[] = [];
    for await (const event of claude().stream(ask("Hello"))) {
      if (event.type !== "text-delta") continue; // message_start's usage comes first
      seen.push(event.text);
      break;
    }
    expect(seen).toEqual(["Hello"]);
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));
  });

  it("turns a malformed stream into an upstream error, without logging its content", async () => {
    const logged = [
      vi.spyOn(console, "error").mockImplementation(() => {}),
      vi.spyOn(console, "warn").mockImplementation(() => {}),
      vi.spyOn(console, "info").mockImplementation(() => {}),
      vi.spyOn(console, "log").mockImplementation(() => {}),
      vi.spyOn(console, "debug").mockImplementation(() => {}),
    ];
    // Must not switch the SDK's logging back on.
    await withEnv({ ANTHROPIC_LOG: "debug" }, async () => {
      fake.malformedNext();
      const error = await failure(consume(claude().stream(ask("Hello"))));
      expect(error).toMatchObject({ kind: "upstream", retryable: true });
      expect(error.message).toBe("anthropic: upstream (malformed response)");
    });
    for (const spy of logged) expect(spy).not.toHaveBeenCalled();
  });

  it("turns an error event inside a stream into a typed error, without its message", async () => {
    fake.errorEventNext("api_error", `Failed while writing about "${SECRET}"`);
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of claude().stream(ask(SECRET))) if (event.type === "text-delta") seen.push(event.text);
    });
    expect(seen).toEqual(["Hello"]);
    expect(error).toMatchObject({ kind: "upstream", retryable: true, code: "api_error" });
    expect(error.status).toBeUndefined();
    expect(error.requestId).toMatch(/^req_/);
    expect(error.message).toBe("anthropic: upstream (api_error)");
    expect(JSON.stringify(error)).not.toContain("secret");

    // Overloaded halfway through a stream is still "busy, try again".
    fake.errorEventNext("overloaded_error", "Overloaded");
    expect(await failure(consume(claude().stream(ask("Hello"))))).toMatchObject({
      kind: "rate_limited",
      retryable: true,
      code: "overloaded_error",
    });
  });

  it("turns a stream cut short before message_stop into an upstream error", async () => {
    fake.truncateNext();
    const cut = await failure(consume(claude().stream(ask("Hello"))));
    expect(cut).toMatchObject({ kind: "upstream", retryable: true });
    expect(cut.message).toBe("anthropic: upstream (stream ended early)");
  });

  it("maps a refused connection to a retryable upstream error", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const offline = createAnthropic({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}` });
    expect(await failure(() => offline.text!("claude-sonnet-5-5").generate(ask("Hello")))).toMatchObject({
      kind: "upstream",
      retryable: true,
      message: "anthropic: upstream (connection failed)",
    });
  });
});

describe("privacy: what reaches Anthropic", () => {
  it("sends only the expected fields: no metadata, no member identifier, no environment leakage", async () => {
    const memberId = "mbr_7f3c9a1e-member-id";
    const memberEmail = "ada@example.com";
    // The SDK reads these when an option is undefined; the adapter must not let them in.
    await withEnv(
      {
        ANTHROPIC_BASE_URL: "http://127.0.0.1:1/never",
        ANTHROPIC_API_KEY: "sk-ant-from-env",
        ANTHROPIC_AUTH_TOKEN: "token-from-env",
        ANTHROPIC_PROFILE: "profile-from-env",
        ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE: "content",
      },
      async () => {
        const provider = anthropic();
        const model = provider.text!("claude-sonnet-5-5");
        await collect(
          model.stream({
            ...ask("Tell me a joke", { maxOutputTokens: 100, temperature: 1 }),
            messages: [
              { role: "system", content: [{ type: "text", text: "Be funny." }] },
              { role: "user", content: [{ type: "text", text: "Tell me a joke" }] },
            ],
          }),
        );
        await model.generate(ask("Tell me a joke"));
      },
    );

    expect(fake.requests.map((request) => request.path)).toEqual(["/v1/messages", "/v1/messages"]);
    expect(Object.keys(fake.requests[0]!.body).sort()).toEqual(["max_tokens", "messages", "model", "stream", "system"]);
    expect(Object.keys(fake.requests[1]!.body).sort()).toEqual(["max_tokens", "messages", "model", "stream"]);
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(request.body).not.toHaveProperty("metadata");
      for (const message of request.body.messages) expect(Object.keys(message).sort()).toEqual(["content", "role"]);
      const raw = request.raw.toLowerCase();
      for (const forbidden of ["member", "@", memberId, memberEmail, "metadata", "user_id", "temperature"]) {
        expect(raw).not.toContain(forbidden.toLowerCase());
      }
      const headers = JSON.stringify(request.headers).toLowerCase();
      for (const forbidden of [
        "member",
        memberId,
        memberEmail,
        "from-env",
        "traceparent",
        "anthropic-user-profile-id",
      ]) {
        expect(headers).not.toContain(forbidden.toLowerCase());
      }
    }
  });
});
