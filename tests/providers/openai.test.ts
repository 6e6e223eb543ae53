import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createOpenAI } from "#providers/openai/index";
import { createOpenAICompatible } from "#providers/openai-compatible/index";
import { ProviderError, type TextRequest, type TextStreamEvent, type Usage } from "#providers/types";
import { ONE_PIXEL_PNG_BASE64, startFakeOpenAI, type FakeOpenAI } from "#tests/fakes/openai-server";

// The OpenAI adapter end to end through the official SDK, against a local server that speaks
// OpenAI's wire format. Nothing is mocked between the adapter and the socket.

let fake: FakeOpenAI;
const API_KEY = "sk-test-0123456789";

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());
afterEach(() => vi.restoreAllMocks());

function openai() {
  return createOpenAI({ apiKey: API_KEY, baseURL: fake.url });
}

function ask(prompt: string, extra: Partial<TextRequest> = {}): TextRequest {
  return { model: "gpt-4o", messages: [{ role: "user", content: [{ type: "text", text: prompt }] }], ...extra };
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

describe("openai adapter: text", () => {
  it("streams deltas that concatenate to the full text, with usage normalized exactly", async () => {
    fake.chat = {
      text: "Streaming works, token by token.",
      chunks: ["Stream", "ing", " works", ",", " token", " by", " token", "."],
      finishReason: "stop",
      usage: { prompt_tokens: 2048, completion_tokens: 9, cached_tokens: 1536 },
    };
    const model = openai().text!("gpt-4o");
    const { deltas, finish } = await collect(model.stream(ask("Say something"), { timeoutMs: 5_000 }));
    expect(deltas).toEqual(fake.chat.chunks);
    expect(deltas.join("")).toBe("Streaming works, token by token.");
    expect(finish).toEqual({
      type: "finish",
      finishReason: "stop",
      usage: { inputTokens: 2048, outputTokens: 9, cachedInputTokens: 1536 },
    });

    const [request] = fake.requests;
    expect(request).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.body).toEqual({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Say something" }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("passes the usage chunk on as a usage event after the text; a server that ignores include_usage sends none", async () => {
    fake.chat = {
      text: "One two",
      chunks: ["One", " two"],
      finishReason: "stop",
      usage: { prompt_tokens: 10, completion_tokens: 2 },
    };
    const reported = await collect(openai().text!("gpt-4o").stream(ask("Count")));
    expect(reported.order).toEqual(["text:One", "text: two", "usage:2"]);
    expect(reported.usages).toEqual([{ inputTokens: 10, outputTokens: 2, cachedInputTokens: 0 }]);

    fake.ignoreIncludeUsage = true;
    const bare = await collect(openai().text!("gpt-4o").stream(ask("Count")));
    expect(bare.order).toEqual(["text:One", "text: two"]);
    expect(bare.finish).toEqual({ type: "finish", finishReason: "stop", usage: {} });
  });

  it("generates without streaming, mapping limits, temperature and the finish reason", async () => {
    fake.chat = { text: "Cut short", finishReason: "length", usage: { prompt_tokens: 12, completion_tokens: 3 } };
    const result = await openai().text!("gpt-4o-mini").generate(ask("Hi", { maxOutputTokens: 3, temperature: 0.2 }));
    expect(result).toEqual({
      text: "Cut short",
      finishReason: "length",
      usage: { inputTokens: 12, outputTokens: 3, cachedInputTokens: 0 },
    });
    expect(fake.requests[0]!.body).toEqual({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      max_completion_tokens: 3,
      temperature: 0.2,
      stream: false,
    });
  });

  it("sends images as data URLs, PDFs as file parts and text files inline", async () => {
    const png = Buffer.from(ONE_PIXEL_PNG_BASE64, "base64");
    const pdf = Buffer.from("%PDF-1.4\n%fake\n");
    await openai().text!("gpt-4o").generate({
      model: "gpt-4o",
      messages: [
        { role: "system", content: [{ type: "text", text: "You describe files." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "file", mediaType: "image/png", data: new Uint8Array(png) },
            { type: "file", mediaType: "application/pdf", data: new Uint8Array(pdf), filename: "report.pdf" },
            { type: "file", mediaType: "text/csv", data: new TextEncoder().encode("a,b\n1,2\n"), filename: "data.csv" },
          ],
        },
      ],
    });
    expect(fake.requests[0]!.body.messages).toEqual([
      { role: "system", content: "You describe files." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${ONE_PIXEL_PNG_BASE64}` } },
          {
            type: "file",
            file: { filename: "report.pdf", file_data: `data:application/pdf;base64,${pdf.toString("base64")}` },
          },
          { type: "text", text: "data.csv:\n\na,b\n1,2\n" },
        ],
      },
    ]);
  });

  it("refuses file types the chat API cannot take, before calling upstream", async () => {
    const model = openai().text!("gpt-4o");
    const error = await failure(() =>
      model.generate({
        model: "gpt-4o",
        messages: [
          { role: "user", content: [{ type: "file", mediaType: "application/zip", data: new Uint8Array([80, 75]) }] },
        ],
      }),
    );
    expect(error.kind).toBe("invalid_request");
    expect(error.userMessage).toBe("This model cannot read that type of file.");
    expect(fake.requests).toHaveLength(0);
  });
});

describe("openai adapter: images and speech", () => {
  it("generates images from base64 and decodes them", async () => {
    fake.imageUsage = { input_tokens: 50, output_tokens: 4160 };
    const result = await openai().image!("gpt-image-1").generate({
      model: "gpt-image-1",
      prompt: "A red pixel",
      size: "1024x1024",
      quality: "low",
      n: 2,
    });
    expect(result.images).toHaveLength(2);
    for (const image of result.images) {
      expect(image.mediaType).toBe("image/png");
      expect(Buffer.from(image.data).equals(Buffer.from(ONE_PIXEL_PNG_BASE64, "base64"))).toBe(true);
    }
    expect(result.usage).toEqual({ images: 2, inputTokens: 50, outputTokens: 4160 });
    expect(fake.requests[0]).toMatchObject({ method: "POST", path: "/v1/images/generations" });
    // GPT image models reject response_format; DALL·E needs it to answer in base64.
    expect(fake.requests[0]!.body).toEqual({
      model: "gpt-image-1",
      prompt: "A red pixel",
      size: "1024x1024",
      quality: "low",
      n: 2,
    });

    await openai().image!("dall-e-3").generate({ model: "dall-e-3", prompt: "A red pixel" });
    expect(fake.requests[1]!.body).toEqual({ model: "dall-e-3", prompt: "A red pixel", response_format: "b64_json" });
  });

  it("edits pictures through /images/edits and reports the input tokens (text and pictures) with the output", async () => {
    // What OpenAI answers for an edit: the pictures are counted as input image tokens.
    fake.imageUsage = {
      input_tokens: 1_250,
      input_tokens_details: { text_tokens: 38, image_tokens: 1_212 },
      output_tokens: 1_056,
    };
    const png = new Uint8Array(Buffer.from(ONE_PIXEL_PNG_BASE64, "base64"));
    const result = await openai().image!("gpt-image-1").generate({
      model: "gpt-image-1",
      prompt: "Make both skies purple",
      size: "1024x1024",
      quality: "medium",
      images: [
        { mediaType: "image/png", data: png },
        { mediaType: "image/png", data: png },
      ],
    });
    expect(result.images).toHaveLength(1);
    expect(result.usage).toEqual({ images: 1, inputTokens: 1_250, outputTokens: 1_056 });
    const request = fake.requests[0]!;
    expect(request).toMatchObject({ method: "POST", path: "/v1/images/edits" });
    expect(String(request.headers["content-type"])).toMatch(/^multipart\/form-data/);
    // Both pictures as image[] parts; no response_format (GPT image models refuse it).
    expect(request.raw.match(/name="image\[\]"; filename="image-\d\.png"/g)).toHaveLength(2);
    expect(request.raw).toContain("Make both skies purple");
    expect(request.raw).not.toContain("response_format");

    // Without the details, input_tokens is still the total; without usage (DALL·E), images only.
    fake.imageUsage = { input_tokens: 20, output_tokens: 272 };
    const plain = await openai().image!("gpt-image-1").generate({ model: "gpt-image-1", prompt: "A kite" });
    expect(plain.usage).toEqual({ images: 1, inputTokens: 20, outputTokens: 272 });
    fake.imageUsage = undefined;
    const dalle = await openai().image!("dall-e-2").generate({ model: "dall-e-2", prompt: "A kite", images: [] });
    expect(dalle.usage).toEqual({ images: 1 });
  });

  it("returns the speech bytes as sent, billed per character", async () => {
    const result = await openai().speech!("gpt-4o-mini-tts").generate({
      model: "gpt-4o-mini-tts",
      text: "Bonjour à tous 👋",
      voice: "coral",
    });
    expect(Buffer.from(result.audio.data).equals(fake.speech.bytes)).toBe(true);
    expect(result.audio.mediaType).toBe("audio/mpeg");
    expect(result.usage).toEqual({ characters: 16 });
    expect(fake.requests[0]).toMatchObject({ method: "POST", path: "/v1/audio/speech" });
    expect(fake.requests[0]!.body).toEqual({
      model: "gpt-4o-mini-tts",
      input: "Bonjour à tous 👋",
      voice: "coral",
      response_format: "mp3",
    });

    const wav = await openai().speech!("tts-1").generate({ model: "tts-1", text: "Hi", format: "wav" });
    expect(wav.audio.mediaType).toBe("audio/wav");
    expect(fake.requests[1]!.body).toMatchObject({ voice: "alloy", response_format: "wav" });
    const bad = await failure(() => openai().speech!("tts-1").generate({ model: "tts-1", text: "Hi", format: "midi" }));
    expect(bad.kind).toBe("invalid_request");
  });
});

describe("openai adapter: errors", () => {
  const SECRET = "my secret prompt about Alice";

  const cases: Array<{ status: number; code?: string; kind: ProviderError["kind"]; retryable: boolean }> = [
    { status: 401, code: "invalid_api_key", kind: "auth", retryable: false },
    { status: 403, kind: "auth", retryable: false },
    { status: 429, code: "rate_limit_exceeded", kind: "rate_limited", retryable: true },
    { status: 429, code: "insufficient_quota", kind: "rate_limited", retryable: false },
    { status: 400, code: "content_policy_violation", kind: "content_policy", retryable: false },
    { status: 400, code: "context_length_exceeded", kind: "invalid_request", retryable: false },
    { status: 404, code: "model_not_found", kind: "invalid_request", retryable: false },
    { status: 500, kind: "upstream", retryable: true },
    { status: 503, kind: "upstream", retryable: true },
  ];

  for (const { status, code, kind, retryable } of cases) {
    it(`maps ${status}${code ? ` ${code}` : ""} to ${kind}, without retrying or echoing upstream text`, async () => {
      const model = openai().text!("gpt-4o");
      for (const run of [() => model.generate(ask(SECRET)), consume(model.stream(ask(SECRET)))]) {
        fake.failNext(status, { message: `Rejected: "${SECRET}"`, ...(code ? { code } : {}) });
        const error = await failure(run);
        expect(error).toMatchObject({ kind, retryable, provider: "openai", status });
        if (code) expect(error.code).toBe(code);
        expect(error.requestId).toMatch(/^req_/);
        expect(error.message).not.toContain("secret");
        expect(error.userMessage).not.toContain("secret");
        expect(JSON.stringify(error)).not.toContain("secret");
      }
      expect(fake.requests).toHaveLength(2); // maxRetries: 0 — one request per call, even for 429/5xx
    });
  }

  it("maps a content-policy refusal of an image prompt", async () => {
    fake.failNext(400, { code: "content_policy_violation", type: "image_generation_user_error" });
    const error = await failure(() => openai().image!("dall-e-3").generate({ model: "dall-e-3", prompt: "nope" }));
    expect(error.kind).toBe("content_policy");
    expect(error.userMessage).toBe("The provider declined this request under its content policy.");
  });

  it("times out a hanging server after timeoutMs", async () => {
    const model = openai().text!("gpt-4o");
    fake.hangNext();
    const started = Date.now();
    const error = await failure(() => model.generate(ask("Hello"), { timeoutMs: 300 }));
    expect(error).toMatchObject({ kind: "timeout", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);

    fake.hangNext();
    expect((await failure(consume(model.stream(ask("Hello"), { timeoutMs: 300 })))).kind).toBe("timeout");
    await vi.waitFor(() => expect(fake.requests.every((request) => request.closedEarly)).toBe(true));
  });

  it("times out a stream that stalls after its first chunks (the SDK's own timeout stops at the headers)", async () => {
    fake.stallNext(2);
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of openai().text!("gpt-4o").stream(ask("Hello"), { timeoutMs: 400 })) {
        if (event.type === "text-delta") seen.push(event.text);
      }
    });
    expect(error.kind).toBe("timeout");
    expect(seen).toEqual(["Hello"]);
  });

  it("aborts mid-stream: the iteration throws aborted and the upstream request is cancelled", async () => {
    fake.stallNext(3);
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of openai().text!("gpt-4o").stream(ask("Hello"), { signal: controller.signal })) {
        if (event.type === "text-delta") seen.push(event.text);
        if (seen.length === 1) controller.abort();
      }
    });
    expect(error).toMatchObject({ kind: "aborted", retryable: false });
    expect(seen).toEqual(["Hello"]);
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));

    const before = fake.requests.length;
    const already = await failure(() => openai().text!("gpt-4o").generate(ask("x"), { signal: AbortSignal.abort() }));
    expect(already.kind).toBe("aborted");
    expect(fake.requests).toHaveLength(before);
  });

  it("cancels the upstream request when the consumer stops reading", async () => {
    fake.stallNext(3);
    for await (const event of openai().text!("gpt-4o").stream(ask("Hello"))) {
      if (event.type === "text-delta") break;
    }
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
    const previousLog = process.env.OPENAI_LOG;
    process.env.OPENAI_LOG = "debug"; // must not switch the SDK's logging back on
    try {
      fake.malformedNext();
      const error = await failure(consume(openai().text!("gpt-4o").stream(ask("Hello"))));
      expect(error).toMatchObject({ kind: "upstream", retryable: true });
      expect(error.message).toBe("openai: upstream (malformed response)");
    } finally {
      if (previousLog === undefined) delete process.env.OPENAI_LOG;
      else process.env.OPENAI_LOG = previousLog;
    }
    for (const spy of logged) expect(spy).not.toHaveBeenCalled();
  });

  it("turns an error event inside a stream, and a stream cut short, into upstream errors", async () => {
    const model = openai().text!("gpt-4o");
    fake.errorEventNext();
    expect(await failure(consume(model.stream(ask("Hello"))))).toMatchObject({
      kind: "upstream",
      code: "server_error",
    });
    fake.truncateNext();
    const cut = await failure(consume(model.stream(ask("Hello"))));
    expect(cut.kind).toBe("upstream");
    expect(cut.message).toContain("without a finish reason");
  });

  it("maps a refused connection to a retryable upstream error", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const offline = createOpenAI({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}/v1` });
    expect(await failure(() => offline.text!("gpt-4o").generate(ask("Hello")))).toMatchObject({
      kind: "upstream",
      retryable: true,
    });
  });
});

describe("privacy: what reaches the provider", () => {
  it("sends only the expected fields: no user, no member identifier, no environment leakage", async () => {
    const memberId = "mbr_7f3c9a1e-member-id";
    const memberEmail = "ada@example.com";
    const previous = {
      base: process.env.OPENAI_BASE_URL,
      org: process.env.OPENAI_ORG_ID,
      project: process.env.OPENAI_PROJECT_ID,
    };
    // The SDK reads these when an option is undefined; the adapter must not let them in.
    process.env.OPENAI_BASE_URL = "http://127.0.0.1:1/never";
    process.env.OPENAI_ORG_ID = "org-from-env";
    process.env.OPENAI_PROJECT_ID = "proj-from-env";
    try {
      const provider = openai();
      await collect(provider.text!("gpt-4o").stream(ask("Tell me a joke", { maxOutputTokens: 100, temperature: 1 })));
      await provider.text!("gpt-4o").generate(ask("Tell me a joke"));
      await provider.image!("gpt-image-1").generate({
        model: "gpt-image-1",
        prompt: "A fox",
        size: "1024x1024",
        quality: "high",
        n: 1,
      });
      await provider.speech!("tts-1").generate({ model: "tts-1", text: "Hello", voice: "alloy", format: "opus" });
    } finally {
      for (const [key, value] of [
        ["OPENAI_BASE_URL", previous.base],
        ["OPENAI_ORG_ID", previous.org],
        ["OPENAI_PROJECT_ID", previous.project],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }

    const expectedKeys: Record<string, string[][]> = {
      "/v1/chat/completions": [
        ["max_completion_tokens", "messages", "model", "stream", "stream_options", "temperature"],
        ["messages", "model", "stream"],
      ],
      "/v1/images/generations": [["model", "n", "prompt", "quality", "size"]],
      "/v1/audio/speech": [["input", "model", "response_format", "voice"]],
    };
    expect(fake.requests.map((request) => request.path)).toEqual([
      "/v1/chat/completions",
      "/v1/chat/completions",
      "/v1/images/generations",
      "/v1/audio/speech",
    ]);
    const seen: Record<string, number> = {};
    for (const request of fake.requests) {
      const index = (seen[request.path] = (seen[request.path] ?? -1) + 1);
      expect(Object.keys(request.body).sort()).toEqual(expectedKeys[request.path]![index]);
      expect(request.body).not.toHaveProperty("user");
      for (const message of request.body.messages ?? [])
        expect(Object.keys(message).sort()).toEqual(["content", "role"]);
      const raw = request.raw.toLowerCase();
      for (const forbidden of ["member", "@", memberId, memberEmail, '"user":', "safety_identifier", "metadata"]) {
        expect(raw, `${request.path} body`).not.toContain(forbidden.toLowerCase());
      }
      const headers = JSON.stringify(request.headers).toLowerCase();
      for (const forbidden of ["member", memberId, memberEmail, "org-from-env", "proj-from-env"]) {
        expect(headers, `${request.path} headers`).not.toContain(forbidden.toLowerCase());
      }
      expect(request.headers).not.toHaveProperty("openai-organization");
      expect(request.headers).not.toHaveProperty("openai-project");
    }
  });
});

describe("openai-compatible adapter", () => {
  it("reuses the chat path with max_tokens, and sends no Authorization header without a key", async () => {
    const ollama = createOpenAICompatible({
      id: "ollama",
      label: "Ollama",
      baseURL: fake.url,
      models: ["llama3.1:8b"],
    });
    expect(ollama.isConfigured).toBe(true);
    expect(ollama.image).toBeUndefined();
    const model = ollama.text!("llama3.1:8b");
    expect(model.provider).toBe("ollama");
    const { deltas, finish } = await collect(model.stream(ask("Hi", { model: "llama3.1:8b", maxOutputTokens: 64 })));
    expect(deltas.join("")).toBe(fake.chat.text);
    expect(finish?.usage).toEqual({ inputTokens: 1234, outputTokens: 56, cachedInputTokens: 1024 });
    expect(fake.requests[0]!.body).toEqual({
      model: "llama3.1:8b",
      messages: [{ role: "user", content: "Hi" }],
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(fake.requests[0]!.headers).not.toHaveProperty("authorization");
  });

  it("sends the key when there is one, and labels its errors with its own id", async () => {
    const qwen = createOpenAICompatible({
      id: "qwen",
      label: "Qwen",
      apiKey: "sk-dashscope",
      baseURL: fake.url,
      models: [],
    });
    await qwen.text!("qwen-plus").generate(ask("Hi", { model: "qwen-plus" }));
    expect(fake.requests[0]!.headers.authorization).toBe("Bearer sk-dashscope");
    fake.failNext(401, { code: "invalid_api_key" });
    expect(await failure(() => qwen.text!("qwen-plus").generate(ask("Hi")))).toMatchObject({
      kind: "auth",
      provider: "qwen",
    });
  });
});
