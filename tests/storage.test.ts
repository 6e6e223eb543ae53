import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import path from "node:path";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";

// Stored-file backends: the SigV4 signer against AWS' published example, one behaviour contract run
// against both local disk and S3 (a local fake that checks every signature), and getStorage() picking
// S3 from the environment. `env` is parsed on first import, so the S3 variables are set in vi.hoisted.
const setup = await vi.hoisted(async () => {
  const { startFakeS3 } = await import("./fakes/s3-server");
  const { mkdtemp } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const fake = await startFakeS3();
  const scratch = await mkdtemp(`${tmpdir()}/ai-wallet-storage-`);
  process.env.S3_BUCKET = fake.bucket;
  process.env.S3_ENDPOINT = fake.url;
  process.env.S3_REGION = fake.region;
  process.env.S3_ACCESS_KEY_ID = fake.accessKeyId;
  process.env.S3_SECRET_ACCESS_KEY = fake.secretAccessKey;
  process.env.S3_PREFIX = "stored/files";
  // Must stay unused: with S3 configured nothing may land on local disk.
  process.env.STORAGE_DIR = `${scratch}/local-default`;
  return { fake, scratch };
});

import { loader as fileLoader } from "#app/routes/files.$id";
import { parseEnv } from "#app/utils/env.server";
import { prisma } from "#app/utils/db.server";
import {
  DEFAULT_PART_SIZE,
  EMPTY_SHA256,
  MIN_PART_SIZE,
  S3Error,
  signV4,
  uriEncode,
  canonicalQueryString,
} from "#app/utils/s3.server";
import {
  createLocalDiskStorage,
  createS3Storage,
  type FileStorage,
  getStorage,
  newStorageKey,
  readAllBytes,
  saveFile,
} from "#app/utils/storage.server";
import { verifySigV4 } from "#tests/fakes/s3-server";
import { BASE_URL, context, createUser, signedInCookie } from "#tests/helpers";

const { fake, scratch } = setup;

beforeEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
  await rm(scratch, { recursive: true, force: true });
});

const s3Settings = () => ({
  bucket: fake.bucket,
  region: fake.region,
  endpoint: fake.url,
  accessKeyId: fake.accessKeyId,
  secretAccessKey: fake.secretAccessKey,
  forcePathStyle: true,
});

