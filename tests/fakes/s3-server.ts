import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for an S3-compatible server (path-style: /{bucket}/{key}), objects kept in memory.
// Serves PUT (honouring If-None-Match: *), GET (with Range → 206 + Content-Range) and DELETE, multipart
// uploads (CreateMultipartUpload, UploadPart, CompleteMultipartUpload honouring If-None-Match: * and
// refusing parts under 5 MiB but the last, AbortMultipartUpload), and answers errors in S3's XML format
// (NoSuchKey, NoSuchBucket, NoSuchUpload, PreconditionFailed, InvalidRange, InvalidPart, InvalidPartOrder,
// EntityTooSmall, SignatureDoesNotMatch, InvalidAccessKeyId, XAmzContentSHA256Mismatch).
//
// Every request's SigV4 Authorization header is checked by recomputing the signature from the request
// as it arrived on the wire. The check below is written separately from app/utils/s3.server.ts on
// purpose: a fake sharing the client's canonicalisation would accept the client's mistakes. Both are
// pinned to AWS' published example in tests/storage.test.ts.

export type FakeS3Request = {
  method: string;
  /** The raw request target, as sent (still percent-encoded). */
  url: string;
  headers: IncomingHttpHeaders;
  bodyLength: number;
};

export type FakeS3Object = { bytes: Buffer; contentType: string };

/** A multipart upload in progress: its parts by number. */
export type FakeS3Upload = { key: string; contentType: string; parts: Map<number, { bytes: Buffer; etag: string }> };

/** S3's smallest part (all but the last): 5 MiB. */
export const FAKE_S3_MIN_PART_SIZE = 5 * 1024 * 1024;

export type FakeS3 = {
  /** Endpoint for path-style requests, e.g. "http://127.0.0.1:54321". */
  url: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Objects by key (without the bucket). */
  objects: Map<string, FakeS3Object>;
  /** Multipart uploads neither completed nor aborted, by upload id. */
  uploads: Map<string, FakeS3Upload>;
  /** Keys (without the bucket) whose GET sends the headers and half the body, then drops the connection. */
  brokenReads: Set<string>;
  requests: FakeS3Request[];
  reset(): void;
  close(): Promise<void>;
};

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

// RFC 3986 unreserved characters stay; every other byte becomes %XX.
function encode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export type VerifyInput = {
  method: string;
  /** Raw request target: path and query as sent. */
  target: string;
  headers: IncomingHttpHeaders;
  /** Hex SHA-256 of the body actually received. */
  bodySha256: string;
  secretFor: (accessKeyId: string) => string | undefined;
  region: string;
};

export type VerifyResult =
  { ok: true; accessKeyId: string } | { ok: false; code: string; canonicalRequest?: string; stringToSign?: string };

/** Checks a request's SigV4 Authorization header the way S3 does (header-based auth, single chunk). */
export function verifySigV4(input: VerifyInput): VerifyResult {
  const header = String(input.headers.authorization ?? "");
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      header,
    );
  if (!match) return { ok: false, code: "AuthorizationHeaderMalformed" };
  const [, accessKeyId = "", day = "", region = "", signedHeaderList = "", signature = ""] = match;
  const secret = input.secretFor(accessKeyId);
  if (secret === undefined) return { ok: false, code: "InvalidAccessKeyId" };
  if (region !== input.region) return { ok: false, code: "AuthorizationHeaderMalformed" };

  const amzDate = String(input.headers["x-amz-date"] ?? "");
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== day) {
    return { ok: false, code: "AuthorizationHeaderMalformed" };
  }
  const signed = signedHeaderList.split(";");
  const sortedUnique = [...new Set(signed)].sort();
  if (signed.join(";") !== sortedUnique.join(";")) return { ok: false, code: "AuthorizationHeaderMalformed" };
  // S3 requires host, x-amz-date and x-amz-content-sha256 signed, and every other x-amz-* header too.
  const mustSign = ["host", "x-amz-date", "x-amz-content-sha256"];
  for (const name of Object.keys(input.headers)) if (name.startsWith("x-amz-")) mustSign.push(name);
  if (mustSign.some((name) => !signed.includes(name))) return { ok: false, code: "AccessDenied" };

  const payloadHash = String(input.headers["x-amz-content-sha256"] ?? "");
  if (payloadHash !== "UNSIGNED-PAYLOAD" && payloadHash !== input.bodySha256) {
    return { ok: false, code: "XAmzContentSHA256Mismatch" };
  }

  const questionMark = input.target.indexOf("?");
  const path = questionMark === -1 ? input.target : input.target.slice(0, questionMark);
  const query = questionMark === -1 ? "" : input.target.slice(questionMark + 1);
  // The path as it arrived, each segment decoded then re-encoded: a client that signed a differently
  // encoded path than it sent fails here.
  let canonicalPath: string;
  try {
    canonicalPath = path
      .split("/")
      .map((segment) => encode(decodeURIComponent(segment)))
      .join("/");
  } catch {
    return { ok: false, code: "InvalidURI" };
  }
  const canonicalQuery = query
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const [name = "", value = ""] = pair.split("=");
      const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
      try {
        return `${encode(decode(name))}=${encode(decode(value))}`;
      } catch {
        return pair;
      }
    })
    .sort()
    .join("&");
  const canonicalHeaders = signed.map((name) => {
    const value = input.headers[name];
    const text = Array.isArray(value) ? value.join(",") : (value ?? "");
    return `${name}:${text.trim().replace(/ +/g, " ")}\n`;
  });
  const canonicalRequest = [
    input.method,
    canonicalPath,
    canonicalQuery,
    canonicalHeaders.join(""),
    signedHeaderList,
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonicalRequest)}`;
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), "s3"), "aws4_request");
  const expected = createHmac("sha256", key).update(stringToSign).digest();
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    return { ok: false, code: "SignatureDoesNotMatch", canonicalRequest, stringToSign };
  }
  return { ok: true, accessKeyId };
}

function xmlEscape(text: string) {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function sendXml(res: ServerResponse, root: string, fields: Record<string, string>) {
  const body = Object.entries(fields)
    .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
    .join("");
  res.writeHead(200, { "content-type": "application/xml", "x-amz-request-id": "FAKE0000" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${body}</${root}>`,
  );
}

