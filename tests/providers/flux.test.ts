import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createFlux, fluxSize } from "#providers/flux/index";
import { ProviderError } from "#providers/types";
import { ONE_PIXEL_PNG, startFakeFlux, type FakeFlux } from "#tests/fakes/flux-server";

// The Black Forest Labs adapter end to end over HTTP, against a local server speaking BFL's wire
// format (submit → poll → signed delivery URL). Nothing is mocked between the adapter and the socket.

let fake: FakeFlux;
const API_KEY = "bfl-test-key-0123456789";
const SECRET = "my secret prompt about Alice";

beforeAll(async () => {
  fake = await startFakeFlux();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

function flux(settings: { pollIntervalMs?: number } = {}) {
  return createFlux({ apiKey: API_KEY, baseURL: fake.url, pollIntervalMs: settings.pollIntervalMs ?? 0 });
}

async function failure(work: () => Promise<unknown>): Promise<ProviderError> {
  const error = await work().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

function expectNoSecret(error: ProviderError) {
  expect(error.message).not.toContain("secret");
  expect(error.userMessage).not.toContain("secret");
  expect(JSON.stringify(error)).not.toContain("secret");
  expect(error.message).not.toContain("Fake");
}

describe("flux adapter", () => {
  it("is listed without a key but not configured; configured with one", () => {
    const bare = createFlux();
    expect(bare).toMatchObject({ id: "flux", label: "Black Forest Labs", isConfigured: false });
    expect(createFlux({ apiKey: "" }).isConfigured).toBe(false);
    expect(flux().isConfigured).toBe(true);
    expect(bare.image).toBeTypeOf("function");
    expect(bare.text).toBeUndefined();
  });

  it("submits, polls until Ready, downloads the signed sample: exact bytes and usage", async () => {
    fake.pendingPolls = 2;
    const result = await flux().image!("flux-pro-1.1").generate(
      { model: "flux-pro-1.1", prompt: "A lighthouse at dusk", size: "1000x600" },
      { timeoutMs: 5_000 },
    );
    expect(result.usage).toEqual({ images: 1 });
    expect(result.images).toHaveLength(1);
    expect(result.images[0]!.mediaType).toBe("image/png");
    expect(Buffer.from(result.images[0]!.data).equals(ONE_PIXEL_PNG)).toBe(true);

    expect(fake.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      "POST /v1/flux-pro-1.1",
      "GET /v1/get_result",
      "GET /v1/get_result",
      "GET /v1/get_result",
      "GET /delivery/" + fake.requests[1]!.query.get("id") + ".png",
    ]);
    const [submit, ...rest] = fake.requests;
    // Sides rounded to the nearest multiple of 32, as FLUX requires.
    expect(submit!.body).toEqual({ prompt: "A lighthouse at dusk", width: 992, height: 608 });
    expect(submit!.headers["x-key"]).toBe(API_KEY);
    expect(submit!.headers["content-type"]).toBe("application/json");
    for (const poll of rest.slice(0, 3)) expect(poll.headers["x-key"]).toBe(API_KEY);
    // The delivery URL is signed: the key must not travel to the CDN.
    expect(rest[3]!.headers["x-key"]).toBeUndefined();
    expect(rest[3]!.headers.authorization).toBeUndefined();
  });

  it("rounds sizes to multiples of 32 and refuses impossible ones without calling out", async () => {
    expect(fluxSize("1024x768")).toEqual({ width: 1024, height: 768 });
    expect(fluxSize("1000x600")).toEqual({ width: 992, height: 608 });
    expect(fluxSize("10x10")).toEqual({ width: 32, height: 32 });
    expect(fluxSize(undefined)).toBeUndefined();
    const model = flux().image!("flux-dev");
    for (const size of ["0x10", "99999x10", "big", "10x"]) {
      expect((await failure(() => model.generate({ model: "flux-dev", prompt: "x", size }))).kind).toBe(
        "invalid_request",
      );
    }
    expect(fake.requests).toHaveLength(0);
  });

  it("sends no size when none is asked for, and an aspect ratio to Kontext", async () => {
    await flux().image!("flux-dev").generate({ model: "flux-dev", prompt: "Mountains" });
    expect(fake.requests[0]!.body).toEqual({ prompt: "Mountains" });
    fake.reset();
    await flux().image!("flux-kontext-pro").generate({ model: "flux-kontext-pro", prompt: "Sea", size: "1920x1080" });
    expect(fake.requests[0]).toMatchObject({
      path: "/v1/flux-kontext-pro",
      body: { prompt: "Sea", aspect_ratio: "16:9" },
    });
  });

  it("makes n images as n tasks, and refuses n outside 1–4", async () => {
    fake.pendingPolls = 1;
    const result = await flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "Cats", n: 3 });
    expect(result.usage).toEqual({ images: 3 });
    expect(result.images).toHaveLength(3);
    expect(fake.requests.filter((request) => request.method === "POST")).toHaveLength(3);
    const before = fake.requests.length;
    for (const n of [0, 5, 1.5]) {
      const error = await failure(() =>
        flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x", n }),
      );
      expect(error.kind).toBe("invalid_request");
    }
    expect(fake.requests).toHaveLength(before);
  });

  it("maps moderation to content_policy and failed tasks to upstream, without the vendor's reasons", async () => {
    const cases = [
      { outcome: "Request Moderated", kind: "content_policy", code: "request_moderated" },
      { outcome: "Content Moderated", kind: "content_policy", code: "content_moderated" },
      { outcome: "Error", kind: "upstream", code: "generation_error" },
      { outcome: "Failed", kind: "upstream", code: "generation_failed" },
      { outcome: "Task not found", kind: "upstream", code: "task_not_found" },
    ] as const;
    for (const { outcome, kind, code } of cases) {
      fake.reset();
      fake.outcome = outcome;
      const error = await failure(() =>
        flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: SECRET }),
      );
      expect(error).toMatchObject({ kind, code, provider: "flux" });
      expect(error.message).not.toContain("reason");
      expectNoSecret(error);
      expect(fake.requests.some((request) => request.path.startsWith("/delivery/"))).toBe(false);
    }
  });
});

