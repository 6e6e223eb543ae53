import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createElevenLabs, ELEVENLABS_DEFAULT_VOICE } from "#providers/elevenlabs/index";
import { ProviderError } from "#providers/types";
import {
  FAKE_MP3,
  FAKE_OPUS,
  FAKE_PCM,
  startFakeElevenLabs,
  type FakeElevenLabs,
} from "#tests/fakes/elevenlabs-server";

// The ElevenLabs adapter end to end over HTTP, against a local server speaking its wire format.

let fake: FakeElevenLabs;
const API_KEY = "xi-test-key-0123456789";
const SECRET = "my secret text about Alice";
const MODEL = "eleven_multilingual_v2";

beforeAll(async () => {
  fake = await startFakeElevenLabs();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

function elevenlabs() {
  return createElevenLabs({ apiKey: API_KEY, baseURL: fake.url });
}

async function failure(work: () => Promise<unknown>): Promise<ProviderError> {
  const error = await work().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("elevenlabs adapter", () => {
  it("is listed without a key but not configured; configured with one", () => {
    const bare = createElevenLabs();
    expect(bare).toMatchObject({ id: "elevenlabs", label: "ElevenLabs", isConfigured: false });
    expect(bare.speech).toBeTypeOf("function");
    expect(elevenlabs().isConfigured).toBe(true);
  });

  it("turns text into MP3 with the default voice, billed per code point", async () => {
    const result = await elevenlabs().speech!(MODEL).generate(
      { model: MODEL, text: "Bonjour à tous 👋" },
      { timeoutMs: 5_000 },
    );
    expect(result.audio.mediaType).toBe("audio/mpeg");
    expect(Buffer.from(result.audio.data).equals(FAKE_MP3)).toBe(true);
    expect(result.usage).toEqual({ characters: 16 });

    const [request] = fake.requests;
    expect(request).toMatchObject({ method: "POST", path: `/v1/text-to-speech/${ELEVENLABS_DEFAULT_VOICE}` });
    expect(Object.fromEntries(request!.query)).toEqual({ output_format: "mp3_44100_128" });
    expect(request!.headers["xi-api-key"]).toBe(API_KEY);
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).toEqual({ text: "Bonjour à tous 👋", model_id: MODEL });
  });

  it("maps formats: wav wraps 24 kHz PCM in a WAV header, pcm is raw, opus is Ogg", async () => {
    const model = elevenlabs().speech!(MODEL);
    const wav = await model.generate({ model: MODEL, text: "Hi", voice: "21m00Tcm4TlvDq8ikWAM", format: "wav" });
    expect(fake.requests[0]!.path).toBe("/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM");
    expect(fake.requests[0]!.query.get("output_format")).toBe("pcm_24000");
    expect(wav.audio.mediaType).toBe("audio/wav");
    const file = Buffer.from(wav.audio.data);
    expect(file.toString("ascii", 0, 4)).toBe("RIFF");
    expect(file.toString("ascii", 8, 12)).toBe("WAVE");
    expect(file.readUInt32LE(24)).toBe(24_000);
    expect(file.readUInt16LE(34)).toBe(16);
    expect(file.readUInt32LE(40)).toBe(FAKE_PCM.length);
    expect(file.subarray(44).equals(FAKE_PCM)).toBe(true);

    const pcm = await model.generate({ model: MODEL, text: "Hi", format: "pcm" });
    expect(pcm.audio.mediaType).toBe("audio/L16;rate=24000;channels=1");
    expect(Buffer.from(pcm.audio.data).equals(FAKE_PCM)).toBe(true);

    const opus = await model.generate({ model: MODEL, text: "Hi", format: "opus" });
    expect(fake.requests[2]!.query.get("output_format")).toBe("opus_48000_128");
    expect(opus.audio.mediaType).toBe("audio/ogg");
    expect(Buffer.from(opus.audio.data).equals(FAKE_OPUS)).toBe(true);
  });

  it("refuses unknown formats, voices that are not ids, and empty text without calling out", async () => {
    const model = elevenlabs().speech!(MODEL);
    for (const request of [
      { format: "midi" },
      { voice: "../../v1/user" },
      { voice: "Rachel Smith" },
      { text: "   " },
    ]) {
      const error = await failure(() => model.generate({ model: MODEL, text: "Hi", ...request }));
      expect(error.kind).toBe("invalid_request");
    }
    expect(fake.requests).toHaveLength(0);
  });

  it("treats an empty answer as an upstream failure", async () => {
    fake.emptyNext();
    const error = await failure(() => elevenlabs().speech!(MODEL).generate({ model: MODEL, text: "Hi" }));
    expect(error.message).toBe("elevenlabs: upstream (empty audio)");
  });
});

describe("elevenlabs adapter: errors", () => {
  const cases: Array<{ status: number; code?: string; kind: ProviderError["kind"]; retryable: boolean }> = [
    { status: 401, code: "invalid_api_key", kind: "auth", retryable: false },
    { status: 403, kind: "auth", retryable: false },
    // ElevenLabs reports an account out of characters as a 401.
    { status: 401, code: "quota_exceeded", kind: "rate_limited", retryable: false },
    { status: 402, code: "payment_required", kind: "rate_limited", retryable: false },
    { status: 429, code: "too_many_concurrent_requests", kind: "rate_limited", retryable: true },
    { status: 408, kind: "timeout", retryable: true },
    { status: 400, code: "voice_not_found", kind: "invalid_request", retryable: false },
    { status: 400, code: "max_character_limit_exceeded", kind: "invalid_request", retryable: false },
    { status: 422, code: "value_error", kind: "invalid_request", retryable: false },
    { status: 500, kind: "upstream", retryable: true },
    { status: 503, kind: "upstream", retryable: true },
  ];

  for (const { status, code, kind, retryable } of cases) {
    it(`maps ${status}${code ? ` ${code}` : ""} to ${kind} without echoing the vendor's text`, async () => {
      fake.failNext(
        status,
        status === 422
          ? [{ loc: ["body", "text"], msg: `Fake: "${SECRET}"`, type: "value_error" }]
          : { status: code ?? "", message: `Fake rejection of "${SECRET}"` },
      );
      const error = await failure(() => elevenlabs().speech!(MODEL).generate({ model: MODEL, text: SECRET }));
      expect(error).toMatchObject({ kind, retryable, status, provider: "elevenlabs" });
      if (code) expect(error.code).toBe(code);
      expect(error.requestId).toMatch(/^req_/);
      for (const text of [error.message, error.userMessage, JSON.stringify(error)]) {
        expect(text).not.toContain("secret");
        expect(text).not.toContain("Fake");
      }
      expect(fake.requests).toHaveLength(1);
    });
  }

  it("maps a refused connection to a retryable upstream error", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const offline = createElevenLabs({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}` });
    const error = await failure(() => offline.speech!(MODEL).generate({ model: MODEL, text: "Hi" }));
    expect(error).toMatchObject({ kind: "upstream", retryable: true });
  });

  it("times out a hanging server after timeoutMs and cancels the request", async () => {
    fake.hangNext();
    const started = Date.now();
    const error = await failure(() =>
      elevenlabs().speech!(MODEL).generate({ model: MODEL, text: "Hi" }, { timeoutMs: 300 }),
    );
    expect(error).toMatchObject({ kind: "timeout", retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));
  });

  it("aborts a request in flight, and sends nothing when already aborted", async () => {
    fake.hangNext();
    const controller = new AbortController();
    const pending = elevenlabs().speech!(MODEL).generate({ model: MODEL, text: "Hi" }, { signal: controller.signal });
    await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
    controller.abort();
    expect(await failure(() => pending)).toMatchObject({ kind: "aborted", retryable: false });
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));

    const already = await failure(() =>
      elevenlabs().speech!(MODEL).generate({ model: MODEL, text: "Hi" }, { signal: AbortSignal.abort() }),
    );
    expect(already.kind).toBe("aborted");
    expect(fake.requests).toHaveLength(1);
  });
});

describe("elevenlabs adapter: privacy", () => {
  it("sends only text and model id: nothing that identifies a member", async () => {
    const memberId = "mbr_7f3c9a1e-member-id";
    await elevenlabs().speech!(MODEL).generate({
      model: MODEL,
      text: "Hello",
      voice: "JBFqnCBsd6RMkjVDRZzb",
      format: "mp3",
    });
    const [request] = fake.requests;
    expect(Object.keys(request!.body).sort()).toEqual(["model_id", "text"]);
    expect([...request!.query.keys()]).toEqual(["output_format"]);
    for (const forbidden of ["member", "@", memberId, "user", "enable_logging", "previous_text"]) {
      expect(request!.raw.toLowerCase()).not.toContain(forbidden.toLowerCase());
    }
    expect(JSON.stringify(request!.headers).toLowerCase()).not.toContain("member");
  });
});