async function bytesOf(stream: ReadableStream<Uint8Array>) {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const MiB = 1024 * 1024;

/** `bytes` as an async generator of odd-sized chunks (so parts never line up with them). */
async function* chunked(bytes: Uint8Array, size = 700_001) {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

/** `bytes` as a web stream of chunks, pulled one at a time. */
function webStream(bytes: Uint8Array, size = 65_536) {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

/** Yields `before` bytes, then fails, as a storage read cut off mid-way would; records that it was closed. */
function failingSource(before: number) {
  const state = { closed: false };
  async function* source() {
    try {
      yield new Uint8Array(before).fill(1);
      throw new Error("source broke");
    } finally {
      state.closed = true;
    }
  }
  return { source: source(), state };
}

/** Every file under `dir`, recursively, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

const sameBytes = (a: Uint8Array | Buffer, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: GET Object".
const AWS_EXAMPLE = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
  url: "https://examplebucket.s3.amazonaws.com/test.txt",
  headers: {
    Host: "examplebucket.s3.amazonaws.com",
    Range: "bytes=0-9",
    "x-amz-content-sha256": EMPTY_SHA256,
    "x-amz-date": "20130524T000000Z",
  },
  canonicalRequest: [
    "GET",
    "/test.txt",
    "",
    "host:examplebucket.s3.amazonaws.com",
    "range:bytes=0-9",
    `x-amz-content-sha256:${EMPTY_SHA256}`,
    "x-amz-date:20130524T000000Z",
    "",
    "host;range;x-amz-content-sha256;x-amz-date",
    EMPTY_SHA256,
  ].join("\n"),
  stringToSign: [
    "AWS4-HMAC-SHA256",
    "20130524T000000Z",
    "20130524/us-east-1/s3/aws4_request",
    "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
  ].join("\n"),
  signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  authorization:
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
};

describe("SigV4 signer", () => {
  it("reproduces AWS' GET Object example exactly (canonical request, string to sign, signature)", () => {
    const signed = signV4({
      method: "GET",
      url: new URL(AWS_EXAMPLE.url),
      headers: AWS_EXAMPLE.headers,
      payloadHash: EMPTY_SHA256,
      accessKeyId: AWS_EXAMPLE.accessKeyId,
      secretAccessKey: AWS_EXAMPLE.secretAccessKey,
      region: AWS_EXAMPLE.region,
    });
    expect(signed.canonicalRequest).toBe(AWS_EXAMPLE.canonicalRequest);
    expect(signed.stringToSign).toBe(AWS_EXAMPLE.stringToSign);
    expect(signed.signature).toBe(AWS_EXAMPLE.signature);
    expect(signed.authorization).toBe(AWS_EXAMPLE.authorization);
  });

  it("the fake server's independent verifier accepts AWS' example and rejects any change to it", () => {
    const headers: IncomingHttpHeaders = {
      host: AWS_EXAMPLE.headers.Host,
      range: AWS_EXAMPLE.headers.Range,
      "x-amz-content-sha256": EMPTY_SHA256,
      "x-amz-date": "20130524T000000Z",
      authorization: AWS_EXAMPLE.authorization,
    };
    const verify = (changes: IncomingHttpHeaders, target = "/test.txt") =>
      verifySigV4({
        method: "GET",
        target,
        headers: { ...headers, ...changes },
        bodySha256: EMPTY_SHA256,
        secretFor: (id) => (id === AWS_EXAMPLE.accessKeyId ? AWS_EXAMPLE.secretAccessKey : undefined),
        region: "us-east-1",
      });
    expect(verify({})).toEqual({ ok: true, accessKeyId: AWS_EXAMPLE.accessKeyId });
    expect(verify({ range: "bytes=0-10" })).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
    expect(verify({}, "/test.txt2")).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
    expect(verify({ host: "otherbucket.s3.amazonaws.com" })).toMatchObject({ code: "SignatureDoesNotMatch" });
    expect(verify({ "x-amz-date": "20130524T000001Z" })).toMatchObject({ code: "SignatureDoesNotMatch" });
  });

  it("sorts the query as AWS' SigV4 test suite expects (get-vanilla-query-order-key-case)", () => {
    // https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html (service "service").
    const signed = signV4({
      method: "GET",
      url: new URL("https://example.amazonaws.com/?Param2=value2&Param1=value1"),
      headers: { Host: "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z" },
      payloadHash: EMPTY_SHA256,
      accessKeyId: "AKIDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
      region: "us-east-1",
      service: "service",
    });
    expect(signed.canonicalRequest.split("\n")[2]).toBe("Param1=value1&Param2=value2");
    expect(signed.signature).toBe("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
  });

  it("URI-encodes per RFC 3986 (keeping / only in paths) and sorts the query by code point", () => {
    expect(uriEncode("a b/c$d!'()*~-_.é+=&")).toBe("a%20b%2Fc%24d%21%27%28%29%2A~-_.%C3%A9%2B%3D%26");
    expect(uriEncode("folder/sub folder/x$y", true)).toBe("folder/sub%20folder/x%24y");
    expect(canonicalQueryString(new URLSearchParams("prefix=J&max-keys=2&Zed=1&a=b c"))).toBe(
      "Zed=1&a=b%20c&max-keys=2&prefix=J",
    );
  });
});

// The same behaviour from both backends, as the rest of the app relies on it (files.$id, saveFile, history).
const backends: [string, () => Promise<FileStorage>][] = [
  ["local disk", async () => createLocalDiskStorage(await mkdtemp(path.join(scratch, "disk-")))],
  ["S3", async () => createS3Storage({ ...s3Settings(), prefix: "contract" })],
];

describe.each(backends)("FileStorage contract: %s", (_name, makeStorage) => {
  it("gives back exactly the bytes it was given, with their size", async () => {
    const storage = await makeStorage();
    const key = newStorageKey();
    // Every byte value, then enough random bytes to arrive in several chunks.
    const bytes = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), ...randomBytes(300_000)]);
    await storage.put(key, bytes, "application/octet-stream");
    const object = await storage.get(key);
    expect(object?.size).toBe(bytes.byteLength);
    const back = await bytesOf(object!.stream);
    expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
  });

  it("serves an inclusive byte range, reporting the whole object's size", async () => {
    const storage = await makeStorage();
    const key = newStorageKey();
    const bytes = new TextEncoder().encode("0123456789abcdefghij");
    await storage.put(key, bytes, "text/plain");
    const middle = await storage.get(key, { start: 3, end: 7 });
    expect(middle?.size).toBe(20);
    expect(new TextDecoder().decode(await bytesOf(middle!.stream))).toBe("34567");
    const first = await storage.get(key, { start: 0, end: 0 });
    expect(new TextDecoder().decode(await bytesOf(first!.stream))).toBe("0");
    const last = await storage.get(key, { start: 19, end: 19 });
    expect(last?.size).toBe(20);
    expect(new TextDecoder().decode(await bytesOf(last!.stream))).toBe("j");
  });

  it("answers null for a key that was never stored", async () => {
    const storage = await makeStorage();
    expect(await storage.get(newStorageKey())).toBeNull();
    expect(await storage.get(newStorageKey(), { start: 0, end: 9 })).toBeNull();
  });

  it("refuses to overwrite an existing object, keeping the first bytes", async () => {
    const storage = await makeStorage();
    const key = newStorageKey();
    await storage.put(key, new TextEncoder().encode("first"), "text/plain");
    await expect(storage.put(key, new TextEncoder().encode("second"), "text/plain")).rejects.toThrow();
    expect(new TextDecoder().decode(await bytesOf((await storage.get(key))!.stream))).toBe("first");
  });

  it("deletes, and deleting a missing object is not an error", async () => {
    const storage = await makeStorage();
    const key = newStorageKey();
    await storage.put(key, new Uint8Array([1, 2, 3]), "application/octet-stream");
    await storage.delete(key);
    expect(await storage.get(key)).toBeNull();
    await expect(storage.delete(key)).resolves.toBeUndefined();
    await expect(storage.delete(newStorageKey())).resolves.toBeUndefined();
  });

  it("stores an empty file", async () => {
    const storage = await makeStorage();
    const key = newStorageKey();
    await storage.put(key, new Uint8Array(), "text/plain");
    const object = await storage.get(key);
    expect(object?.size).toBe(0);
    expect((await bytesOf(object!.stream)).byteLength).toBe(0);
  });

  it("streams bytes in from a web stream or an async iterable, giving back the same bytes and size", async () => {
    const storage = await makeStorage();
    const bytes = new Uint8Array(randomBytes(1_000_003));
    const fromWeb = newStorageKey();
    expect(await storage.putStream(fromWeb, webStream(bytes), "application/zip")).toEqual({ size: bytes.byteLength });
    const fromIterable = newStorageKey();
    expect(await storage.putStream(fromIterable, chunked(bytes), "application/zip")).toEqual({
      size: bytes.byteLength,
    });
    for (const key of [fromWeb, fromIterable]) {
      const object = await storage.get(key);
      expect(object?.size).toBe(bytes.byteLength);
      expect(sameBytes(await bytesOf(object!.stream), bytes)).toBe(true);
    }
    const empty = newStorageKey();
    expect(await storage.putStream(empty, chunked(new Uint8Array()), "text/plain")).toEqual({ size: 0 });
    expect((await storage.get(empty))?.size).toBe(0);
  });

  it("putStream refuses to overwrite an existing object, keeping the first bytes", async () => {
    const storage = await makeStorage();
    const key = newStorageKey();
    await storage.put(key, new TextEncoder().encode("first"), "text/plain");
    await expect(storage.putStream(key, webStream(new TextEncoder().encode("second")), "text/plain")).rejects.toThrow();
    expect(new TextDecoder().decode(await bytesOf((await storage.get(key))!.stream))).toBe("first");
  });

  it("putStream stores nothing when the source fails, and closes the source", async () => {
    const storage = await makeStorage();
    const key = newStorageKey();
    const { source, state } = failingSource(100_000);
    await expect(storage.putStream(key, source, "application/zip")).rejects.toThrow("source broke");
    expect(state.closed).toBe(true);
    expect(await storage.get(key)).toBeNull();
  });

  it("rejects keys that are not storage keys", async () => {
    const storage = await makeStorage();
    await expect(storage.putStream("../escape", chunked(new Uint8Array([1])), "text/plain")).rejects.toThrow(
      "invalid key",
    );
    await expect(storage.put("../escape", new Uint8Array([1]), "text/plain")).rejects.toThrow("invalid key");
    await expect(storage.get("A".repeat(32))).rejects.toThrow("invalid key");
    await expect(storage.delete("a/b")).rejects.toThrow("invalid key");
  });
});

describe("local disk putStream", () => {
  it("writes a private file, and leaves no temporary file when the source fails or the key exists", async () => {
    const root = await mkdtemp(path.join(scratch, "stream-"));
    const storage = createLocalDiskStorage(root);
    const key = newStorageKey();
    const bytes = new Uint8Array(randomBytes(300_000));
    await storage.putStream(key, chunked(bytes, 4096), "application/zip");
    const target = path.join(root, key.slice(0, 2), key);
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await filesUnder(root)).toEqual([path.join(key.slice(0, 2), key)]);

    // A source that breaks after some bytes were written: the temporary file goes, nothing takes the key.
    const broken = newStorageKey();
    await expect(storage.putStream(broken, failingSource(200_000).source, "application/zip")).rejects.toThrow(
      "source broke",
    );
    // Same folder as the first key, so a leftover .tmp would show next to it.
    const sibling = key.slice(0, 2) + broken.slice(2);
    await expect(storage.putStream(sibling, failingSource(200_000).source, "application/zip")).rejects.toThrow(
      "source broke",
    );
    // An existing key: refused before the source is read, which is cancelled; the first bytes intact.
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(4096)),
      cancel: () => {
        cancelled = true;
      },
    });
    await expect(storage.putStream(key, endless, "application/zip")).rejects.toMatchObject({ code: "EEXIST" });
    expect(cancelled).toBe(true);
    expect(await filesUnder(root)).toEqual([path.join(key.slice(0, 2), key)]);
    expect(sameBytes(await bytesOf((await storage.get(key))!.stream), bytes)).toBe(true);
  });
});

describe("S3 backend", () => {
  it("sends a conditional, hashed, typed PutObject to /{bucket}/{prefix}/{key}", async () => {
    const storage = createS3Storage({ ...s3Settings(), prefix: "/uploads/2025/" });
    const key = newStorageKey();
    const bytes = new TextEncoder().encode("%PDF-1.7 receipt");
    await storage.put(key, bytes, "application/pdf");

    const put = fake.requests.find((request) => request.method === "PUT")!;
    expect(put.url).toBe(`/${fake.bucket}/uploads/2025/${key}`);
    expect(put.headers["if-none-match"]).toBe("*");
    expect(put.headers["content-type"]).toBe("application/pdf");
    expect(put.headers["content-length"]).toBe(String(bytes.byteLength));
    expect(put.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(put.headers.authorization).toMatch(
      /SignedHeaders=content-length;content-type;host;if-none-match;x-amz-content-sha256;x-amz-date,/,
    );
    expect(fake.objects.get(`uploads/2025/${key}`)?.contentType).toBe("application/pdf");
  });

  it("encodes unusual key characters the same way in the URL it sends and the request it signs", async () => {
    const storage = createS3Storage({ ...s3Settings(), prefix: "odd prefix/$&+=!'()*~/é" });
    const key = newStorageKey();
    await storage.put(key, new Uint8Array([9, 8, 7]), "application/octet-stream");
    expect(fake.requests[0]!.url).toBe(`/${fake.bucket}/odd%20prefix/%24%26%2B%3D%21%27%28%29%2A~/%C3%A9/${key}`);
    expect(fake.objects.has(`odd prefix/$&+=!'()*~/é/${key}`)).toBe(true);
    expect([...(await bytesOf((await storage.get(key))!.stream))]).toEqual([9, 8, 7]);
  });

  it("names the S3 error code on a wrong secret, never the bytes, key or what the server signed", async () => {
    const storage = createS3Storage({ ...s3Settings(), secretAccessKey: "not-the-secret" });
    const key = newStorageKey();
    const secretText = "TOP-SECRET-RECEIPT-CONTENTS";
    const error = await storage.put(key, new TextEncoder().encode(secretText), "text/plain").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3Error);
    expect(error).toMatchObject({ status: 403, code: "SignatureDoesNotMatch", operation: "PutObject" });
    const message = (error as Error).message;
    expect(message).toBe("S3 PutObject failed: 403 SignatureDoesNotMatch");
    for (const leak of [secretText, key, "not-the-secret", "AWS4-HMAC-SHA256"]) expect(message).not.toContain(leak);
    expect(fake.objects.size).toBe(0);

    // A read with bad credentials is an error too, not a missing file.
    await expect(storage.get(key)).rejects.toThrow("403 SignatureDoesNotMatch");
    await expect(storage.delete(key)).rejects.toThrow("403 SignatureDoesNotMatch");
  });

  it("reports an unknown access key and an overwrite by their S3 codes", async () => {
    const stranger = createS3Storage({ ...s3Settings(), accessKeyId: "AKIDUNKNOWN" });
    await expect(stranger.put(newStorageKey(), new Uint8Array([1]), "text/plain")).rejects.toThrow(
      "S3 PutObject failed: 403 InvalidAccessKeyId",
    );
    const storage = createS3Storage(s3Settings());
    const key = newStorageKey();
    await storage.put(key, new Uint8Array([1]), "text/plain");
    await expect(storage.put(key, new Uint8Array([2]), "text/plain")).rejects.toThrow(
      "S3 PutObject failed: 412 PreconditionFailed",
    );
  });

  it("treats a missing bucket as a configuration error, not as a missing file", async () => {
    const storage = createS3Storage({ ...s3Settings(), bucket: "no-such-bucket" });
    await expect(storage.get(newStorageKey())).rejects.toThrow("S3 GetObject failed: 404 NoSuchBucket");
    await expect(storage.delete(newStorageKey())).rejects.toThrow("S3 DeleteObject failed: 404 NoSuchBucket");
  });

  it("addresses {bucket}.{host} in virtual-hosted style, with the default AWS endpoint, signing that host", async () => {
    const seen: { url: string; headers: Record<string, string> }[] = [];
    const storage = createS3Storage({
      bucket: "examplebucket",
      region: "eu-west-1",
      accessKeyId: "AKIDVIRTUAL",
      secretAccessKey: "virtual-secret",
      prefix: "files",
      fetch: (async (input: URL | RequestInfo, init?: RequestInit) => {
        seen.push({ url: String(input), headers: init?.headers as Record<string, string> });
        return new Response("<Error><Code>NoSuchKey</Code></Error>", { status: 404 });
      }) as typeof fetch,
    });
    const key = newStorageKey();
    expect(await storage.get(key, { start: 0, end: 9 })).toBeNull();
    const [request] = seen;
    expect(request!.url).toBe(`https://examplebucket.s3.eu-west-1.amazonaws.com/files/${key}`);
    // What a server would see: fetch adds Host from the URL.
    const result = verifySigV4({
      method: "GET",
      target: `/files/${key}`,
      headers: { ...request!.headers, host: "examplebucket.s3.eu-west-1.amazonaws.com" },
      bodySha256: EMPTY_SHA256,
      secretFor: (id) => (id === "AKIDVIRTUAL" ? "virtual-secret" : undefined),
      region: "eu-west-1",
    });
    expect(result).toEqual({ ok: true, accessKeyId: "AKIDVIRTUAL" });
    expect(request!.headers.range).toBe("bytes=0-9");
  });

  it("hands back the body stream as soon as headers arrive, without reading it all", async () => {
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls += 1;
        controller.enqueue(new Uint8Array(1024).fill(7));
      },
    });
    const storage = createS3Storage({
      ...s3Settings(),
      fetch: (async () =>
        new Response(endless, { status: 200, headers: { "content-length": String(10 * 1024 ** 3) } })) as typeof fetch,
    });
    const object = await storage.get(newStorageKey());
    expect(object?.size).toBe(10 * 1024 ** 3);
    const reader = object!.stream.getReader();
    expect((await reader.read()).value?.byteLength).toBe(1024);
    expect(pulls).toBeLessThan(5);
    await reader.cancel();
  });

  it("cuts the asked range itself when a server ignores Range and sends the whole object", async () => {
    const storage = createS3Storage({
      ...s3Settings(),
      fetch: (async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              for (const part of ["0123", "4567", "89ab", "cdef"]) controller.enqueue(new TextEncoder().encode(part));
              controller.close();
            },
          }),
          { status: 200, headers: { "content-length": "16" } },
        )) as typeof fetch,
    });
    const object = await storage.get(newStorageKey(), { start: 3, end: 9 });
    expect(object?.size).toBe(16);
    expect(new TextDecoder().decode(await bytesOf(object!.stream))).toBe("3456789");
  });
});

describe("S3 putStream", () => {
  const isPart = (request: { method: string; url: string }) =>
    request.method === "PUT" && request.url.includes("partNumber=");
  const calls = () =>
    fake.requests.map((request) => {
      const query = new URLSearchParams(request.url.split("?")[1] ?? "");
      if (request.method === "POST" && query.has("uploads")) return "CreateMultipartUpload";
      if (isPart(request)) return `UploadPart ${query.get("partNumber")}`;
      if (request.method === "POST" && query.has("uploadId")) return "CompleteMultipartUpload";
      if (request.method === "DELETE" && query.has("uploadId")) return "AbortMultipartUpload";
      return `${request.method} object`;
    });

  it("sends a stream under one part as a single conditional PutObject", async () => {
    const storage = createS3Storage({ ...s3Settings(), prefix: "small" });
    const key = newStorageKey();
    const bytes = new Uint8Array(randomBytes(MIN_PART_SIZE - 1));
    expect(await storage.putStream(key, chunked(bytes), "application/zip")).toEqual({ size: bytes.byteLength });
    expect(calls()).toEqual(["PUT object"]);
    expect(fake.requests[0]!.headers["if-none-match"]).toBe("*");
    expect(fake.objects.get(`small/${key}`)?.contentType).toBe("application/zip");
    expect(sameBytes(fake.objects.get(`small/${key}`)!.bytes, bytes)).toBe(true);
  });

  it("sends a bigger stream as a signed multipart upload: full parts, a shorter last one, a conditional completion", async () => {
    const storage = createS3Storage({ ...s3Settings(), prefix: "big" });
    const key = newStorageKey();
    const bytes = new Uint8Array(randomBytes(2 * DEFAULT_PART_SIZE + 123_457));
    expect(await storage.putStream(key, chunked(bytes), "application/zip")).toEqual({ size: bytes.byteLength });
    expect(calls()).toEqual([
      "CreateMultipartUpload",
      "UploadPart 1",
      "UploadPart 2",
      "UploadPart 3",
      "CompleteMultipartUpload",
    ]);
    expect(fake.requests.filter(isPart).map((request) => request.bodyLength)).toEqual([
      DEFAULT_PART_SIZE,
      DEFAULT_PART_SIZE,
      123_457,
    ]);
    const [create, , , , complete] = fake.requests;
    expect(create!.url).toBe(`/${fake.bucket}/big/${key}?uploads=`);
    expect(create!.headers["content-type"]).toBe("application/zip");
    expect(complete!.headers["if-none-match"]).toBe("*");
    expect(complete!.headers.authorization).toMatch(/SignedHeaders=content-length;content-type;host;if-none-match;/);
    const stored = fake.objects.get(`big/${key}`);
    expect(stored?.contentType).toBe("application/zip");
    expect(sameBytes(stored!.bytes, bytes)).toBe(true);
    expect(fake.uploads.size).toBe(0);
    // Read back through the client too.
    expect(sameBytes(await bytesOf((await storage.get(key))!.stream), bytes)).toBe(true);
  });

  it("aborts the multipart upload when the source fails mid-way: no object, no parts left", async () => {
    const storage = createS3Storage(s3Settings());
    const key = newStorageKey();
    const { source, state } = failingSource(DEFAULT_PART_SIZE + 1000);
    await expect(storage.putStream(key, source, "application/zip")).rejects.toThrow("source broke");
    expect(state.closed).toBe(true);
    expect(calls()).toEqual(["CreateMultipartUpload", "UploadPart 1", "AbortMultipartUpload"]);
    expect(fake.objects.size).toBe(0);
    expect(fake.uploads.size).toBe(0);
  });

  it("refuses to complete a multipart upload over an existing object (412), aborting it and keeping the first bytes", async () => {
    const storage = createS3Storage(s3Settings());
    const key = newStorageKey();
    await storage.put(key, new TextEncoder().encode("first"), "text/plain");
    const error = await storage
      .putStream(key, chunked(new Uint8Array(DEFAULT_PART_SIZE + 10)), "application/zip")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ operation: "CompleteMultipartUpload", status: 412, code: "PreconditionFailed" });
    expect(calls().at(-1)).toBe("AbortMultipartUpload");
    expect(fake.uploads.size).toBe(0);
    expect(fake.objects.get(key)?.bytes.toString()).toBe("first");
  });

  it("is refused parts under 5 MiB but the last (EntityTooSmall), and aborts", async () => {
    const storage = createS3Storage({ ...s3Settings(), partSize: MiB });
    const key = newStorageKey();
    const error = await storage
      .putStream(key, chunked(new Uint8Array(randomBytes(2 * MiB + 1))), "application/zip")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3Error);
    expect(error).toMatchObject({ operation: "CompleteMultipartUpload", status: 400, code: "EntityTooSmall" });
    expect(calls()).toEqual([
      "CreateMultipartUpload",
      "UploadPart 1",
      "UploadPart 2",
      "UploadPart 3",
      "CompleteMultipartUpload",
      "AbortMultipartUpload",
    ]);
    expect(fake.uploads.size).toBe(0);
    expect(fake.objects.size).toBe(0);
  });

  it("treats a 200 CompleteMultipartUpload whose body is an error as a failure", async () => {
    // S3 answers 200 before it has finished assembling; a failure then arrives in the body.
    const storage = createS3Storage({
      ...s3Settings(),
      fetch: (async (input: URL | RequestInfo, init?: RequestInit) => {
        if (init?.method === "POST" && String(input).includes("uploadId=")) {
          return new Response('<?xml version="1.0"?>\n<Error><Code>InternalError</Code></Error>', { status: 200 });
        }
        return fetch(input, init);
      }) as typeof fetch,
    });
    const key = newStorageKey();
    await expect(
      storage.putStream(key, chunked(new Uint8Array(DEFAULT_PART_SIZE + 1)), "application/zip"),
    ).rejects.toThrow("S3 CompleteMultipartUpload failed: 200 InternalError");
    expect(calls().at(-1)).toBe("AbortMultipartUpload");
    expect(fake.uploads.size).toBe(0);
    expect(fake.objects.size).toBe(0);
  });
});

describe("getStorage() with S3 configured in the environment", () => {
  it("saveFile stores the bytes in the bucket under S3_PREFIX and records the row; readAllBytes reads them back", async () => {
    const bytes = new Uint8Array(randomBytes(4096));
    const file = await saveFile({ ownerId: null, purpose: "test", bytes, mediaType: "image/png" });

    const row = await prisma.storedFile.findUniqueOrThrow({ where: { id: file.id } });
    expect(row.size).toBe(4096);
    expect(row.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    const stored = fake.objects.get(`stored/files/${row.storageKey}`);
    expect(stored?.contentType).toBe("image/png");
    expect(stored?.bytes.equals(Buffer.from(bytes))).toBe(true);

    const back = await readAllBytes(row.storageKey);
    expect(Buffer.from(back!).equals(Buffer.from(bytes))).toBe(true);
    expect(fake.requests.map((request) => request.method)).toEqual(["PUT", "GET"]);
    expect(existsSync(process.env.STORAGE_DIR!)).toBe(false);
  });

  it("serves a byte range from the bucket through /files/:id", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const bytes = new TextEncoder().encode("%PDF-1.7 " + "x".repeat(991));
    const file = await saveFile({ ownerId: user.id, purpose: "test", bytes, mediaType: "application/pdf" });
    const response = (await fileLoader({
      request: new Request(`${BASE_URL}/files/${file.id}`, { headers: { cookie, range: "bytes=0-7" } }),
      params: { id: file.id },
      context: context(),
    } as never)) as Response;
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe("bytes 0-7/1000");
    expect(await response.text()).toBe("%PDF-1.7");
    expect(fake.requests.at(-1)?.headers.range).toBe("bytes=0-7");
    expect(getStorage()).toBe(getStorage());
  });

  it("refuses S3 settings that are not complete, with a readable message", () => {
    expect(() => parseEnv({ S3_BUCKET: "my-bucket" })).toThrow(
      /S3_ACCESS_KEY_ID: is required when S3_BUCKET is set[\s\S]*S3_SECRET_ACCESS_KEY: is required when S3_BUCKET is set/,
    );
    expect(() => parseEnv({ S3_ENDPOINT: "http://localhost:9000", S3_ACCESS_KEY_ID: "a" })).toThrow(
      "S3_BUCKET: is required when S3_ENDPOINT is set",
    );
    expect(() => parseEnv({ S3_BUCKET: "Not_A_Bucket", S3_ACCESS_KEY_ID: "a", S3_SECRET_ACCESS_KEY: "b" })).toThrow(
      "S3_BUCKET: must be a bucket name",
    );
    const env = parseEnv({ S3_BUCKET: "my-bucket", S3_ACCESS_KEY_ID: "a", S3_SECRET_ACCESS_KEY: "b" });
    expect([env.S3_REGION, env.S3_FORCE_PATH_STYLE, env.S3_ENDPOINT]).toEqual(["us-east-1", undefined, undefined]);
    expect(parseEnv({ S3_FORCE_PATH_STYLE: "false" }).S3_FORCE_PATH_STYLE).toBe(false);
    expect(parseEnv({}).S3_BUCKET).toBeUndefined();
  });
});
