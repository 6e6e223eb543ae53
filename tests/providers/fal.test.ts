import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createFal } from "#providers/fal/index";
import { ProviderError, type VideoPollResult } from "#providers/types";
import { FAKE_MP4, startFakeFal, type FakeFal } from "#tests/fakes/fal-server";

// The fal.ai adapter end to end over HTTP, against a local server speaking fal's queue API.

let fake: FakeFal;
const API_KEY = "fal-test-key:0123456789";
const SECRET = "my secret prompt about Alice";
const KLING = "fal-ai/kling-video/v2.1/standard/text-to-video";
const SEEDANCE = "fal-ai/bytedance/seedance/v1/lite/text-to-video";

beforeAll(async () => {
  fake = await startFakeFal();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

function fal() {
  return createFal({ apiKey: API_KEY, baseURL: fake.url });
}

async function failure(work: () => Promise<unknown>): Promise<ProviderError> {
  const error = await work().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

function expectNoVendorText(error: ProviderError) {
  for (const text of [error.message, error.userMessage, JSON.stringify(error)]) {
    expect(text).not.toContain("secret");
    expect(text).not.toContain("Fake");
    expect(text).not.toContain("flagged");
    expect(text).not.toContain("crashed");
  }
}

async function pollUntilDone(poll: () => Promise<VideoPollResult>): Promise<{ seen: VideoPollResult[] }> {
  const seen: VideoPollResult[] = [];
  for (let i = 0; i < 20; i++) {
    const result = await poll();
    seen.push(result);
    if (result.status !== "running") return { seen };
  }
  throw new Error("never finished");
}

describe("fal adapter", () => {
  it("is listed without a key but not configured; configured with one", () => {
    const bare = createFal();
    expect(bare).toMatchObject({ id: "fal", label: "fal.ai (Kling, Seedance)", isConfigured: false });
    expect(bare.video).toBeTypeOf("function");
    expect(fal().isConfigured).toBe(true);
  });

  it("queues a Kling job, reports the queue and progress, then returns the video bytes", async () => {
    fake.queuedPolls = 2;
    fake.runningPolls = 1;
    const model = fal().video!(KLING);
    const { jobId } = await model.start(
      { model: KLING, prompt: "A penguin surfing", seconds: 5, aspectRatio: "16:9" },
      { timeoutMs: 5_000 },
    );
    const { seen } = await pollUntilDone(() => model.poll(jobId, { timeoutMs: 5_000 }));
    expect(seen.slice(0, 3)).toEqual([
      { status: "running", progress: 0 },
      { status: "running", progress: 0 },
      { status: "running" },
    ]);
    const done = seen.at(-1)!;
    expect(done).toEqual({
      status: "succeeded",
      video: { mediaType: "video/mp4", data: expect.any(Uint8Array) },
      usage: { videoSeconds: 5 },
    });
    if (done.status !== "succeeded") throw new Error("not done");
    expect(Buffer.from(done.video.data!).equals(FAKE_MP4)).toBe(true);

    const [submit, ...rest] = fake.requests;
    expect(submit).toMatchObject({ method: "POST", path: `/${KLING}` });
    expect(submit!.body).toEqual({ prompt: "A penguin surfing", duration: "5", aspect_ratio: "16:9" });
    const requestId = rest[0]!.path.split("/")[4];
    // Status and result live under the app root, without the model's sub-path.
    expect(rest.map((request) => `${request.method} ${request.path}`)).toEqual([
      ...Array(4).fill(`GET /fal-ai/kling-video/requests/${requestId}/status`),
      `GET /fal-ai/kling-video/requests/${requestId}`,
      `GET /files/penguin/${requestId}.mp4`,
    ]);
    for (const request of fake.requests.slice(0, -1)) expect(request.headers.authorization).toBe(`Key ${API_KEY}`);
    // The file URL is public: the key must not travel to the CDN.
    expect(fake.requests.at(-1)!.headers.authorization).toBeUndefined();
  });

  it("uses the owner/app root for Seedance too, and recognises an MP4 its result does not label", async () => {
    fake.declareContentType = false;
    fake.queuedPolls = 0;
    fake.runningPolls = 0;
    const model = fal().video!(SEEDANCE);
    const { jobId } = await model.start({ model: SEEDANCE, prompt: "Waves", seconds: 10 });
    const result = await model.poll(jobId);
    expect(result).toMatchObject({
      status: "succeeded",
      video: { mediaType: "video/mp4" },
      usage: { videoSeconds: 10 },
    });
    expect(fake.requests[0]!.body).toEqual({ prompt: "Waves", duration: "10" });
    expect(fake.requests[1]!.path).toMatch(/^\/fal-ai\/bytedance\/requests\/[\w-]+\/status$/);
  });

  it("job ids survive a restart: a new provider instance polls a job another one started", async () => {
    fake.queuedPolls = 0;
    fake.runningPolls = 1;
    const { jobId } = await fal().video!(KLING).start({ model: KLING, prompt: SECRET, seconds: 10 });
    expect(jobId).not.toContain(API_KEY);
    expect(Buffer.from(jobId.split(".")[1] ?? "", "base64url").toString()).not.toContain("secret");

    const restarted = createFal({ apiKey: API_KEY, baseURL: fake.url });
    expect(await restarted.video!(KLING).poll(jobId)).toEqual({ status: "running" });
    const again = createFal({ apiKey: API_KEY, baseURL: fake.url });
    expect(await again.video!(KLING).poll(jobId)).toMatchObject({ status: "succeeded", usage: { videoSeconds: 10 } });
  });

  it("refuses malformed job ids without calling out", async () => {
    const model = fal().video!(KLING);
    const forged = (payload: unknown) => `fal1.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    for (const jobId of [
      "",
      "nonsense",
      "fal1.%%%",
      "demo1.eyJ9",
      forged({ m: "../admin", r: "abc", s: 5 }),
      forged({ m: KLING, r: "../../x", s: 5 }),
      forged({ m: KLING, r: "abc", s: 0 }),
      forged({ m: KLING, r: "abc" }),
    ]) {
      expect((await failure(() => model.poll(jobId))).kind).toBe("invalid_request");
    }
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses impossible requests without calling out", async () => {
    for (const [modelId, request] of [
      [KLING, { seconds: 0 }],
      [KLING, { seconds: 1.5 }],
      [KLING, { seconds: 61 }],
      [KLING, { aspectRatio: "wide" }],
      [KLING, { prompt: "  " }],
      ["../../etc/passwd", {}],
      ["kling", {}],
    ] as const) {
      const error = await failure(() => fal().video!(modelId).start({ model: modelId, prompt: "x", ...request }));
      expect(error.kind).toBe("invalid_request");
    }
    expect(fake.requests).toHaveLength(0);
  });
});

describe("fal adapter: failed jobs", () => {
  const cases = [
    { outcome: "content_policy", kind: "content_policy", code: "content_policy_violation", status: 422 },
    { outcome: "validation_error", kind: "invalid_request", code: "literal_error", status: 422 },
    { outcome: "runner_error", kind: "upstream", code: "runner_server_error", status: 500 },
  ] as const;

  for (const { outcome, kind, code, status } of cases) {
    it(`reports a job that ended in ${outcome} as failed (${kind}), without the vendor's text`, async () => {
      fake.outcome = outcome;
      fake.queuedPolls = 0;
      fake.runningPolls = 0;
      const model = fal().video!(KLING);
      const { jobId } = await model.start({ model: KLING, prompt: SECRET });
      const result = await model.poll(jobId);
      if (result.status !== "failed") throw new Error(`expected failed, got ${result.status}`);
      expect(result.error).toBeInstanceOf(ProviderError);
      expect(result.error).toMatchObject({ kind, code, status, provider: "fal" });
      expectNoVendorText(result.error);
      expect(fake.requests.some((request) => request.path.startsWith("/files/"))).toBe(false);
    });
  }

  it("refuses to download a video from a foreign host", async () => {
    for (const origin of ["https://cdn.evil.example", "http://v3.fal.media", "https://fal.media.evil.example"]) {
      fake.reset();
      fake.queuedPolls = 0;
      fake.runningPolls = 0;
      fake.videoOrigin = origin;
      const model = fal().video!(KLING);
      const { jobId } = await model.start({ model: KLING, prompt: "x" });
      const result = await model.poll(jobId);
      if (result.status !== "failed") throw new Error(`expected failed, got ${result.status}`);
      expect(result.error.message).toBe("fal: upstream (untrusted result URL)");
      expect(fake.requests.some((request) => request.path.startsWith("/files/"))).toBe(false);
    }
  });
});

describe("fal adapter: errors", () => {
  const cases: Array<{ status: number; kind: ProviderError["kind"]; retryable: boolean; code?: string }> = [
    { status: 401, kind: "auth", retryable: false },
    { status: 403, kind: "auth", retryable: false },
    { status: 402, kind: "rate_limited", retryable: false },
    { status: 429, kind: "rate_limited", retryable: true },
    { status: 408, kind: "timeout", retryable: true },
    { status: 400, kind: "invalid_request", retryable: false, code: "bad_request" },
    { status: 422, kind: "invalid_request", retryable: false, code: "literal_error" },
    { status: 422, kind: "content_policy", retryable: false, code: "content_policy_violation" },
    { status: 500, kind: "upstream", retryable: true, code: "internal_error" },
    { status: 503, kind: "upstream", retryable: true, code: "runner_scheduling_failure" },
  ];

  for (const { status, kind, retryable, code } of cases) {
    it(`maps ${status}${code ? ` ${code}` : ""} when queueing to ${kind}, without echoing the vendor's text`, async () => {
      fake.failNext(
        status,
        status === 422
          ? { detail: [{ loc: ["body", "prompt"], msg: `Fake: "${SECRET}"`, type: code }] }
          : { detail: `Fake rejection of "${SECRET}"`, ...(code ? { error_type: code } : {}) },
      );
      const error = await failure(() => fal().video!(KLING).start({ model: KLING, prompt: SECRET }));
      expect(error).toMatchObject({ kind, retryable, status, provider: "fal" });
      if (code) expect(error.code).toBe(code);
      expect(error.requestId).toBeTruthy();
      expectNoVendorText(error);
      expect(fake.requests).toHaveLength(1);
    });
  }

  it("throws, rather than failing the job, when the status check itself fails", async () => {
    const model = fal().video!(KLING);
    const { jobId } = await model.start({ model: KLING, prompt: "x" });
    fake.failNext(503, { detail: "Fake", error_type: "runner_connection_error" }, /\/status$/);
    expect(await failure(() => model.poll(jobId))).toMatchObject({ kind: "upstream", status: 503 });
    fake.failNext(401, { detail: "Fake" }, /\/status$/);
    expect(await failure(() => model.poll(jobId))).toMatchObject({ kind: "auth", status: 401 });
    fake.malformedNext(/\/status$/);
    expect((await failure(() => model.poll(jobId))).message).toBe("fal: upstream (malformed response)");
    // …and the job is still there to poll.
    expect(await model.poll(jobId)).toEqual({ status: "running", progress: 0 });
  });

  it("throws on our own auth or rate problems fetching the result, rather than failing the job", async () => {
    fake.queuedPolls = 0;
    fake.runningPolls = 0;
    const model = fal().video!(KLING);
    const { jobId } = await model.start({ model: KLING, prompt: "x" });
    fake.failNext(429, { detail: "Fake" }, /\/requests\/[\w-]+$/);
    expect(await failure(() => model.poll(jobId))).toMatchObject({ kind: "rate_limited" });
    expect(await model.poll(jobId)).toMatchObject({ status: "succeeded" });
  });

  it("maps a refused connection to a retryable upstream error", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const offline = createFal({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}` });
    const error = await failure(() => offline.video!(KLING).start({ model: KLING, prompt: "x" }));
    expect(error).toMatchObject({ kind: "upstream", retryable: true });
  });

  it("times out a hanging queue submit and a hanging status check after timeoutMs", async () => {
    const model = fal().video!(KLING);
    fake.hangNext();
    const started = Date.now();
    expect(await failure(() => model.start({ model: KLING, prompt: "x" }, { timeoutMs: 300 }))).toMatchObject({
      kind: "timeout",
      retryable: true,
    });
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));

    const { jobId } = await model.start({ model: KLING, prompt: "x" });
    fake.hangNext(/\/status$/);
    expect((await failure(() => model.poll(jobId, { timeoutMs: 300 }))).kind).toBe("timeout");
    await vi.waitFor(() => expect(fake.requests.at(-1)!.closedEarly).toBe(true));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("aborts a poll in flight, and sends nothing when already aborted", async () => {
    const model = fal().video!(KLING);
    const { jobId } = await model.start({ model: KLING, prompt: "x" });
    fake.hangNext(/\/status$/);
    const controller = new AbortController();
    const pending = model.poll(jobId, { signal: controller.signal });
    await vi.waitFor(() => expect(fake.requests).toHaveLength(2));
    controller.abort();
    expect(await failure(() => pending)).toMatchObject({ kind: "aborted", retryable: false });
    await vi.waitFor(() => expect(fake.requests[1]!.closedEarly).toBe(true));

    expect((await failure(() => model.poll(jobId, { signal: AbortSignal.abort() }))).kind).toBe("aborted");
    expect(
      (await failure(() => model.start({ model: KLING, prompt: "x" }, { signal: AbortSignal.abort() }))).kind,
    ).toBe("aborted");
    expect(fake.requests).toHaveLength(2);
  });
});

describe("fal adapter: privacy", () => {
  it("sends only prompt, duration and aspect ratio: nothing that identifies a member", async () => {
    const memberId = "mbr_7f3c9a1e-member-id";
    fake.queuedPolls = 0;
    fake.runningPolls = 0;
    const model = fal().video!(KLING);
    const { jobId } = await model.start({ model: KLING, prompt: "A fox", seconds: 5, aspectRatio: "9:16" });
    await model.poll(jobId);
    expect(Object.keys(fake.requests[0]!.body).sort()).toEqual(["aspect_ratio", "duration", "prompt"]);
    for (const request of fake.requests) {
      for (const forbidden of ["member", "@", memberId, '"user', "webhook", "metadata"]) {
        expect(request.raw.toLowerCase()).not.toContain(forbidden.toLowerCase());
      }
      expect([...request.query.keys()]).toEqual([]);
      expect(JSON.stringify(request.headers).toLowerCase()).not.toContain("member");
    }
  });
});
