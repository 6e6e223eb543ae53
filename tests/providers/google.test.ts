import { createServer } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createGoogle } from "#providers/google/index";
import { aspectRatioFor } from "#providers/google/image";
import { ProviderError, type TextRequest, type TextStreamEvent, type Usage } from "#providers/types";
import { FAKE_MP4, ONE_PIXEL_PNG_BASE64, startFakeGoogle, type FakeGoogle } from "#tests/fakes/google-server";

// The Google adapter end to end through the official @google/genai SDK, against a local server
// that speaks the Gemini Developer API's wire format. Nothing is mocked between the adapter and
// the socket.

let fake: FakeGoogle;
const API_KEY = "AIza-test-0123456789";
const MODEL = "gemini-2.5-flash";

beforeAll(async () => {
  fake = await startFakeGoogle();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());
afterEach(() => vi.restoreAllMocks());

function google() {
  return createGoogle({ apiKey: API_KEY, baseURL: fake.url });
}

function ask(prompt: string, extra: Partial<TextRequest> = {}): TextRequest {
  return { model: MODEL, messages: [{ role: "user", content: [{ type: "text", text: prompt }] }], ...extra };
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

/** Restores process.env after `work`, whatever it set. */
async function withEnv<T>(values: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const previous = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  Object.assign(process.env, values);
  try {
    return await work();
  } finally {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

describe("google adapter: provider", () => {
  it("is listed without a key but not configured, and never calls out without one", async () => {
    const unconfigured = createGoogle({ baseURL: fake.url });
    expect(unconfigured).toMatchObject({ id: "google", label: "Google", isConfigured: false });
    expect(google().isConfigured).toBe(true);
    expect(google().speech).toBeUndefined();
    // Not even with a key in the environment, which the SDK would otherwise pick up.
    const error = await withEnv({ GOOGLE_API_KEY: "AIza-from-env", GEMINI_API_KEY: "AIza-from-env-2" }, () =>
      failure(() => unconfigured.text!(MODEL).generate(ask("Hi"))),
    );
    expect(error.kind).toBe("auth");
    expect(fake.requests).toHaveLength(0);
  });
});

describe("google adapter: text", () => {
  it("streams deltas that concatenate to the full text, with usage normalized exactly", async () => {
    fake.reply = {
      text: "Streaming works, token by token.",
      chunks: ["Stream", "ing", " works", ",", " token", " by", " token", "."],
      thoughts: ["Thinking about streams…"],
      finishReason: "STOP",
      usage: {
        promptTokenCount: 2048,
        candidatesTokenCount: 9,
        cachedContentTokenCount: 1536,
        thoughtsTokenCount: 120,
      },
    };
    const model = google().text!(MODEL);
    const { deltas, finish } = await collect(model.stream(ask("Say something"), { timeoutMs: 5_000 }));
    expect(deltas).toEqual(fake.reply.chunks); // the thought summary is not part of the answer
    expect(deltas.join("")).toBe("Streaming works, token by token.");
    // Input includes the cached tokens (Google's promptTokenCount already does); thinking is output.
    expect(finish).toEqual({
      type: "finish",
      finishReason: "stop",
      usage: { inputTokens: 2048, cachedInputTokens: 1536, outputTokens: 129 },
    });

    const [request] = fake.requests;
    expect(request).toMatchObject({ method: "POST", path: `/v1beta/models/${MODEL}:streamGenerateContent` });
    expect(request!.query.get("alt")).toBe("sse");
    expect(request!.headers["x-goog-api-key"]).toBe(API_KEY);
    expect(request!.headers.authorization).toBeUndefined();
    // The SDK always sends a generationConfig, empty when there is nothing to configure.
    expect(request!.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "Say something" }] }],
      generationConfig: {},
    });
  });

  it("passes each chunk's running usage on after its text, so a stream cut short has its count so far", async () => {
    fake.reply = {
      text: "Big chunks of answer, as Gemini sends them.",
      chunks: ["Big chunks of answer,", " as Gemini", " sends them."],
      finishReason: "STOP",
      usage: { promptTokenCount: 40, candidatesTokenCount: 10, thoughtsTokenCount: 5 },
    };
    const whole = await collect(google().text!(MODEL).stream(ask("Hi")));
    expect(whole.order).toEqual([
      "text:Big chunks of answer,",
      "usage:10", // 5 answer tokens so far (21 of 43 characters) + 5 thinking
      "text: as Gemini",
      "usage:12",
      "text: sends them.",
      "usage:15",
    ]);
    expect(whole.usages.at(-1)).toEqual(whole.finish!.usage);

    fake.stallNext(2);
    const seen: Usage[] = [];
    const error = await failure(async () => {
      for await (const event of google().text!(MODEL).stream(ask("Hi"), { timeoutMs: 400 })) {
        if (event.type === "usage") seen.push(event.usage);
      }
    });
    expect(error.kind).toBe("timeout");
    expect(seen.at(-1)).toEqual({ inputTokens: 40, outputTokens: 12 });
  });

  it("generates without streaming, mapping limits, temperature and the finish reason", async () => {
    fake.reply = {
      text: "Cut short",
      finishReason: "MAX_TOKENS",
      usage: { promptTokenCount: 12, candidatesTokenCount: 3 },
    };
    const result = await google().text!("gemini-2.5-flash-lite").generate(
      ask("Hi", { maxOutputTokens: 3, temperature: 0.2 }),
    );
    expect(result).toEqual({
      text: "Cut short",
      finishReason: "length",
      usage: { inputTokens: 12, outputTokens: 3 },
    });
    expect(fake.requests[0]).toMatchObject({
      method: "POST",
      path: "/v1beta/models/gemini-2.5-flash-lite:generateContent",
    });
    expect(fake.requests[0]!.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "Hi" }] }],
      generationConfig: { maxOutputTokens: 3, temperature: 0.2 },
    });
  });

  it("maps Gemini's finish reasons", async () => {
    const cases: Array<[string, string]> = [
      ["STOP", "stop"],
      ["MAX_TOKENS", "length"],
      ["SAFETY", "content-filter"],
      ["RECITATION", "content-filter"],
      ["BLOCKLIST", "content-filter"],
      ["PROHIBITED_CONTENT", "content-filter"],
      ["SPII", "content-filter"],
      ["IMAGE_SAFETY", "content-filter"],
      ["LANGUAGE", "other"],
      ["MALFORMED_FUNCTION_CALL", "other"],
      ["OTHER", "other"],
    ];
    const model = google().text!(MODEL);
    for (const [vendor, ours] of cases) {
      fake.reply.finishReason = vendor;
      expect((await model.generate(ask("Hi"))).finishReason, vendor).toBe(ours);
      expect((await collect(model.stream(ask("Hi")))).finish?.finishReason, vendor).toBe(ours);
    }
  });

  it("turns a blocked prompt into a content-policy error", async () => {
    fake.reply.blockReason = "PROHIBITED_CONTENT";
    const model = google().text!(MODEL);
    for (const run of [() => model.generate(ask("Something forbidden")), consume(model.stream(ask("Forbidden")))]) {
      const error = await failure(run);
      expect(error).toMatchObject({ kind: "content_policy", code: "PROHIBITED_CONTENT", retryable: false });
      expect(error.userMessage).toBe("The provider declined this request under its content policy.");
    }
  });

  it("sends the system instruction, assistant turns as 'model' and files inline, in Gemini's shape", async () => {
    const png = Buffer.from(ONE_PIXEL_PNG_BASE64, "base64");
    const pdf = Buffer.from("%PDF-1.4 fake");
    const mp3 = Buffer.from("ID3\u0004fake", "latin1");
    await google().text!(MODEL).generate({
      model: MODEL,
      messages: [
        { role: "system", content: [{ type: "text", text: "Be brief." }] },
        { role: "system", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: [{ type: "text", text: "Hello" }] },
        { role: "assistant", content: [{ type: "text", text: "Bonjour" }] },
        {
          role: "user",
          content: [
            { type: "text", text: "Describe these" },
            { type: "file", mediaType: "image/png", data: new Uint8Array(png) },
            { type: "file", mediaType: "application/pdf", data: new Uint8Array(pdf), filename: "report.pdf" },
            { type: "file", mediaType: "audio/mpeg", data: new Uint8Array(mp3) },
            {
              type: "file",
              mediaType: "text/csv; charset=utf-8",
              data: Buffer.from("a,b\n1,2\n"),
              filename: "data.csv",
            },
          ],
        },
      ],
    });
    expect(fake.requests[0]!.body).toEqual({
      systemInstruction: { parts: [{ text: "Be brief.\n\nAnswer in French." }] },
      contents: [
        { role: "user", parts: [{ text: "Hello" }] },
        { role: "model", parts: [{ text: "Bonjour" }] },
        {
          role: "user",
          parts: [
            { text: "Describe these" },
            { inlineData: { mimeType: "image/png", data: png.toString("base64") } },
            { inlineData: { mimeType: "application/pdf", data: pdf.toString("base64") } },
            { inlineData: { mimeType: "audio/mp3", data: mp3.toString("base64") } },
            { text: "data.csv:\n\na,b\n1,2\n" },
          ],
        },
      ],
      generationConfig: {},
    });
  });

  it("refuses files Gemini cannot take, and files outside user turns, before calling upstream", async () => {
    const model = google().text!(MODEL);
    const zip = await failure(() =>
      model.generate({
        model: MODEL,
        messages: [
          { role: "user", content: [{ type: "file", mediaType: "application/zip", data: new Uint8Array([80, 75]) }] },
        ],
      }),
    );
    expect(zip.kind).toBe("invalid_request");
    expect(zip.userMessage).toBe("This model cannot read that type of file.");

    const notUtf8 = await failure(
      consume(
        model.stream({
          model: MODEL,
          messages: [
            { role: "user", content: [{ type: "file", mediaType: "text/plain", data: new Uint8Array([0xff, 0xfe]) }] },
          ],
        }),
      ),
    );
    expect(notUtf8.kind).toBe("invalid_request");

    const inSystem = await failure(() =>
      model.generate({
        model: MODEL,
        messages: [
          { role: "system", content: [{ type: "file", mediaType: "image/png", data: new Uint8Array([1]) }] },
          { role: "user", content: [{ type: "text", text: "Hi" }] },
        ],
      }),
    );
    expect(inSystem.kind).toBe("invalid_request");

    const onlySystem = await failure(() =>
      model.generate({ model: MODEL, messages: [{ role: "system", content: [{ type: "text", text: "Be brief." }] }] }),
    );
    expect(onlySystem.kind).toBe("invalid_request");
    expect(fake.requests).toHaveLength(0);
  });
});