describe("flux adapter: errors", () => {
  const cases: Array<{ status: number; kind: ProviderError["kind"]; retryable: boolean; code?: string }> = [
    { status: 401, kind: "auth", retryable: false },
    { status: 403, kind: "auth", retryable: false },
    { status: 402, kind: "rate_limited", retryable: false },
    { status: 429, kind: "rate_limited", retryable: true },
    { status: 408, kind: "timeout", retryable: true },
    { status: 400, kind: "invalid_request", retryable: false },
    { status: 422, kind: "invalid_request", retryable: false, code: "value_error" },
    { status: 500, kind: "upstream", retryable: true },
    { status: 503, kind: "upstream", retryable: true },
  ];

  for (const { status, kind, retryable, code } of cases) {
    it(`maps ${status} to ${kind} (retryable: ${retryable}) without echoing the vendor's text`, async () => {
      const body =
        status === 422
          ? { detail: [{ loc: ["body", "width"], msg: `Fake: "${SECRET}" is invalid`, type: "value_error" }] }
          : { detail: `Fake rejection of "${SECRET}"` };
      fake.failNext(status, body);
      const error = await failure(() =>
        flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: SECRET }),
      );
      expect(error).toMatchObject({ kind, retryable, status, provider: "flux" });
      if (code) expect(error.code).toBe(code);
      expect(error.requestId).toMatch(/^req_/);
      expectNoSecret(error);
      expect(fake.requests).toHaveLength(1); // no retries: the app decides
    });
  }

  it("fails on an error while polling", async () => {
    fake.pendingPolls = 1;
    fake.failNext(500, { detail: `Fake: ${SECRET}` }, "/v1/get_result");
    const error = await failure(() =>
      flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: SECRET }),
    );
    expect(error).toMatchObject({ kind: "upstream", status: 500 });
    expectNoSecret(error);
    expect(fake.requests.map((request) => request.path)).toEqual(["/v1/flux-pro-1.1", "/v1/get_result"]);
  });

  it("turns a malformed answer into upstream", async () => {
    fake.malformedNext();
    const error = await failure(() => flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x" }));
    expect(error).toMatchObject({ kind: "upstream", retryable: true });
    expect(error.message).toBe("flux: upstream (malformed response)");
  });

  it("maps a refused connection to a retryable upstream error", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const offline = createFlux({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}` });
    const error = await failure(() => offline.image!("flux-dev").generate({ model: "flux-dev", prompt: "x" }));
    expect(error).toMatchObject({ kind: "upstream", retryable: true });
  });

  it("times out a hanging submit, and a hanging poll, after timeoutMs", async () => {
    const model = flux().image!("flux-pro-1.1");
    fake.hangNext();
    const started = Date.now();
    expect(
      await failure(() => model.generate({ model: "flux-pro-1.1", prompt: "x" }, { timeoutMs: 300 })),
    ).toMatchObject({ kind: "timeout", retryable: true });
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));

    fake.reset();
    fake.hangNext("/v1/get_result");
    const polled = flux().image!("flux-pro-1.1");
    expect(
      (await failure(() => polled.generate({ model: "flux-pro-1.1", prompt: "x" }, { timeoutMs: 300 }))).kind,
    ).toBe("timeout");
    await vi.waitFor(() => expect(fake.requests[1]!.closedEarly).toBe(true));

    fake.reset();
    fake.pendingPolls = 1_000_000;
    const slow = flux({ pollIntervalMs: 20 }).image!("flux-pro-1.1");
    expect((await failure(() => slow.generate({ model: "flux-pro-1.1", prompt: "x" }, { timeoutMs: 300 }))).kind).toBe(
      "timeout",
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("aborts during the pause between polls: aborted, and no further poll goes out", async () => {
    const controller = new AbortController();
    const pending = flux({ pollIntervalMs: 60_000 }).image!("flux-pro-1.1").generate(
      { model: "flux-pro-1.1", prompt: "x" },
      { signal: controller.signal },
    );
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
    controller.abort();
    expect(await failure(() => pending)).toMatchObject({ kind: "aborted", retryable: false });
    expect(fake.requests.map((request) => request.path)).toEqual(["/v1/flux-pro-1.1"]);
  });

  it("aborts a poll in flight, and sends nothing when already aborted", async () => {
    fake.hangNext("/v1/get_result");
    const controller = new AbortController();
    const pending = flux().image!("flux-pro-1.1").generate(
      { model: "flux-pro-1.1", prompt: "x" },
      { signal: controller.signal },
    );
    await vi.waitFor(() => expect(fake.requests).toHaveLength(2));
    controller.abort();
    expect(await failure(() => pending)).toMatchObject({ kind: "aborted", retryable: false });
    await vi.waitFor(() => expect(fake.requests[1]!.closedEarly).toBe(true));

    const already = await failure(() =>
      flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x" }, { signal: AbortSignal.abort() }),
    );
    expect(already.kind).toBe("aborted");
    expect(fake.requests).toHaveLength(2);
  });
});

describe("flux adapter: vendor URLs", () => {
  it("refuses to follow a polling URL on a foreign host (the key would go there)", async () => {
    for (const origin of ["https://evil.example.com", "http://api.bfl.ai", "https://api.bfl.ai.evil.example"]) {
      fake.reset();
      fake.pollingOrigin = origin;
      const error = await failure(() => flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x" }));
      expect(error).toMatchObject({ kind: "upstream", message: "flux: upstream (untrusted polling URL)" });
      expect(fake.requests).toHaveLength(1); // the submit only
    }
  });

  it("refuses to download a result from a foreign host", async () => {
    for (const origin of ["https://cdn.evil.example", "http://delivery-eu1.bfl.ai", "http://127.0.0.2:1"]) {
      fake.reset();
      fake.pendingPolls = 0;
      fake.deliveryOrigin = origin;
      const error = await failure(() => flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x" }));
      expect(error).toMatchObject({ kind: "upstream", message: "flux: upstream (untrusted result URL)" });
      expect(fake.requests.map((request) => request.path)).toEqual(["/v1/flux-pro-1.1", "/v1/get_result"]);
    }
  });

  it("follows a delivery redirect only while every hop stays on an allowed host", async () => {
    fake.pendingPolls = 0;
    fake.deliveryRedirect = fake.url;
    const result = await flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x" });
    expect(Buffer.from(result.images[0]!.data).equals(ONE_PIXEL_PNG)).toBe(true);
    expect(fake.requests.at(-1)!.path).toMatch(/^\/moved\//);
    expect(fake.requests.at(-1)!.headers["x-key"]).toBeUndefined();

    fake.reset();
    fake.pendingPolls = 0;
    fake.deliveryRedirect = "https://storage.evil.example";
    const error = await failure(() => flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x" }));
    expect(error.message).toBe("flux: upstream (untrusted result URL)");
  });

  it("refuses a delivery that is not an image", async () => {
    fake.image = { bytes: Buffer.from("<html>not an image</html>"), contentType: "text/html" };
    const error = await failure(() => flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "x" }));
    expect(error.message).toBe("flux: upstream (unrecognised image data)");
  });
});

describe("flux adapter: privacy", () => {
  it("sends only the prompt and size: nothing that identifies a member", async () => {
    const memberId = "mbr_7f3c9a1e-member-id";
    await flux().image!("flux-pro-1.1").generate({ model: "flux-pro-1.1", prompt: "A fox", size: "1024x1024", n: 1 });
    const submit = fake.requests[0]!;
    expect(Object.keys(submit.body).sort()).toEqual(["height", "prompt", "width"]);
    for (const request of fake.requests) {
      for (const forbidden of ["member", "@", memberId, '"user', "webhook", "metadata"]) {
        expect(request.raw.toLowerCase()).not.toContain(forbidden.toLowerCase());
      }
      for (const forbidden of ["member", memberId]) {
        expect(JSON.stringify(request.headers).toLowerCase()).not.toContain(forbidden.toLowerCase());
      }
    }
  });
});
