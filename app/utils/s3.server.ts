import { createHash, createHmac } from "node:crypto";

// A minimal S3 client (PutObject, GetObject, DeleteObject, and multipart uploads for streamed writes)
// signed with AWS Signature Version 4, using node:crypto and the global fetch only: the AWS SDK would be a
// heavy dependency for a handful of calls.
// Works with AWS S3, Cloudflare R2, MinIO and other S3-compatible servers.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html

export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

/**
 * URI-encodes per RFC 3986 as SigV4 wants: everything but A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case
 * hex, UTF-8); "/" is kept only when `keepSlash` (object paths).
 */
export function uriEncode(text: string, keepSlash = false): string {
  // encodeURIComponent leaves !'()* alone, which RFC 3986 reserves; SigV4 needs them encoded.
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

/** Query parameters, each name and value URI-encoded, sorted by name then value (byte order). */
export function canonicalQueryString(params: URLSearchParams): string {
  const pairs = [...params].map(([name, value]) => [uriEncode(name), uriEncode(value)] as const);
  // Plain comparison, not localeCompare: SigV4 sorts by code point.
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join("&");
}

export type SigningInput = {
  method: string;
  /** The request URL; its pathname must already be URI-encoded (see `uriEncode(path, true)`). */
  url: URL;
  /** Every header to sign (name case does not matter); must include host and x-amz-date. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body (or "UNSIGNED-PAYLOAD"). */
  payloadHash: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service?: string;
};

export type Signature = {
  authorization: string;
  signature: string;
  signedHeaders: string;
  canonicalRequest: string;
  stringToSign: string;
};

/** Signs a request with SigV4 (the date comes from the x-amz-date header: YYYYMMDDTHHMMSSZ). */
export function signV4(input: SigningInput): Signature {
  const service = input.service ?? "s3";
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(input.headers)) {
    // Canonical values: trimmed, runs of spaces collapsed.
    headers.set(name.toLowerCase(), value.trim().replace(/\s+/g, " "));
  }
  const amzDate = headers.get("x-amz-date");
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) throw new Error("s3: x-amz-date must be YYYYMMDDTHHMMSSZ");
  if (!headers.has("host")) throw new Error("s3: the host header must be signed");
  const names = [...headers.keys()].sort();
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    input.method.toUpperCase(),
    // S3 paths are encoded once and not normalised (unlike other AWS services).
    input.url.pathname || "/",
    canonicalQueryString(input.url.searchParams),
    ...names.map((name) => `${name}:${headers.get(name)}`),
    "",
    signedHeaders,
    input.payloadHash,
  ].join("\n");
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, day), input.region), service), "aws4_request");
  const signature = createHmac("sha256", signingKey).update(stringToSign, "utf8").digest("hex");
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`,
    signature,
    signedHeaders,
    canonicalRequest,
    stringToSign,
  };
}

/** "20130524T000000Z" for a date. */
export function amzDateOf(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

export type S3ClientSettings = {
  bucket: string;
  /** "us-east-1" for AWS' default, "auto" for Cloudflare R2. */
  region: string;
  /** e.g. https://<account>.r2.cloudflarestorage.com or http://localhost:9000; default AWS for the region. */
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `{endpoint}/{bucket}/{key}` instead of `{bucket}.{host}/{key}`. */
  forcePathStyle?: boolean;
  /** Longest wait for the response headers (a PUT's upload included), in ms. Bodies may stream longer. */
  timeoutMs?: number;
  /**
   * Part size for streamed uploads, in bytes (default 8 MiB). S3 refuses parts under 5 MiB except the
   * last, so smaller values only make sense in tests. At most 10,000 parts: 80 GB at the default.
   */
  partSize?: number;
  /** For tests. */
  fetch?: typeof fetch;
  now?: () => Date;
};

/** A non-2xx answer. The message names the operation, status and S3 error code, never keys or bytes. */
export class S3Error extends Error {
  override name = "S3Error";
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly code: string | null,
    readonly requestId: string | null,
  ) {
    super(`S3 ${operation} failed: ${status}${code ? ` ${code}` : ""}`);
  }
}

// Error bodies are small XML documents; a misbehaving server must not make us read megabytes.
const MAX_ERROR_BODY = 16 * 1024;

/** At most `limit` bytes of a body as text; null when it cannot be read. */
async function readSmallBody(response: Response, limit: number): Promise<string | null> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    while (length < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
    }
  } catch {
    return null;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString("utf8");
}

// Only the code: S3 error bodies also echo the key, and SignatureDoesNotMatch the whole canonical request.
const errorCodeIn = (text: string) => /<Code>([A-Za-z0-9.]{1,100})<\/Code>/.exec(text)?.[1] ?? null;

async function readErrorCode(response: Response): Promise<string | null> {
  const text = await readSmallBody(response, MAX_ERROR_BODY);
  return text === null ? null : errorCodeIn(text);
}

async function fail(operation: string, response: Response): Promise<never> {
  const code = await readErrorCode(response);
  throw new S3Error(operation, response.status, code, response.headers.get("x-amz-request-id"));
}

/** Keeps only bytes start..end (inclusive) of a stream, for servers that ignore Range and send everything. */
function sliceStream(stream: ReadableStream<Uint8Array>, start: number, end: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const from = Math.max(start - offset, 0);
        const to = Math.min(end + 1 - offset, chunk.byteLength);
        offset += chunk.byteLength;
        if (to > from) controller.enqueue(chunk.subarray(from, to));
        if (offset > end) controller.terminate();
      },
    }),
  );
}

// Multipart uploads: S3's limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
// Answers to CreateMultipartUpload and CompleteMultipartUpload are small XML documents.
const MAX_XML_BODY = 64 * 1024;

const xmlUnescape = (text: string) =>
  text.replace(
    /&(amp|lt|gt|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g,
    (_match, name: string, dec?: string, hex?: string) => {
      if (dec) return String.fromCodePoint(Number(dec));
      if (hex) return String.fromCodePoint(parseInt(hex, 16));
      return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[name] ?? "";
    },
  );
const xmlEscape = (text: string) => text.replace(/[<>&]/g, (char) => `&#${char.charCodeAt(0)};`);

