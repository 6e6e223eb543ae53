import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { createDemo } from "#providers/demo/index";
import { crc32 } from "#providers/demo/png";
import { ProviderError, type TextRequest, type TextStreamEvent } from "#providers/types";

const demo = createDemo({ wordDelayMs: 0 });
const text = demo.text!("chat");
const image = demo.image!("image");
const speech = demo.speech!("voice");

function ask(prompt: string, extra: Partial<TextRequest> = {}): TextRequest {
  return { model: "chat", messages: [{ role: "user", content: [{ type: "text", text: prompt }] }], ...extra };
}

async function collect(events: AsyncIterable<TextStreamEvent>) {
  const deltas: string[] = [];
  let finish: Extract<TextStreamEvent, { type: "finish" }> | undefined;
  for await (const event of events) {
    if (event.type === "text-delta") deltas.push(event.text);
    else finish = event;
  }
  return { deltas, finish };
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("demo provider: text", () => {
  it("is labelled Demo and says so in its replies", async () => {
    expect(demo.label).toBe("Demo");
    expect(demo.isConfigured).toBe(true);
    const result = await text.generate(ask("Hello there"));
    expect(result.text.startsWith("Demo reply")).toBe(true);
  });

  it("is deterministic: same prompt, same text; another prompt, another text", async () => {
    const a = await text.generate(ask("Write a haiku about the sea"));
    const b = await text.generate(ask("Write a haiku about the sea"));
    expect(a).toEqual(b);
    const others = await Promise.all(
      ["one", "two", "three", "four", "five"].map((word) => text.generate(ask(`A prompt about ${word}`))),
    );
    expect(new Set([a.text, ...others.map((other) => other.text)]).size).toBeGreaterThan(1);
  });

  it("streams word by word; the deltas concatenate to the generated text, with honest usage", async () => {
    const request = ask("Please explain how the wallet works in five words");
    const { deltas, finish } = await collect(text.stream(request));
    const generated = await text.generate(request);
    expect(deltas.length).toBeGreaterThan(5);
    for (const delta of deltas) expect(delta.trim().split(/\s+/)).toHaveLength(1);
    expect(deltas.join("")).toBe(generated.text);
    expect(finish).toEqual({
      type: "finish",
      finishReason: "stop",
      usage: { inputTokens: 9, outputTokens: deltas.length, cachedInputTokens: 0 },
    });
    expect(generated.usage).toEqual(finish?.usage);
    expect(generated.text).toContain("Your message had 9 words.");
  });

  it("counts every message's words as input, and stops at maxOutputTokens", async () => {
    const request: TextRequest = {
      model: "chat",
      maxOutputTokens: 4,
      messages: [
        { role: "system", content: [{ type: "text", text: "Be brief." }] },
        { role: "user", content: [{ type: "text", text: "First question here" }] },
        { role: "assistant", content: [{ type: "text", text: "An answer." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "And a follow-up" },
            { type: "file", mediaType: "image/png", data: new Uint8Array([1, 2, 3]) },
          ],
        },
      ],
    };
    const { deltas, finish } = await collect(text.stream(request));
    expect(deltas).toHaveLength(4);
    expect(finish).toEqual({
      type: "finish",
      finishReason: "length",
      usage: { inputTokens: 2 + 3 + 2 + 3, outputTokens: 4, cachedInputTokens: 0 },
    });
  });

  it("stops streaming and throws an aborted ProviderError when the signal aborts", async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await (async () => {
      try {
        for await (const event of text.stream(ask("Tell me a long story"), { signal: controller.signal })) {
          if (event.type === "text-delta") seen.push(event.text);
          if (seen.length === 2) controller.abort();
        }
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("aborted");
    expect((error as ProviderError).retryable).toBe(false);
    expect(seen).toHaveLength(2);

    const already = AbortSignal.abort();
    expect((await rejection(text.generate(ask("x"), { signal: already }))).kind).toBe("aborted");
    expect((await rejection(image.generate({ model: "image", prompt: "x" }, { signal: already }))).kind).toBe(
      "aborted",
    );
  });

  it("aborts a paused stream promptly and times out with kind timeout", async () => {
    const slow = createDemo({ wordDelayMs: 10_000 }).text!("chat");
    const controller = new AbortController();
    const started = Date.now();
    const iterator = slow.stream(ask("Hello"), { signal: controller.signal })[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ type: "text-delta" });
    const pending = iterator.next();
    controller.abort();
    expect((await rejection(pending)).kind).toBe("aborted");

    const timedOut = slow.stream(ask("Hello"), { timeoutMs: 50 })[Symbol.asyncIterator]();
    await timedOut.next();
    expect((await rejection(timedOut.next())).kind).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("refuses files outside user messages", async () => {
    const error = await rejection(
      text.generate({
        model: "chat",
        messages: [
          { role: "system", content: [{ type: "file", mediaType: "text/plain", data: new Uint8Array([65]) }] },
        ],
      }),
    );
    expect(error.kind).toBe("invalid_request");
  });
});

/** Parses a PNG's chunks, checking every CRC. */
function pngChunks(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: Array<{ type: string; data: Uint8Array }> = [];
  let offset = 8;
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    expect(view.getUint32(offset + 8 + length), `CRC of ${type}`).toBe(
      crc32(bytes.subarray(offset + 4, offset + 8 + length)),
    );
    chunks.push({ type, data });
    offset += 12 + length;
  }
  expect(offset).toBe(bytes.length);
  return chunks;
}

describe("demo provider: image", () => {
  it("makes a valid PNG of the requested size, the same bytes for the same prompt", async () => {
    const a = await image.generate({ model: "image", prompt: "A lighthouse at dusk", size: "64x48" });
    const b = await image.generate({ model: "image", prompt: "A lighthouse at dusk", size: "64x48" });
    const c = await image.generate({ model: "image", prompt: "A cat in a hat", size: "64x48" });
    expect(a.usage).toEqual({ images: 1 });
    expect(a.images).toHaveLength(1);
    const png = a.images[0]!;
    expect(png.mediaType).toBe("image/png");
    expect(Buffer.from(png.data).equals(Buffer.from(b.images[0]!.data))).toBe(true);
    expect(Buffer.from(png.data).equals(Buffer.from(c.images[0]!.data))).toBe(false);

    expect([...png.data.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const chunks = pngChunks(png.data);
    expect(chunks.map((chunk) => chunk.type)).toEqual(["IHDR", "IDAT", "IEND"]);
    const ihdr = new DataView(chunks[0]!.data.buffer, chunks[0]!.data.byteOffset, 13);
    expect(chunks[0]!.data).toHaveLength(13);
    expect(ihdr.getUint32(0)).toBe(64);
    expect(ihdr.getUint32(4)).toBe(48);
    expect([...chunks[0]!.data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
    const raw = inflateSync(chunks[1]!.data);
    expect(raw.length).toBe((64 * 3 + 1) * 48);
    for (let y = 0; y < 48; y++) expect(raw[y * (64 * 3 + 1)]).toBe(0);
  });

  it("makes n distinct images and refuses impossible sizes", async () => {
    const result = await image.generate({ model: "image", prompt: "Mountains", n: 3, size: "16x16" });
    expect(result.usage).toEqual({ images: 3 });
    expect(new Set(result.images.map((png) => Buffer.from(png.data).toString("hex"))).size).toBe(3);
    expect((await image.generate({ model: "image", prompt: "Default size" })).images[0]!.data.length).toBeGreaterThan(
      100,
    );
    for (const size of ["0x10", "99999x10", "big", "10x"]) {
      expect((await rejection(image.generate({ model: "image", prompt: "x", size }))).kind).toBe("invalid_request");
    }
    expect((await rejection(image.generate({ model: "image", prompt: "x", n: 0 }))).kind).toBe("invalid_request");
  });
});

describe("demo provider: speech", () => {
  it("makes a valid 16-bit PCM mono WAV, deterministic, billed per character", async () => {
    const request = { model: "voice", text: "Hello wallet, héllo 👋" };
    const a = await speech.generate(request);
    const b = await speech.generate(request);
    expect(Buffer.from(a.audio.data).equals(Buffer.from(b.audio.data))).toBe(true);
    expect(a.audio.mediaType).toBe("audio/wav");
    expect(a.usage).toEqual({ characters: 21 });

    const wav = Buffer.from(a.audio.data);
    expect(wav.toString("ascii", 0, 4)).toBe("RIFF");
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.toString("ascii", 8, 12)).toBe("WAVE");
    expect(wav.toString("ascii", 12, 16)).toBe("fmt ");
    expect(wav.readUInt32LE(16)).toBe(16);
    expect(wav.readUInt16LE(20)).toBe(1); // PCM
    expect(wav.readUInt16LE(22)).toBe(1); // mono
    const sampleRate = wav.readUInt32LE(24);
    expect(wav.readUInt32LE(28)).toBe(sampleRate * 2);
    expect(wav.readUInt16LE(32)).toBe(2);
    expect(wav.readUInt16LE(34)).toBe(16);
    expect(wav.toString("ascii", 36, 40)).toBe("data");
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    const seconds = (wav.length - 44) / 2 / sampleRate;
    expect(seconds).toBeGreaterThan(0.5);
    expect(seconds).toBeLessThan(2);
    // Not silence.
    let peak = 0;
    for (let i = 44; i < wav.length; i += 2) peak = Math.max(peak, Math.abs(wav.readInt16LE(i)));
    expect(peak).toBeGreaterThan(5_000);

    const otherVoice = await speech.generate({ ...request, voice: "deep" });
    expect(Buffer.from(otherVoice.audio.data).equals(wav)).toBe(false);
    expect((await rejection(speech.generate({ model: "voice", text: "   " }))).kind).toBe("invalid_request");
  });
});