const md5 = (data: Buffer) => createHash("md5").update(data).digest("hex");

function sendError(res: ServerResponse, status: number, code: string, extra: Record<string, string> = {}) {
  const fields = Object.entries({ Code: code, Message: code, ...extra, RequestId: "FAKE0000" })
    .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
    .join("");
  res.writeHead(status, { "content-type": "application/xml", "x-amz-request-id": "FAKE0000" });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error>${fields}</Error>`);
}

export async function startFakeS3(
  options: { bucket?: string; accessKeyId?: string; secretAccessKey?: string; region?: string } = {},
): Promise<FakeS3> {
  const objects = new Map<string, FakeS3Object>();
  const uploads = new Map<string, FakeS3Upload>();
  const brokenReads = new Set<string>();
  const requests: FakeS3Request[] = [];
  let uploadCounter = 0;
  const fake: FakeS3 = {
    url: "",
    bucket: options.bucket ?? "test-bucket",
    accessKeyId: options.accessKeyId ?? "AKIDFAKES3TEST",
    secretAccessKey: options.secretAccessKey ?? "fake/secret+key/for-tests",
    region: options.region ?? "us-east-1",
    objects,
    uploads,
    brokenReads,
    requests,
    reset() {
      objects.clear();
      uploads.clear();
      brokenReads.clear();
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (part: Buffer) => chunks.push(part));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? "GET";
      const target = req.url ?? "/";
      requests.push({ method, url: target, headers: req.headers, bodyLength: body.byteLength });

      const auth = verifySigV4({
        method,
        target,
        headers: req.headers,
        bodySha256: sha256(body),
        secretFor: (id) => (id === fake.accessKeyId ? fake.secretAccessKey : undefined),
        region: fake.region,
      });
      if (!auth.ok) {
        // Like S3, a bad signature's answer echoes what the server signed (clients must not surface it).
        const badRequest = ["XAmzContentSHA256Mismatch", "AuthorizationHeaderMalformed", "InvalidURI"];
        const status = badRequest.includes(auth.code) ? 400 : 403;
        return sendError(res, status, auth.code, {
          ...(auth.canonicalRequest ? { CanonicalRequest: auth.canonicalRequest } : {}),
          ...(auth.stringToSign ? { StringToSign: auth.stringToSign } : {}),
        });
      }

      let path: string;
      try {
        path = decodeURIComponent(target.split("?")[0] ?? "/");
      } catch {
        return sendError(res, 400, "InvalidURI");
      }
      const slash = path.indexOf("/", 1);
      const bucket = slash === -1 ? path.slice(1) : path.slice(1, slash);
      const key = slash === -1 ? "" : path.slice(slash + 1);
      if (bucket !== fake.bucket) return sendError(res, 404, "NoSuchBucket", { BucketName: bucket });
      if (!key) return sendError(res, 400, "InvalidRequest");

      // Multipart uploads are told apart by their query parameters, as S3 does.
      const query = new URLSearchParams(target.includes("?") ? target.slice(target.indexOf("?") + 1) : "");
      if (method === "POST" && query.has("uploads")) {
        uploadCounter += 1;
        const uploadId = `fake-upload-${uploadCounter}.${md5(Buffer.from(key)).slice(0, 8)}`;
        uploads.set(uploadId, {
          key,
          contentType: String(req.headers["content-type"] ?? "application/octet-stream"),
          parts: new Map(),
        });
        return sendXml(res, "InitiateMultipartUploadResult", { Bucket: bucket, Key: key, UploadId: uploadId });
      }
      const uploadId = query.get("uploadId");
      if (uploadId !== null) {
        const upload = uploads.get(uploadId);
        if (!upload || upload.key !== key) return sendError(res, 404, "NoSuchUpload", { UploadId: uploadId });
        if (method === "PUT") {
          const partNumber = Number(query.get("partNumber"));
          if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
            return sendError(res, 400, "InvalidArgument", { ArgumentName: "partNumber" });
          }
          if (Number(req.headers["content-length"]) !== body.byteLength) return sendError(res, 400, "IncompleteBody");
          const etag = `"${md5(body)}"`;
          upload.parts.set(partNumber, { bytes: body, etag });
          res.writeHead(200, { etag, "x-amz-request-id": "FAKE0000" });
          return res.end();
        }
        if (method === "POST") {
          const listed = [
            ...body
              .toString("utf8")
              .matchAll(/<Part>\s*<PartNumber>(\d+)<\/PartNumber>\s*<ETag>([^<]*)<\/ETag>\s*<\/Part>/g),
          ].map(([, number, etag]) => ({ number: Number(number), etag: (etag ?? "").replace(/&#34;|&quot;/g, '"') }));
          if (listed.length === 0) return sendError(res, 400, "MalformedXML");
          const chosen: Buffer[] = [];
          for (const [index, part] of listed.entries()) {
            if (index > 0 && part.number <= listed[index - 1]!.number) return sendError(res, 400, "InvalidPartOrder");
            const stored = upload.parts.get(part.number);
            if (!stored || stored.etag !== part.etag) return sendError(res, 400, "InvalidPart");
            const last = index === listed.length - 1;
            if (!last && stored.bytes.byteLength < FAKE_S3_MIN_PART_SIZE) {
              return sendError(res, 400, "EntityTooSmall", { PartNumber: String(part.number) });
            }
            chosen.push(stored.bytes);
          }
          // Like S3: a refused completion leaves the upload in place, to be retried or aborted.
          if (req.headers["if-none-match"] === "*" && objects.has(key)) {
            return sendError(res, 412, "PreconditionFailed", { Condition: "If-None-Match" });
          }
          objects.set(key, { bytes: Buffer.concat(chosen), contentType: upload.contentType });
          uploads.delete(uploadId);
          const etag = `"${md5(Buffer.concat(chosen.map((part) => Buffer.from(md5(part), "hex"))))}-${chosen.length}"`;
          return sendXml(res, "CompleteMultipartUploadResult", {
            Location: `${fake.url}/${bucket}/${key}`,
            Bucket: bucket,
            Key: key,
            ETag: etag,
          });
        }
        if (method === "DELETE") {
          uploads.delete(uploadId);
          res.writeHead(204);
          return res.end();
        }
        return sendError(res, 405, "MethodNotAllowed");
      }

      if (method === "PUT") {
        const declared = Number(req.headers["content-length"]);
        if (declared !== body.byteLength) return sendError(res, 400, "IncompleteBody");
        if (req.headers["if-none-match"] === "*" && objects.has(key)) {
          return sendError(res, 412, "PreconditionFailed", { Condition: "If-None-Match" });
        }
        objects.set(key, {
          bytes: body,
          contentType: String(req.headers["content-type"] ?? "application/octet-stream"),
        });
        res.writeHead(200, { etag: `"${md5(body)}"` });
        return res.end();
      }
      if (method === "GET") {
        const object = objects.get(key);
        if (!object) return sendError(res, 404, "NoSuchKey", { Key: key });
        const size = object.bytes.byteLength;
        const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ""));
        if (range && (range[1] || range[2])) {
          let start = Number(range[1]);
          let end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
          if (!range[1]) {
            start = Math.max(0, size - Number(range[2]));
            end = size - 1;
          }
          if (start >= size || start > end) return sendError(res, 416, "InvalidRange");
          res.writeHead(206, {
            "content-type": object.contentType,
            "content-length": String(end - start + 1),
            "content-range": `bytes ${start}-${end}/${size}`,
            "accept-ranges": "bytes",
          });
          return res.end(object.bytes.subarray(start, end + 1));
        }
        res.writeHead(200, {
          "content-type": object.contentType,
          "content-length": String(size),
          "accept-ranges": "bytes",
        });
        if (brokenReads.has(key)) {
          // A connection lost mid-body: the client sees fewer bytes than Content-Length, then an error.
          res.write(object.bytes.subarray(0, Math.floor(size / 2)), () => res.destroy());
          return;
        }
        return res.end(object.bytes);
      }
      if (method === "DELETE") {
        objects.delete(key);
        res.writeHead(204);
        return res.end();
      }
      return sendError(res, 405, "MethodNotAllowed");
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  return fake;
}
