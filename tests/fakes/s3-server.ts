import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for an S3-compatible server (path-style: /{bucket}/{key}), objects kept in memory.
// Serves PUT (honouring If-None-Match: *), GET (with Range → 206 + Content-Range) and DELETE, and answers
// errors in S3's XML format (NoSuchKey, NoSuchBucket, PreconditionFailed, InvalidRange,
// SignatureDoesNotMatch, InvalidAccessKeyId, XAmzContentSHA256Mismatch).
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

export type FakeS3 = {
  /** Endpoint for path-style requests, e.g. "http://127.0.0.1:54321". */
  url: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Objects by key (without the bucket). */
  objects: Map<string, FakeS3Object>;
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
  const requests: FakeS3Request[] = [];
  const fake: FakeS3 = {
    url: "",
    bucket: options.bucket ?? "test-bucket",
    accessKeyId: options.accessKeyId ?? "AKIDFAKES3TEST",
    secretAccessKey: options.secretAccessKey ?? "fake/secret+key/for-tests",
    region: options.region ?? "us-east-1",
    objects,
    requests,
    reset() {
      objects.clear();
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
        res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"` });
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