/** fetch takes ArrayBuffer-backed bytes only (no copy then); a SharedArrayBuffer-backed view is copied. */
function asBody(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

export type S3Client = ReturnType<typeof createS3Client>;

export function createS3Client(settings: S3ClientSettings) {
  const doFetch = settings.fetch ?? fetch;
  const now = settings.now ?? (() => new Date());
  const timeoutMs = settings.timeoutMs ?? 60_000;
  const endpoint = new URL(settings.endpoint ?? `https://s3.${settings.region}.amazonaws.com`);
  const basePath = endpoint.pathname.replace(/\/+$/, "");

  const partSize = settings.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isSafeInteger(partSize) || partSize < 1) throw new Error("s3: partSize must be a positive integer");

  function urlFor(key: string, query: Record<string, string> = {}): URL {
    const objectPath = uriEncode(key, true);
    const url = settings.forcePathStyle
      ? new URL(`${endpoint.origin}${basePath}/${uriEncode(settings.bucket)}/${objectPath}`)
      : // Virtual-hosted style. Buckets with dots do not match a *.s3 TLS certificate: use path style for them.
        new URL(`${endpoint.protocol}//${settings.bucket}.${endpoint.host}${basePath}/${objectPath}`);
    // Sent as ?uploads= and signed the same way (canonicalQueryString encodes what searchParams holds).
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
  }

  async function send(
    operation: string,
    method: string,
    key: string,
    options: { headers?: Record<string, string>; body?: Uint8Array; query?: Record<string, string> } = {},
  ): Promise<Response> {
    const url = urlFor(key, options.query);
    const payloadHash = options.body ? sha256Hex(options.body) : EMPTY_SHA256;
    const headers: Record<string, string> = {
      // fetch sends Host from the URL (it ignores one we set), so sign exactly that.
      host: url.host,
      "x-amz-date": amzDateOf(now()),
      "x-amz-content-sha256": payloadHash,
      ...options.headers,
    };
    const { authorization } = signV4({
      method,
      url,
      headers,
      payloadHash,
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      region: settings.region,
    });
    const { host: _host, ...sent } = headers;
    // The timer guards the wait for headers only: a long download must not be cut off mid-stream.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`S3 ${operation} timed out`)), timeoutMs);
    try {
      return await doFetch(url, {
        method,
        // identity: a transparently decompressed body would not match Content-Length or a byte range.
        headers: { ...sent, authorization, "accept-encoding": "identity" },
        body: options.body && asBody(options.body),
        signal: controller.signal,
        redirect: "manual",
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * PutObject with `If-None-Match: *`, so an existing object is never replaced (AWS S3, R2 and MinIO
   * answer 412 PreconditionFailed). Servers without conditional writes either ignore the header (and
   * overwrite; keys are fresh 128-bit random values, so this does not happen in practice) or reject
   * every put (501 NotImplemented), which shows at the first upload.
   */
  async function putObject(key: string, body: Uint8Array, contentType: string): Promise<void> {
    const response = await send("PutObject", "PUT", key, {
      headers: {
        "content-type": contentType,
        "content-length": String(body.byteLength),
        "if-none-match": "*",
      },
      body,
    });
    if (!response.ok) return fail("PutObject", response);
    await response.body?.cancel();
  }

  async function createMultipartUpload(key: string, contentType: string): Promise<string> {
    const response = await send("CreateMultipartUpload", "POST", key, {
      query: { uploads: "" },
      headers: { "content-type": contentType },
    });
    if (!response.ok) return fail("CreateMultipartUpload", response);
    const text = (await readSmallBody(response, MAX_XML_BODY)) ?? "";
    const uploadId = /<UploadId>([^<]{1,1024})<\/UploadId>/.exec(text)?.[1];
    if (!uploadId) {
      throw new S3Error(
        "CreateMultipartUpload",
        response.status,
        "MissingUploadId",
        response.headers.get("x-amz-request-id"),
      );
    }
    return xmlUnescape(uploadId);
  }

  async function uploadPart(key: string, uploadId: string, number: number, bytes: Uint8Array): Promise<string> {
    const response = await send("UploadPart", "PUT", key, {
      query: { partNumber: String(number), uploadId },
      headers: { "content-length": String(bytes.byteLength) },
      body: bytes,
    });
    if (!response.ok) return fail("UploadPart", response);
    await response.body?.cancel();
    const etag = response.headers.get("etag");
    if (!etag)
      throw new S3Error("UploadPart", response.status, "MissingETag", response.headers.get("x-amz-request-id"));
    return etag;
  }

  async function completeMultipartUpload(key: string, uploadId: string, parts: { number: number; etag: string }[]) {
    const xml =
      `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      parts
        .map((part) => `<Part><PartNumber>${part.number}</PartNumber><ETag>${xmlEscape(part.etag)}</ETag></Part>`)
        .join("") +
      `</CompleteMultipartUpload>`;
    const body = new TextEncoder().encode(xml);
    const response = await send("CompleteMultipartUpload", "POST", key, {
      query: { uploadId },
      headers: {
        "content-type": "application/xml",
        "content-length": String(body.byteLength),
        "if-none-match": "*",
      },
      body,
    });
    if (!response.ok) return fail("CompleteMultipartUpload", response);
    // S3 may answer 200 and still fail: the error is then in the body (it sends headers before it is done).
    const text = await readSmallBody(response, MAX_XML_BODY);
    if (text === null || /<Error>/.test(text)) {
      throw new S3Error(
        "CompleteMultipartUpload",
        response.status,
        text === null ? "IncompleteResponse" : errorCodeIn(text),
        response.headers.get("x-amz-request-id"),
      );
    }
  }

  async function abortMultipartUpload(key: string, uploadId: string) {
    const response = await send("AbortMultipartUpload", "DELETE", key, { query: { uploadId } });
    // 404 NoSuchUpload: already gone.
    if (!response.ok && response.status !== 404) return fail("AbortMultipartUpload", response);
    await response.body?.cancel();
  }

  return {
    putObject,

    /**
     * Uploads a stream of unknown length without holding more than one part in memory: under one part in
     * all it is a single PutObject, otherwise a multipart upload (parts of `partSize`, the last one
     * shorter) completed with `If-None-Match: *`, so that an existing object is not replaced either. Parts
     * go one at a time, so the source is read only as fast as the bucket takes it. On any failure (the
     * source's included) the upload is aborted: no object and no orphaned parts remain.
     */
    async putObjectStream(
      key: string,
      source: AsyncIterable<Uint8Array>,
      contentType: string,
    ): Promise<{ size: number }> {
      let buffer = new Uint8Array(Math.min(partSize, 64 * 1024));
      let filled = 0;
      let size = 0;
      // Not a local `let`: TypeScript does not follow assignments made inside the helper below.
      const upload: { id: string | null; parts: { number: number; etag: string }[] } = { id: null, parts: [] };

      const flushPart = async (bytes: Uint8Array) => {
        if (upload.parts.length >= MAX_PARTS) throw new Error(`S3 UploadPart: more than ${MAX_PARTS} parts`);
        upload.id ??= await createMultipartUpload(key, contentType);
        const number = upload.parts.length + 1;
        upload.parts.push({ number, etag: await uploadPart(key, upload.id, number, bytes) });
      };

      try {
        for await (const chunk of source) {
          let offset = 0;
          while (offset < chunk.byteLength) {
            if (filled === buffer.byteLength) {
              // Grows up to one part: a small object never costs a whole part's memory.
              const grown = new Uint8Array(Math.min(partSize, buffer.byteLength * 2));
              grown.set(buffer.subarray(0, filled));
              buffer = grown;
            }
            const take = Math.min(buffer.byteLength - filled, chunk.byteLength - offset);
            // Copied: the source may reuse its chunk once we ask for the next one.
            buffer.set(chunk.subarray(offset, offset + take), filled);
            filled += take;
            offset += take;
            size += take;
            if (filled === partSize) {
              // The part is sent (and the buffer reusable) before the next chunk is asked for.
              await flushPart(buffer);
              filled = 0;
            }
          }
        }
        if (upload.id === null) {
          await putObject(key, buffer.subarray(0, filled), contentType);
          return { size };
        }
        if (filled > 0) await flushPart(buffer.subarray(0, filled));
        await completeMultipartUpload(key, upload.id, upload.parts);
        return { size };
      } catch (error) {
        if (upload.id !== null) await abortMultipartUpload(key, upload.id).catch(() => undefined);
        throw error;
      }
    },

    /** GetObject, optionally a byte range (inclusive). The body streams; `size` is the whole object's. */
    async getObject(
      key: string,
      range?: { start: number; end: number },
    ): Promise<{ stream: ReadableStream<Uint8Array>; size: number } | null> {
      const response = await send("GetObject", "GET", key, {
        headers: range ? { range: `bytes=${range.start}-${range.end}` } : {},
      });
      if (response.status === 404) {
        const code = await readErrorCode(response);
        // A missing bucket is a configuration problem, not a missing file.
        if (code === "NoSuchBucket")
          throw new S3Error("GetObject", 404, code, response.headers.get("x-amz-request-id"));
        return null;
      }
      if (response.status !== 200 && response.status !== 206) return fail("GetObject", response);
      const body = response.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
      let size: number;
      if (response.status === 206) {
        const total = /^bytes \d+-\d+\/(\d+)$/.exec(response.headers.get("content-range") ?? "")?.[1];
        size = Number(total);
      } else {
        size = Number(response.headers.get("content-length") ?? NaN);
      }
      if (!Number.isSafeInteger(size) || size < 0) {
        await body.cancel();
        throw new S3Error("GetObject", response.status, "MissingObjectSize", response.headers.get("x-amz-request-id"));
      }
      const stream = range && response.status === 200 ? sliceStream(body, range.start, range.end) : body;
      return { stream, size };
    },

    /** DeleteObject; a missing object is fine (S3 answers 204 anyway, some servers 404). */
    async deleteObject(key: string): Promise<void> {
      const response = await send("DeleteObject", "DELETE", key);
      if (response.status === 404) {
        const code = await readErrorCode(response);
        if (code === "NoSuchBucket")
          throw new S3Error("DeleteObject", 404, code, response.headers.get("x-amz-request-id"));
        return;
      }
      if (!response.ok) return fail("DeleteObject", response);
      await response.body?.cancel();
    },
  };
}
