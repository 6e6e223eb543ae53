import { inflateSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { createDemo } from "#providers/demo/index";
import { crc32 } from "#providers/demo/png";
import { ProviderError, type TextRequest, type TextStreamEvent, type Usage } from "#providers/types";

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

  it("reports its running usage after every word", async () => {
    const { deltas, order, usages, finish } = await collect(text.stream(ask("Hello there")));
    expect(order.filter((entry) => entry.startsWith("usage:"))).toEqual(deltas.map((_, index) => `usage:${index + 1}`));
    expect(order.slice(0, 2)).toEqual([`text:${deltas[0]}`, "usage:1"]);
    expect(usages.at(-1)).toEqual(finish!.usage);
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
    expect((await iterator.next()).value).toMatchObject({ type: "usage" });
    const pending = iterator.next();
    controller.abort();
    expect((await rejection(pending)).kind).toBe("aborted");

    const timedOut = slow.stream(ask("Hello"), { timeoutMs: 50 })[Symbol.asyncIterator]();
    await timedOut.next(); // the first word
    await timedOut.next(); // its usage
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

// ---------------------------------------------------------------------------------------------
// Video
// ---------------------------------------------------------------------------------------------

type Box = { type: string; start: number; end: number; payload: Uint8Array };

/** ISO BMFF boxes between `start` and `end` (32-bit sizes only, as the demo writes them). */
function boxes(bytes: Uint8Array, start = 0, end = bytes.length): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  let offset = start;
  while (offset < end) {
    const size = view.getUint32(offset);
    expect(size).toBeGreaterThanOrEqual(8);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    out.push({ type, start: offset, end: offset + size, payload: bytes.subarray(offset + 8, offset + size) });
    offset += size;
  }
  expect(offset).toBe(end);
  return out;
}

function child(parent: Box, type: string, skip = 0): Box {
  const found = boxes(parent.payload, skip).find((box) => box.type === type);
  expect(found, type).toBeDefined();
  return found!;
}

/** Reads H.264 RBSP bits (emulation prevention bytes removed first). */
function bitReader(nal: Uint8Array) {
  const rbsp: number[] = [];
  for (let i = 1; i < nal.length; i++) {
    if (i >= 3 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    rbsp.push(nal[i]!);
  }
  let position = 0;
  const bit = () => (rbsp[position >> 3]! >> (7 - (position++ & 7))) & 1;
  const u = (count: number) => {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + bit();
    return value;
  };
  const ue = () => {
    let zeros = 0;
    while (bit() === 0) zeros++;
    return 2 ** zeros - 1 + u(zeros);
  };
  return { u, ue, bit };
}

function mp4Summary(bytes: Uint8Array) {
  const top = boxes(bytes);
  expect(top.map((box) => box.type)).toEqual(["ftyp", "moov", "mdat"]);
  const [ftyp, moov, mdat] = top as [Box, Box, Box];
  expect(String.fromCharCode(...ftyp.payload.subarray(0, 4))).toBe("isom");
  const trak = child(moov, "trak");
  const tkhd = new DataView(child(trak, "tkhd").payload.buffer, child(trak, "tkhd").payload.byteOffset);
  const mdia = child(trak, "mdia");
  const mdhd = new DataView(child(mdia, "mdhd").payload.buffer, child(mdia, "mdhd").payload.byteOffset);
  expect(String.fromCharCode(...child(mdia, "hdlr").payload.subarray(8, 12))).toBe("vide");
  const stbl = child(child(mdia, "minf"), "stbl");
  const stsd = child(stbl, "stsd");
  const avc1 = boxes(stsd.payload, 8)[0]!;
  expect(avc1.type).toBe("avc1");
  const avcC = child(avc1, "avcC", 78);
  const stsz = new DataView(child(stbl, "stsz").payload.buffer, child(stbl, "stsz").payload.byteOffset);
  const count = stsz.getUint32(8);
  const sizes = Array.from({ length: count }, (_, i) => stsz.getUint32(12 + i * 4));
  const stco = new DataView(child(stbl, "stco").payload.buffer, child(stbl, "stco").payload.byteOffset);
  const chunkOffset = stco.getUint32(8);
  expect(chunkOffset).toBe(mdat.start + 8);
  expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(mdat.payload.length);

  // Each sample: one length-prefixed NAL unit; the first an IDR picture, the rest P pictures.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = chunkOffset;
  const nalTypes = sizes.map((size) => {
    expect(view.getUint32(offset)).toBe(size - 4);
    const type = bytes[offset + 4]! & 0x1f;
    offset += size;
    return type;
  });
  const spsLength = (avcC.payload[6]! << 8) | avcC.payload[7]!;
  const sps = avcC.payload.subarray(8, 8 + spsLength);
  return {
    width: tkhd.getUint32(76) / 0x10000,
    height: tkhd.getUint32(80) / 0x10000,
    timescale: mdhd.getUint32(12),
    duration: mdhd.getUint32(16),
    sizes,
    nalTypes,
    sps,
    avcC: avcC.payload,
  };
}

describe("demo provider: video", () => {
  const instant = createDemo({ videoReadyAfterMs: 0 }).video!("video");

  it("makes a real H.264 MP4 of the requested length, billed per second", async () => {
    const { jobId } = await instant.start({ model: "video", prompt: "A lighthouse at dusk" });
    expect(jobId).toMatch(/^demo1\.[\w-]+$/);
    const result = await instant.poll(jobId);
    if (result.status !== "succeeded") throw new Error(`expected succeeded, got ${result.status}`);
    expect(result.usage).toEqual({ videoSeconds: 4 });
    expect(result.video.mediaType).toBe("video/mp4");
    const video = mp4Summary(result.video.data!);
    expect({ width: video.width, height: video.height }).toEqual({ width: 192, height: 108 });
    expect(video.duration / video.timescale).toBe(4);
    expect(video.sizes).toHaveLength(40); // 10 frames a second
    expect(video.nalTypes).toEqual([5, ...Array(39).fill(1)]);
    // An I_PCM picture: 12 × 7 macroblocks of 384 raw bytes each, plus headers.
    expect(video.sizes[0]).toBeGreaterThan(84 * 384);
    expect(video.sizes[0]).toBeLessThan(84 * 400);
    // Later frames only carry the macroblocks the moving sun touched.
    for (const size of video.sizes.slice(1)) expect(size).toBeLessThan(video.sizes[0]! / 2);
    expect(result.video.data!.length).toBeLessThan(400_000);

    // Constrained Baseline, level 3.0; 12 × 7 macroblocks cropped by 4 rows to 108.
    expect([...video.avcC.subarray(0, 5)]).toEqual([1, 66, 0xc0, 30, 0xff]);
    const sps = bitReader(video.sps);
    expect([sps.u(8), sps.u(8), sps.u(8)]).toEqual([66, 0xc0, 30]);
    expect(sps.ue()).toBe(0); // seq_parameter_set_id
    sps.ue(); // log2_max_frame_num_minus4
    expect(sps.ue()).toBe(2); // pic_order_cnt_type
    expect(sps.ue()).toBe(1); // max_num_ref_frames
    expect(sps.bit()).toBe(0);
    expect([sps.ue() + 1, sps.ue() + 1]).toEqual([12, 7]);
    expect([sps.bit(), sps.bit(), sps.bit()]).toEqual([1, 1, 1]); // frame_mbs_only, direct_8x8, cropping
    expect([sps.ue(), sps.ue(), sps.ue(), sps.ue()]).toEqual([0, 0, 0, 2]);
  });

  it("follows seconds and aspect ratio, deterministically: same request, same bytes", async () => {
    const tall = await instant.poll(
      (await instant.start({ model: "video", prompt: "Rain", seconds: 2, aspectRatio: "9:16" })).jobId,
    );
    if (tall.status !== "succeeded") throw new Error("not done");
    expect(tall.usage).toEqual({ videoSeconds: 2 });
    const summary = mp4Summary(tall.video.data!);
    expect({ width: summary.width, height: summary.height, frames: summary.sizes.length }).toEqual({
      width: 108,
      height: 192,
      frames: 20,
    });

    const run = async (prompt: string) => {
      const result = await instant.poll((await instant.start({ model: "video", prompt, aspectRatio: "1:1" })).jobId);
      if (result.status !== "succeeded") throw new Error("not done");
      return Buffer.from(result.video.data!);
    };
    const [a, b, c] = await Promise.all([run("A cat in a hat"), run("A cat in a hat"), run("A dog")]);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    expect(mp4Summary(a)).toMatchObject({ width: 144, height: 144 });
  });

  it("reports running with progress until videoReadyAfterMs has passed, counted from start", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
      const slow = createDemo({ videoReadyAfterMs: 10_000 }).video!("video");
      const { jobId } = await slow.start({ model: "video", prompt: "Clouds", seconds: 1 });
      expect(await slow.poll(jobId)).toEqual({ status: "running", progress: 0 });
      vi.setSystemTime(new Date("2026-01-01T00:00:02.500Z"));
      expect(await slow.poll(jobId)).toEqual({ status: "running", progress: 25 });
      // A restarted server polls the same job from the id alone.
      const restarted = createDemo({ videoReadyAfterMs: 10_000 }).video!("video");
      vi.setSystemTime(new Date("2026-01-01T00:00:09.990Z"));
      expect(await restarted.poll(jobId)).toEqual({ status: "running", progress: 99 });
      vi.setSystemTime(new Date("2026-01-01T00:00:10Z"));
      expect(await restarted.poll(jobId)).toMatchObject({ status: "succeeded", usage: { videoSeconds: 1 } });
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps the prompt out of the job id and refuses forged or impossible jobs", async () => {
    const { jobId } = await instant.start({ model: "video", prompt: "My secret birthday plan" });
    expect(Buffer.from(jobId.slice("demo1.".length), "base64url").toString()).not.toContain("secret");

    const forged = (payload: unknown) => `demo1.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
    for (const bad of [
      "",
      "demo1.",
      "demo1.!!!",
      "fal1.eyJ9",
      forged({ h: "zz", s: 4, a: "16:9", t: 0 }),
      forged({ h: "0".repeat(32), s: 99, a: "16:9", t: 0 }),
      forged({ h: "0".repeat(32), s: 4, a: "4:3", t: 0 }),
    ]) {
      expect((await rejection(instant.poll(bad))).kind).toBe("invalid_request");
    }
    for (const request of [
      { seconds: 0 },
      { seconds: 21 },
      { seconds: 1.5 },
      { aspectRatio: "4:3" },
      { prompt: " " },
    ]) {
      expect((await rejection(instant.start({ model: "video", prompt: "x", ...request }))).kind).toBe(
        "invalid_request",
      );
    }
  });

  it("honours an aborted signal", async () => {
    const { jobId } = await instant.start({ model: "video", prompt: "x" });
    const already = AbortSignal.abort();
    expect((await rejection(instant.start({ model: "video", prompt: "x" }, { signal: already }))).kind).toBe("aborted");
    expect((await rejection(instant.poll(jobId, { signal: already }))).kind).toBe("aborted");
  });
});