describe("google adapter: errors", () => {
  const SECRET = "my secret prompt about Alice";
  const invalidKey = [
    { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" },
  ];

  const cases: Array<{
    status: number;
    google?: string;
    details?: Array<Record<string, unknown>>;
    kind: ProviderError["kind"];
    code: string;
    retryable: boolean;
  }> = [
    { status: 400, kind: "invalid_request", code: "INVALID_ARGUMENT", retryable: false },
    { status: 400, details: invalidKey, kind: "auth", code: "INVALID_ARGUMENT", retryable: false },
    { status: 400, google: "FAILED_PRECONDITION", kind: "auth", code: "FAILED_PRECONDITION", retryable: false },
    { status: 401, kind: "auth", code: "UNAUTHENTICATED", retryable: false },
    { status: 403, kind: "auth", code: "PERMISSION_DENIED", retryable: false },
    { status: 404, kind: "invalid_request", code: "NOT_FOUND", retryable: false },
    { status: 429, kind: "rate_limited", code: "RESOURCE_EXHAUSTED", retryable: true },
    { status: 500, kind: "upstream", code: "INTERNAL", retryable: true },
    { status: 503, kind: "upstream", code: "UNAVAILABLE", retryable: true },
    { status: 504, kind: "timeout", code: "DEADLINE_EXCEEDED", retryable: true },
  ];

  for (const { status, google: googleStatus, details, kind, code, retryable } of cases) {
    const label = `${status} ${googleStatus ?? code}${details ? " API_KEY_INVALID" : ""}`;
    it(`maps ${label} to ${kind}, without retrying or echoing upstream text`, async () => {
      const model = google().text!(MODEL);
      for (const run of [() => model.generate(ask(SECRET)), consume(model.stream(ask(SECRET)))]) {
        fake.failNext(status, {
          message: `Rejected: "${SECRET}"`,
          ...(googleStatus ? { status: googleStatus } : {}),
          ...(details ? { details } : {}),
        });
        const error = await failure(run);
        expect(error).toMatchObject({ kind, retryable, provider: "google", status, code });
        expect(error.message).not.toContain("secret");
        expect(error.userMessage).not.toContain("secret");
        expect(JSON.stringify(error)).not.toContain("secret");
        expect(error.cause).toBeUndefined();
      }
      expect(fake.requests).toHaveLength(2); // one attempt per call, even for 429/5xx
    });
  }

  it("times out a hanging server after timeoutMs", async () => {
    const model = google().text!(MODEL);
    fake.hangNext();
    const started = Date.now();
    const error = await failure(() => model.generate(ask("Hello"), { timeoutMs: 300 }));
    expect(error).toMatchObject({ kind: "timeout", retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);

    fake.hangNext();
    expect((await failure(consume(model.stream(ask("Hello"), { timeoutMs: 300 })))).kind).toBe("timeout");
    await vi.waitFor(() => expect(fake.requests.every((request) => request.closedEarly)).toBe(true));
    // The SDK passes the deadline on to Google, which then stops working on it too.
    expect(fake.requests[0]!.headers["x-server-timeout"]).toBe("1");
  });

  it("times out a stream that stalls after its first chunks", async () => {
    fake.stallNext(2);
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of google().text!(MODEL).stream(ask("Hello"), { timeoutMs: 400 })) {
        if (event.type === "text-delta") seen.push(event.text);
      }
    });
    expect(error.kind).toBe("timeout");
    expect(seen).toEqual(["Hello", " from"]);
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));
  });

  it("aborts mid-stream: the iteration throws aborted and the upstream request is cancelled", async () => {
    fake.stallNext(3);
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of google().text!(MODEL).stream(ask("Hello"), { signal: controller.signal })) {
        if (event.type === "text-delta") seen.push(event.text);
        if (seen.length === 1) controller.abort();
      }
    });
    expect(error).toMatchObject({ kind: "aborted", retryable: false });
    expect(seen).toEqual(["Hello"]);
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));

    const before = fake.requests.length;
    const already = await failure(() => google().text!(MODEL).generate(ask("x"), { signal: AbortSignal.abort() }));
    expect(already.kind).toBe("aborted");
    expect(fake.requests).toHaveLength(before);
  });

  it("cancels the upstream request when the consumer stops reading", async () => {
    fake.stallNext(3);
    for await (const event of google().text!(MODEL).stream(ask("Hello"))) {
      if (event.type === "text-delta") break;
    }
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));
  });

  it("turns a malformed stream into an upstream error, without logging its content", async () => {
    const logged = (["error", "warn", "info", "log", "debug"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation(() => {}),
    );
    fake.malformedNext();
    const error = await failure(consume(google().text!(MODEL).stream(ask("Hello"))));
    expect(error).toMatchObject({ kind: "upstream", retryable: true });
    expect(error.message).toBe("google: upstream (malformed response)");
    expect(fake.requests).toHaveLength(1);
    for (const spy of logged) expect(spy).not.toHaveBeenCalled();
  });

  it("turns an error event inside a stream, and a stream cut short, into upstream errors", async () => {
    const model = google().text!(MODEL);
    fake.errorEventNext();
    expect(await failure(consume(model.stream(ask("Hello"))))).toMatchObject({
      kind: "upstream",
      status: 500,
      code: "INTERNAL",
    });
    fake.truncateNext();
    const cut = await failure(consume(model.stream(ask("Hello"))));
    expect(cut.kind).toBe("upstream");
    expect(cut.message).toContain("without a finish reason");
    // The SDK's automatic continuation would re-send a request here: it is switched off.
    expect(fake.requests).toHaveLength(2);
  });

  it("maps a refused connection to a retryable upstream error", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const offline = createGoogle({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}` });
    expect(await failure(() => offline.text!(MODEL).generate(ask("Hello")))).toMatchObject({
      kind: "upstream",
      retryable: true,
    });
  });
});

describe("google adapter: images", () => {
  it("maps WIDTHxHEIGHT to the nearest aspect ratio Gemini supports", () => {
    expect(aspectRatioFor("1024x1024")).toBe("1:1");
    expect(aspectRatioFor("1792x1024")).toBe("16:9");
    expect(aspectRatioFor("1024x1792")).toBe("9:16");
    expect(aspectRatioFor("1536x1024")).toBe("3:2");
    expect(aspectRatioFor("1024x1536")).toBe("2:3");
    expect(aspectRatioFor("1280x960")).toBe("4:3");
    expect(aspectRatioFor("2560x1080")).toBe("21:9");
    expect(aspectRatioFor("5000x100")).toBe("21:9");
    expect(aspectRatioFor("1024")).toBeUndefined();
    expect(aspectRatioFor("0x100")).toBeUndefined();
  });

  it("generates an image, decodes it, and reports the count and tokens", async () => {
    fake.image.draft = ONE_PIXEL_PNG_BASE64; // a thinking model's draft: not a result
    const result = await google().image!("gemini-3-pro-image-preview").generate({
      model: "gemini-3-pro-image-preview",
      prompt: "A red pixel",
      size: "1792x1024",
      quality: "2k",
    });
    expect(result.images).toHaveLength(1);
    expect(result.images[0]!.mediaType).toBe("image/png");
    expect(Buffer.from(result.images[0]!.data).equals(Buffer.from(ONE_PIXEL_PNG_BASE64, "base64"))).toBe(true);
    expect(result.usage).toEqual({ images: 1, inputTokens: 12, outputTokens: 1290 });
    expect(fake.requests[0]).toMatchObject({
      method: "POST",
      path: "/v1beta/models/gemini-3-pro-image-preview:generateContent",
    });
    expect(fake.requests[0]!.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "A red pixel" }] }],
      generationConfig: { responseModalities: ["IMAGE"], imageConfig: { aspectRatio: "16:9", imageSize: "2K" } },
    });

    await google().image!("gemini-2.5-flash-image").generate({ model: "gemini-2.5-flash-image", prompt: "A fox" });
    expect(fake.requests[1]!.body.generationConfig).toEqual({ responseModalities: ["IMAGE"] });
  });

  it("maps filtered and refused image prompts to content_policy", async () => {
    const model = google().image!("gemini-2.5-flash-image");
    fake.image = { ...fake.image, images: [], finishReason: "IMAGE_SAFETY" };
    expect(await failure(() => model.generate({ model: "x", prompt: "nope" }))).toMatchObject({
      kind: "content_policy",
      code: "IMAGE_SAFETY",
    });
    fake.image.finishReason = "NO_IMAGE";
    expect((await failure(() => model.generate({ model: "x", prompt: "nope" }))).kind).toBe("upstream");
    fake.reset();
    fake.failNext(400, { message: "Bad size" });
    expect((await failure(() => model.generate({ model: "x", prompt: "nope" }))).kind).toBe("invalid_request");
  });

  it("refuses what Gemini image models cannot do, before calling upstream", async () => {
    const model = google().image!("gemini-2.5-flash-image");
    const many = await failure(() => model.generate({ model: "x", prompt: "Two foxes", n: 2 }));
    expect(many).toMatchObject({ kind: "invalid_request", userMessage: "This model makes one image at a time." });
    expect((await failure(() => model.generate({ model: "x", prompt: "A fox", size: "big" }))).kind).toBe(
      "invalid_request",
    );
    expect((await failure(() => model.generate({ model: "x", prompt: "A fox", quality: "hd" }))).kind).toBe(
      "invalid_request",
    );
    expect(fake.requests).toHaveLength(0);
  });
});

describe("google adapter: video", () => {
  const VEO = "veo-3.0-generate-001";

  it("starts a Veo operation, polls it until done and returns the downloaded bytes", async () => {
    fake.video.pollsUntilDone = 3;
    const model = google().video!(VEO);
    const { jobId } = await model.start({ model: VEO, prompt: "A cat surfing", seconds: 6, aspectRatio: "9:16" });
    expect(jobId).toMatch(new RegExp(`^models/${VEO}/operations/\\w+#6$`));
    expect(fake.requests[0]).toMatchObject({ method: "POST", path: `/v1beta/models/${VEO}:predictLongRunning` });
    expect(fake.requests[0]!.body).toEqual({
      instances: [{ prompt: "A cat surfing" }],
      parameters: { sampleCount: 1, durationSeconds: 6, aspectRatio: "9:16" },
    });

    expect(await model.poll(jobId)).toEqual({ status: "running" });
    expect(await model.poll(jobId)).toEqual({ status: "running" });
    const done = await model.poll(jobId, { timeoutMs: 5_000 });
    expect(done).toEqual({
      status: "succeeded",
      video: { mediaType: "video/mp4", data: new Uint8Array(FAKE_MP4) },
      usage: { videoSeconds: 6 },
    });

    const operationName = jobId.split("#")[0];
    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /v1beta/models/${VEO}:predictLongRunning`,
      `GET /v1beta/${operationName}`,
      `GET /v1beta/${operationName}`,
      `GET /v1beta/${operationName}`,
      `GET /v1beta/files/${operationName!.split("/").pop()}:download`,
    ]);
    for (const request of fake.requests) expect(request.headers["x-goog-api-key"]).toBe(API_KEY);
  });

  it("states the default duration, so usage is what was asked for", async () => {
    fake.video.pollsUntilDone = 1;
    const model = google().video!(VEO);
    const { jobId } = await model.start({ model: VEO, prompt: "A dog" });
    expect(fake.requests[0]!.body.parameters).toEqual({ sampleCount: 1, durationSeconds: 8 });
    expect(await model.poll(jobId)).toMatchObject({ status: "succeeded", usage: { videoSeconds: 8 } });
  });

  it("follows a download redirect without the key, and never sends the key to a foreign host", async () => {
    fake.video = { ...fake.video, pollsUntilDone: 1, redirect: true };
    const model = google().video!(VEO);
    const { jobId } = await model.start({ model: VEO, prompt: "A dog", seconds: 4 });
    expect(await model.poll(jobId)).toMatchObject({ status: "succeeded", video: { data: new Uint8Array(FAKE_MP4) } });
    const blob = fake.requests.at(-1)!;
    expect(blob.path).toMatch(/^\/blobs\//);
    expect(blob.headers["x-goog-api-key"]).toBeUndefined();

    fake.reset();
    fake.video = { ...fake.video, pollsUntilDone: 1, uri: "http://127.0.0.2:9/v1beta/files/x:download?alt=media" };
    const second = await model.start({ model: VEO, prompt: "A dog", seconds: 4 });
    expect((await failure(() => model.poll(second.jobId))).kind).toBe("upstream");
    expect(fake.requests).toHaveLength(2); // start and poll: no download attempted
  });

  it("reports a failed operation as failed, without Google's message", async () => {
    fake.video = {
      ...fake.video,
      pollsUntilDone: 2,
      error: { code: 3, message: 'Prompt "my secret prompt" rejected' },
    };
    const model = google().video!(VEO);
    const { jobId } = await model.start({ model: VEO, prompt: "my secret prompt", seconds: 8 });
    expect(await model.poll(jobId)).toEqual({ status: "running" });
    const result = await model.poll(jobId);
    expect(result.status).toBe("failed");
    const error = (result as Extract<typeof result, { status: "failed" }>).error;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: "invalid_request", code: "INVALID_ARGUMENT", provider: "google" });
    expect(JSON.stringify(error) + error.message + error.userMessage).not.toContain("secret");

    fake.reset();
    fake.video = { ...fake.video, pollsUntilDone: 1, error: { code: 13, message: "Internal" } };
    const internal = await model.poll((await model.start({ model: VEO, prompt: "x" })).jobId);
    expect(internal).toMatchObject({
      status: "failed",
      error: { kind: "upstream", code: "INTERNAL", retryable: true },
    });

    fake.reset();
    fake.video = { ...fake.video, pollsUntilDone: 1, filtered: true };
    const filtered = await model.poll((await model.start({ model: VEO, prompt: "x" })).jobId);
    expect(filtered).toMatchObject({ status: "failed", error: { kind: "content_policy" } });
  });

  it("throws (rather than failing the job) when a poll itself fails, and refuses foreign job ids", async () => {
    const model = google().video!(VEO);
    const { jobId } = await model.start({ model: VEO, prompt: "A dog", seconds: 4 });
    fake.failNext(429, { message: "Slow down" });
    expect(await failure(() => model.poll(jobId))).toMatchObject({ kind: "rate_limited", retryable: true });
    fake.failNext(503);
    expect((await failure(() => model.start({ model: VEO, prompt: "A dog" }))).kind).toBe("upstream");

    const before = fake.requests.length;
    for (const bad of ["models/veo/operations/x", "../../etc/passwd#4", "models/veo/operations/x#0", "#8", "a?b=c#4"]) {
      expect((await failure(() => model.poll(bad))).kind, bad).toBe("invalid_request");
    }
    expect((await failure(() => model.start({ model: VEO, prompt: "A dog", seconds: 2.5 }))).kind).toBe(
      "invalid_request",
    );
    expect(fake.requests).toHaveLength(before);
  });
});

describe("privacy: what reaches Google", () => {
  it("sends only the expected fields and headers, whatever the SDK finds in process.env", async () => {
    const memberId = "mbr_7f3c9a1e-member-id";
    const memberEmail = "ada@example.com";
    const VEO = "veo-3.0-generate-001";
    fake.video.pollsUntilDone = 1;
    // The SDK still reads the keys, and warns (naming no values) when both are set.
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    // The SDK reads all of these when an option is undefined; none may change what happens.
    await withEnv(
      {
        GOOGLE_API_KEY: "AIza-from-env",
        GEMINI_API_KEY: "AIza-from-env-too",
        GOOGLE_GENAI_USE_VERTEXAI: "true",
        GOOGLE_GENAI_USE_ENTERPRISE: "true",
        GOOGLE_CLOUD_PROJECT: "project-from-env",
        GOOGLE_CLOUD_LOCATION: "europe-west4",
        GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:1/never",
        GOOGLE_VERTEX_BASE_URL: "http://127.0.0.1:1/never-vertex",
      },
      async () => {
        const provider = google();
        await collect(provider.text!(MODEL).stream(ask("Tell me a joke", { maxOutputTokens: 100, temperature: 1 })));
        await provider.text!(MODEL).generate(ask("Tell me a joke"), { timeoutMs: 10_000 });
        await provider.image!("gemini-2.5-flash-image").generate({ model: "x", prompt: "A fox", size: "1024x1024" });
        const { jobId } = await provider.video!(VEO).start({ model: VEO, prompt: "A fox", seconds: 4 });
        await provider.video!(VEO).poll(jobId);
      },
    );

    expect(fake.requests.map((request) => request.path.replace(/\/\w+(:download)?$/, "/…$1"))).toEqual([
      `/v1beta/models/${MODEL}:streamGenerateContent`,
      `/v1beta/models/${MODEL}:generateContent`,
      "/v1beta/models/gemini-2.5-flash-image:generateContent",
      `/v1beta/models/${VEO}:predictLongRunning`,
      `/v1beta/models/${VEO}/operations/…`,
      "/v1beta/files/…:download",
    ]);
    const bodyKeys = fake.requests.map((request) => (request.body ? Object.keys(request.body).sort() : []));
    expect(bodyKeys).toEqual([
      ["contents", "generationConfig"],
      ["contents", "generationConfig"],
      ["contents", "generationConfig"],
      ["instances", "parameters"],
      [],
      [],
    ]);
    for (const request of fake.requests) {
      expect(request.headers["x-goog-api-key"]).toBe(API_KEY);
      const raw = request.raw.toLowerCase();
      for (const forbidden of ["member", "@", memberId, memberEmail, "labels", "user_id", "project-from-env"]) {
        expect(raw, `${request.path} body`).not.toContain(forbidden.toLowerCase());
      }
      const headers = JSON.stringify(request.headers).toLowerCase();
      for (const forbidden of ["member", memberId, memberEmail, "from-env", "europe-west4", "authorization"]) {
        expect(headers, `${request.path} headers`).not.toContain(forbidden.toLowerCase());
      }
    }
    for (const call of warn.mock.calls) expect(JSON.stringify(call)).not.toContain("AIza");
    // What the SDK identifies is itself and the Node version, nothing about the member.
    expect(fake.requests[0]!.headers["x-goog-api-client"]).toMatch(/^google-genai-sdk\/[\d.]+ gl-node\/v[\d.]+$/);
    expect(fake.requests[0]!.headers["user-agent"]).toBe(fake.requests[0]!.headers["x-goog-api-client"]);
  });
});
