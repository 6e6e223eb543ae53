import { randomFillSync } from "node:crypto";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import http, { type IncomingMessage } from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  bodyLimitFor,
  FORM_BODY_LIMIT,
  GENERATION_BODY_LIMIT,
  RECEIPT_BODY_LIMIT,
  STRIPE_WEBHOOK_BODY_LIMIT,
} from "../../server/body";
import { createRequestListener, sendFetchResponse, type AppHandler, type ListenerOptions } from "../../server/http";

// The HTTP layer on node:http (server/http.ts) with a stand-in for Remix: what the app is handed, and
// what reaches the client. The real app behind it is covered by the browser tests.

let publicDir: string;
let server: http.Server | null = null;

beforeAll(async () => {
  publicDir = await mkdtemp(path.join(os.tmpdir(), "ai-wallet-http-"));
  await mkdir(path.join(publicDir, "build"));
  await writeFile(path.join(publicDir, "robots.txt"), "User-agent: *\n");
  await writeFile(path.join(publicDir, "build", "entry-ABC123.js"), "console.log(1);\n");
  // A folder whose name looks like a file's, for serve-static's trailing-slash redirect.
  await mkdir(path.join(publicDir, "build", "chunks.v1"));
});
afterAll(() => rm(publicDir, { recursive: true, force: true }));
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = null;
});

async function serve(handle: AppHandler, options: Partial<ListenerOptions> = {}) {
  const errors: unknown[] = [];
  server = http.createServer(
    createRequestListener({
      handle,
      publicDir,
      appOrigin: "http://app.example",
      trustProxy: false,
      production: true,
      onError: (error) => errors.push(error),
      ...options,
    }),
  );
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, port, errors };
}

/** A promise and the function that resolves it: a point one side of a test waits for. */
function signal(): [Promise<void>, () => void] {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return [promise, resolve];
}

type Seen = { url: string; method: string; headers: Headers; body: string; clientIp: unknown };

/** A handler that records what it was given and answers 200 "ok". */
function recorder() {
  const seen: Seen[] = [];
  const handle: AppHandler = async (request, context) => {
    seen.push({
      url: request.url,
      method: request.method,
      headers: request.headers,
      body: request.body ? await request.text() : "",
      clientIp: context.clientIp,
    });
    return new Response("ok");
  };
  return { seen, handle };
}

function get(url: string, headers: Record<string, string> = {}) {
  return new Promise<IncomingMessage>((resolve, reject) => http.get(url, { headers }, resolve).on("error", reject));
}

/** A request written by hand, for what fetch would refuse to send; resolves with the whole answer. */
function rawRequest(port: number, head: string) {
  return new Promise<string>((resolve, reject) => {
    // Written, not ended: the server closes the connection after its answer (Connection: close).
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${head}\r\nConnection: close\r\n\r\n`));
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString()));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

describe("the request the app is handed", () => {
  it("carries the full URL, method, headers, body and the client's address", async () => {
    const { seen, handle } = recorder();
    const { base, port } = await serve(handle);
    const response = await fetch(`${base}/settings/email?tab=1&x=%20y`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-custom": "yes" },
      body: "email=a%40b.example&intent=change",
    });
    expect(response.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe(`http://127.0.0.1:${port}/settings/email?tab=1&x=%20y`);
    expect(seen[0]!.method).toBe("POST");
    expect(seen[0]!.headers.get("x-custom")).toBe("yes");
    expect(seen[0]!.body).toBe("email=a%40b.example&intent=change");
    expect(String(seen[0]!.clientIp)).toMatch(/127\.0\.0\.1$/);
  });

  it("keeps a target that starts with // as a path on this host", async () => {
    const { seen, handle } = recorder();
    const { port } = await serve(handle);
    const answer = await rawRequest(port, `GET //evil.example/login?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}`);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(seen.map((request) => request.url)).toEqual([`http://127.0.0.1:${port}//evil.example/login?x=1`]);
  });

  it("answers 400 to a Host or method that makes no URL or Request, and goes on serving", async () => {
    const { seen, handle } = recorder();
    const { base, port } = await serve(handle);
    expect(await rawRequest(port, "GET /login HTTP/1.1\r\nHost: a b")).toMatch(/^HTTP\/1\.1 400/);
    expect(await rawRequest(port, "GET /login HTTP/1.1\r\nHost: a:99999")).toMatch(/^HTTP\/1\.1 400/);
    expect(await rawRequest(port, `TRACE /login HTTP/1.1\r\nHost: 127.0.0.1:${port}`)).toMatch(/^HTTP\/1\.1 400/);
    // The same for a path that names a file, which goes to the app after the file look-up.
    expect(await rawRequest(port, "GET /missing.txt HTTP/1.1\r\nHost: a b")).toMatch(/^HTTP\/1\.1 400/);
    expect(seen).toHaveLength(0);
    expect((await fetch(`${base}/login`)).status).toBe(200);
  });

  it("cancels the body of an answer that is ready only after the client went away", async () => {
    const [cancelSeen, cancelled] = signal();
    const [requestArrived, arrived] = signal();
    const { base } = await serve(async (request) => {
      arrived();
      // The app is still working when the client leaves; its answer comes after.
      await new Promise<void>((resolve) => request.signal.addEventListener("abort", () => resolve()));
      const body = new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(new TextEncoder().encode("too late")),
        cancel: () => cancelled(),
      });
      return new Response(body, { headers: { "content-type": "text/html" } });
    });
    const request = http.get(`${base}/slow`);
    request.on("error", () => undefined);
    await requestArrived;
    request.destroy();
    await cancelSeen;
  });

  it("is aborted when the client goes away before its answer is complete", async () => {
    const [abortSeen, aborted] = signal();
    const [cancelSeen, cancelled] = signal();
    const { base } = await serve(async (request) => {
      request.signal.addEventListener("abort", () => aborted());
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode("first part")),
        cancel: () => cancelled(),
      });
      return new Response(body, { headers: { "content-type": "text/html" } });
    });
    const response = await get(`${base}/slow`);
    await new Promise((resolve) => response.once("data", resolve));
    response.destroy();
    await Promise.all([abortSeen, cancelSeen]);
  });
});

describe("the client's address, scheme and host behind proxies", () => {
  // The client writes the left-most entries; each proxy appends what it saw on its right.
  const spoofed = {
    "x-forwarded-for": "6.6.6.6, 203.0.113.7",
    "x-forwarded-proto": "http, https",
    "x-forwarded-host": "evil.example, wallet.example",
  };

  async function seenWith(trustProxy: ListenerOptions["trustProxy"], headers: Record<string, string> = spoofed) {
    const { seen, handle } = recorder();
    const { base, port } = await serve(handle, { trustProxy });
    await (await fetch(`${base}/login`, { headers })).text();
    server!.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = null;
    return { ...seen[0]!, port };
  }

  it("ignores every X-Forwarded-* header when no proxy is trusted", async () => {
    const seen = await seenWith(false);
    expect(seen.url).toBe(`http://127.0.0.1:${seen.port}/login`);
    expect(seen.clientIp).toBe("127.0.0.1");
  });

  it("with a hop count, takes the address, scheme and host the trusted proxies wrote, not the client", async () => {
    const one = await seenWith(1);
    expect(one.clientIp).toBe("203.0.113.7");
    expect(one.url).toBe("https://wallet.example/login");
    // Two proxies: the second (nearest) appended the first's address; the first wrote the client's.
    const two = await seenWith(2, {
      "x-forwarded-for": "6.6.6.6, 198.51.100.4, 10.0.0.2",
      "x-forwarded-proto": "http, https, http",
      "x-forwarded-host": "evil.example, wallet.example, internal:8080",
    });
    expect(two.clientIp).toBe("198.51.100.4");
    expect(two.url).toBe("https://wallet.example/login");
  });

  it("with trusted addresses, stops at the first address that is not one of them", async () => {
    const loopback = await seenWith(["loopback"]);
    expect(loopback.clientIp).toBe("203.0.113.7");
    expect(loopback.url).toBe("https://wallet.example/login");
    const chain = await seenWith(["loopback", "203.0.113.0/24"]);
    expect(chain.clientIp).toBe("6.6.6.6");
    expect(chain.url).toBe("http://evil.example/login");
  });

  it("believes nothing forwarded when the connection does not come from a trusted address", async () => {
    const seen = await seenWith(["10.0.0.0/8"]);
    expect(seen.clientIp).toBe("127.0.0.1");
    expect(seen.url).toBe(`http://127.0.0.1:${seen.port}/login`);
  });

  it("believes nothing forwarded when the forwarded address is not an IP, and ignores a scheme that is not http(s)", async () => {
    const junk = await seenWith(1, { "x-forwarded-for": "not-an-ip", "x-forwarded-host": "wallet.example" });
    expect(junk.clientIp).toBe("127.0.0.1");
    expect(junk.url).toBe(`http://127.0.0.1:${junk.port}/login`);
    const scheme = await seenWith(1, {
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "javascript",
      "x-forwarded-host": "wallet.example",
    });
    expect(scheme.clientIp).toBe("203.0.113.7");
    expect(scheme.url).toBe("http://wallet.example/login");
  });

  it("uses the address alone when proxies append fewer entries than they are", async () => {
    // Hop count 2 with one forwarded address: the nearest proxy is the client as far as we can tell.
    const seen = await seenWith(2, { "x-forwarded-for": "198.51.100.4" });
    expect(seen.clientIp).toBe("198.51.100.4");
    expect(seen.url).toBe(`http://127.0.0.1:${seen.port}/login`);
  });
});

type Upload = { status: number | null; body: string; sentBeforeAnswer: number; sent: number; error: string | null };

/**
 * Posts up to `total` bytes, writing only as fast as the server reads, and stops writing once an answer
 * has come (unless `keepSending`). Resolves when the answer has been read or the connection has failed.
 */
function upload(
  url: string,
  {
    total,
    headers = {},
    keepSending = false,
    agent,
  }: { total: number; headers?: Record<string, string | number>; keepSending?: boolean; agent?: http.Agent },
) {
  return new Promise<Upload>((resolve) => {
    const outcome: Upload = { status: null, body: "", sentBeforeAnswer: 0, sent: 0, error: null };
    const request = http.request(url, { method: "POST", headers: { "content-type": "text/plain", ...headers }, agent });
    const chunk = Buffer.alloc(64 * 1024, "a");
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    request.on("response", (response) => {
      outcome.status = response.statusCode ?? null;
      outcome.sentBeforeAnswer = outcome.sent;
      response.setEncoding("utf8");
      response.on("data", (text: string) => (outcome.body += text));
      response.on("end", () => {
        if (!keepSending) settle();
      });
    });
    request.on("error", (error) => {
      outcome.error = error.message;
      settle();
    });
    request.on("close", () => {
      if (!keepSending || outcome.error) settle();
    });
    const write = () => {
      while (outcome.sent < total && !request.destroyed && (keepSending || outcome.status === null)) {
        outcome.sent += chunk.byteLength;
        if (!request.write(chunk)) return void request.once("drain", write);
      }
      if (!request.destroyed) request.end();
    };
    write();
  });
}

describe("request bodies", () => {
  it("knows each route's limit, whatever the spelling Remix would still match", () => {
    expect(bodyLimitFor("/contact")).toBe(FORM_BODY_LIMIT);
    expect(bodyLimitFor("/login.data")).toBe(FORM_BODY_LIMIT);
    expect(bodyLimitFor("/generate")).toBe(GENERATION_BODY_LIMIT);
    expect(bodyLimitFor("/Generate.data")).toBe(GENERATION_BODY_LIMIT);
    expect(bodyLimitFor("/api/generate/text/")).toBe(GENERATION_BODY_LIMIT);
    expect(bodyLimitFor("/wallet/top-up/manual.data")).toBe(RECEIPT_BODY_LIMIT);
    expect(bodyLimitFor("/webhooks/stripe")).toBe(STRIPE_WEBHOOK_BODY_LIMIT);
    // Five 20 MB attachments and a prompt; a 5 MB receipt; forms far smaller.
    expect(GENERATION_BODY_LIMIT).toBeGreaterThan(100 * 1024 * 1024);
    expect(RECEIPT_BODY_LIMIT).toBeGreaterThan(5 * 1024 * 1024);
    expect(FORM_BODY_LIMIT).toBeLessThanOrEqual(1024 * 1024);
  });

  it("hands a body under its route's limit to the app whole", async () => {
    const { seen, handle } = recorder();
    const { base } = await serve(handle);
    const outcome = await upload(`${base}/generate`, { total: 2 * 1024 * 1024 });
    expect(outcome.status).toBe(200);
    expect(seen[0]!.body.length).toBe(2 * 1024 * 1024);
  });

  it("answers 413 the moment a streamed body passes the limit, aborts the app's work and drops its answer", async () => {
    let aborted = false;
    let readError: unknown = null;
    const [appDone, done] = signal();
    const { base, errors } = await serve(
      async (request) => {
        request.signal.addEventListener("abort", () => (aborted = true));
        try {
          await request.text();
        } catch (error) {
          readError = error;
        }
        done();
        return new Response("the app's own answer", { status: 400 });
      },
      { bodyLimit: () => 256 * 1024 },
    );
    const outcome = await upload(`${base}/contact`, { total: 50 * 1024 * 1024 });
    expect(outcome.status).toBe(413);
    expect(outcome.body).toMatch(/larger than this page accepts \(256 KB\)/);
    // The client still had almost all of its 50 MB to send when it was told.
    expect(outcome.sentBeforeAnswer).toBeLessThan(16 * 1024 * 1024);
    await appDone;
    expect(aborted).toBe(true);
    expect(String(readError)).toMatch(/BodyTooLarge|over 262144 bytes/);
    expect(errors).toEqual([]);
  });

  it("answers 413 to a declared Content-Length over the limit without calling the app", async () => {
    const { seen, handle } = recorder();
    const { base } = await serve(handle, { bodyLimit: () => 1024 });
    const outcome = await upload(`${base}/login`, { total: 4096, headers: { "content-length": 4096 } });
    expect(outcome.status).toBe(413);
    expect(seen).toEqual([]);
  });

  it("delivers the app's answer when it stops reading a body early, and keeps the connection for the next request", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports: number[] = [];
    const { base } = await serve(async (request) => {
      // As a multipart parser does on a field over its own limit: read a little, cancel the rest.
      const reader = request.body!.getReader();
      await reader.read();
      await reader.cancel();
      return new Response("field too large", { status: 400 });
    });
    server!.on("connection", (socket: net.Socket) => ports.push(socket.remotePort!));
    const first = await upload(`${base}/generate`, { total: 512 * 1024, agent, keepSending: false });
    expect(first).toMatchObject({ status: 400, body: "field too large", error: null });
    const second = await upload(`${base}/generate`, { total: 1024, agent });
    expect(second).toMatchObject({ status: 400, error: null });
    expect(ports).toHaveLength(1);
    agent.destroy();
  });

  it("delivers an answer made without reading the body (a 415), and serves the next request on the connection", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { base } = await serve(async () => new Response("not a form", { status: 415 }));
    const first = await upload(`${base}/contact`, { total: 128 * 1024, agent });
    expect(first).toMatchObject({ status: 415, body: "not a form", error: null });
    const second = await fetch(`${base}/contact`);
    expect(second.status).toBe(415);
    expect((await upload(`${base}/contact`, { total: 10, agent })).status).toBe(415);
    agent.destroy();
  });

  it("closes the connection of a client that goes on sending long after its answer", async () => {
    const { base } = await serve(async (request) => new Response(await request.text()), {
      bodyLimit: () => 64 * 1024,
    });
    const total = 1024 * 1024 * 1024;
    const outcome = await upload(`${base}/contact`, { total, keepSending: true });
    expect(outcome.status).toBe(413);
    expect(outcome.error).not.toBeNull();
    // Cut off after about a megabyte more (plus what the sockets' buffers held), far from the gigabyte.
    expect(outcome.sent).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("the Content-Security-Policy", () => {
  const directive = (policy: string, name: string) =>
    policy
      .split(";")
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${name} `)) ?? "";

  it("gives each answer its own script nonce, hands it to the app, and allows no other inline script", async () => {
    const nonces: unknown[] = [];
    const { base } = await serve(async (_request, context) => {
      nonces.push(context.cspNonce);
      return new Response("<p>page</p>", { headers: { "content-type": "text/html" } });
    });
    const policies = [];
    for (let i = 0; i < 2; i++) {
      const response = await fetch(`${base}/login`);
      await response.text();
      policies.push(response.headers.get("content-security-policy")!);
    }
    expect(nonces).toHaveLength(2);
    expect(nonces[0]).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(nonces[1]).not.toBe(nonces[0]);
    policies.forEach((policy, index) => {
      const scripts = directive(policy, "script-src");
      expect(scripts).toBe(`script-src 'self' 'nonce-${String(nonces[index])}'`);
      expect(directive(policy, "connect-src")).toBe("connect-src 'self'");
      expect(directive(policy, "object-src")).toBe("object-src 'none'");
      expect(directive(policy, "base-uri")).toBe("base-uri 'self'");
    });
  });

  it("lets the development build's live reload connect, and only it", async () => {
    const { base } = await serve(async () => new Response("ok"), { production: false, liveReload: true });
    const policy = (await fetch(`${base}/`)).headers.get("content-security-policy")!;
    expect(directive(policy, "connect-src")).toBe("connect-src 'self' ws:");
    expect(directive(policy, "script-src")).not.toContain("unsafe-inline");
  });
});

describe("the answer the client gets", () => {
  it("keeps status, status text, headers and each cookie separate", async () => {
    const { base } = await serve(async () => {
      const headers = new Headers({ "content-type": "application/json", "x-app": "1" });
      headers.append("set-cookie", "a=1; Path=/; HttpOnly");
      headers.append("set-cookie", "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT");
      return new Response('{"ok":false}', { status: 422, statusText: "Unprocessable Content", headers });
    });
    const response = await get(`${base}/api`);
    expect(response.statusCode).toBe(422);
    expect(response.statusMessage).toBe("Unprocessable Content");
    expect(response.headers["x-app"]).toBe("1");
    expect(response.headers["set-cookie"]).toEqual([
      "a=1; Path=/; HttpOnly",
      "b=2; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
    ]);
    response.resume();
  });

  it("adds the security headers to every answer, and refuses a cross-origin post before the app sees it", async () => {
    const { seen, handle } = recorder();
    const { base } = await serve(handle);
    const page = await fetch(`${base}/login`);
    const refused = await fetch(`${base}/login`, { method: "POST", headers: { origin: "https://evil.example" } });
    for (const response of [page, refused]) {
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(response.headers.get("strict-transport-security")).toMatch(/^max-age=31536000/);
    }
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe("Cross-origin request refused");
    expect(seen.map((request) => request.method)).toEqual(["GET"]);
    // The signed webhook is exempt: other servers post there.
    expect(
      (await fetch(`${base}/webhooks/stripe`, { method: "POST", headers: { origin: "https://stripe.example" } }))
        .status,
    ).toBe(200);
  });

  it("serves files by name with their cache lifetimes, and leaves missing files and pages to the app", async () => {
    const { seen, handle } = recorder();
    const { base } = await serve(handle);
    const built = await fetch(`${base}/build/entry-ABC123.js`);
    expect(await built.text()).toBe("console.log(1);\n");
    expect(built.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const robots = await fetch(`${base}/robots.txt`);
    expect(await robots.text()).toBe("User-agent: *\n");
    expect(robots.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(seen).toHaveLength(0);
    await (await fetch(`${base}/build/missing-XYZ.js`)).text();
    await (await fetch(`${base}/robots`)).text();
    expect(seen.map((request) => new URL(request.url).pathname)).toEqual(["/build/missing-XYZ.js", "/robots"]);
  });

  it("matches /build/ in any case, as Express's mount did, and redirects a folder with its full path", async () => {
    const { seen, handle } = recorder();
    const { base } = await serve(handle);
    const upper = await fetch(`${base}/BUILD/entry-ABC123.js`);
    expect(await upper.text()).toBe("console.log(1);\n");
    expect(upper.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const folder = await fetch(`${base}/build/chunks.v1`, { redirect: "manual" });
    expect(folder.status).toBe(301);
    expect(folder.headers.get("location")).toBe("/build/chunks.v1/");
    expect(seen).toHaveLength(0);
  });

  it("sends a body that is ready within one turn as one piece with its length, however many chunks it has", async () => {
    const encoder = new TextEncoder();
    // Over compression's 1 KB threshold, so that the gzip answer below is compressed.
    const parts = Array.from({ length: 12 }, (_, i) => `<p>part ${i}: ${"lorem ipsum ".repeat(10)}</p>`);
    const { base } = await serve(async () => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          // As a render does: some parts at once, others a few promise jobs later.
          for (const part of parts) {
            controller.enqueue(encoder.encode(part));
            await Promise.resolve();
          }
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/html" } });
    });
    const plain = await get(`${base}/page`);
    const bytes: Buffer[] = [];
    for await (const chunk of plain) bytes.push(chunk as Buffer);
    expect(Buffer.concat(bytes).toString()).toBe(parts.join(""));
    expect(plain.headers["content-length"]).toBe(String(parts.join("").length));
    expect(plain.headers["transfer-encoding"]).toBeUndefined();
    // Compressed, the length is the compressed one (or none): never the plain length.
    const gzipped = await get(`${base}/page`, { "accept-encoding": "gzip" });
    expect(gzipped.headers["content-encoding"]).toBe("gzip");
    expect(gzipped.headers["content-length"]).not.toBe(String(parts.join("").length));
    const unzipped: Buffer[] = [];
    for await (const chunk of gzipped.pipe(zlib.createGunzip())) unzipped.push(chunk as Buffer);
    expect(Buffer.concat(unzipped).toString()).toBe(parts.join(""));
  });

  it("streams a large body that is all ready in parts, not held whole", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(120);
    const { base } = await serve(async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(chunk);
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "application/octet-stream" } });
    });
    const response = await fetch(`${base}/file`);
    expect((await response.arrayBuffer()).byteLength).toBe(10 * chunk.byteLength);
    expect(response.headers.get("transfer-encoding")).toBe("chunked");
  });

  it.each(["identity", "gzip"])(
    "reads a large body (%s) no faster than the client takes it, and sends all of it",
    async (encoding) => {
      const total = 32 * 1024 * 1024;
      // Random bytes: gzip cannot shrink them (a repeat is farther back than its 32 KB window), so the
      // compressed answer fills the sockets as the plain one does.
      const chunk = randomFillSync(new Uint8Array(64 * 1024));
      let pulled = 0;
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      const { base } = await serve(async () => {
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled += chunk.byteLength;
            controller.enqueue(chunk);
            if (pulled >= total) controller.close();
          },
        });
        return new Response(body, { headers: { "content-type": "text/plain" } });
      });
      const response = await get(`${base}/export`, { "accept-encoding": encoding });
      response.pause();
      // Many turns of the event loop with the client not reading: the server must stop at what the
      // sockets hold (a few MB), not buffer the whole body.
      for (let turn = 0; turn < 200; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(pulled).toBeLessThan(total / 2);
      const decoded = encoding === "gzip" ? response.pipe(zlib.createGunzip()) : response;
      let received = 0;
      for await (const part of decoded) received += (part as Buffer).byteLength;
      process.off("warning", onWarning);
      expect(received).toBe(total);
      // One "drain" listener per answer, not one more per wait (compression moves them to its stream).
      expect(warnings.map((warning) => warning.name)).not.toContain("MaxListenersExceededWarning");
    },
  );

  it("stops reading a large body when the client leaves while the server waits for it to drain", async () => {
    const chunk = randomFillSync(new Uint8Array(1024 * 1024));
    const [cancelSeen, cancelled] = signal();
    const [sendFinished, finished] = signal();
    // sendFetchResponse itself, to see that it returns.
    server = http.createServer((_req, res) => {
      const body = new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(chunk),
        cancel: () => cancelled(),
      });
      void sendFetchResponse(res, new Response(body)).finally(() => finished());
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const response = await get(`http://127.0.0.1:${port}/video`);
    response.pause();
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    response.destroy();
    await Promise.all([cancelSeen, sendFinished]);
  });

  it("sends an event stream that is complete at once, and answers 500 without the failed answer's cookies", async () => {
    const { base, errors } = await serve(async (request) => {
      if (new URL(request.url).pathname === "/events") {
        return new Response("retry: 1000\n\n", { headers: { "content-type": "text/event-stream" } });
      }
      const body = new ReadableStream<Uint8Array>({
        pull: () => Promise.reject(new Error("storage read failed")),
      });
      return new Response(body, { headers: { "content-type": "image/png", "set-cookie": "seen=1; Path=/" } });
    });
    const events = await fetch(`${base}/events`);
    expect(await events.text()).toBe("retry: 1000\n\n");
    expect(errors).toEqual([]);
    const broken = await fetch(`${base}/files/1`);
    expect(broken.status).toBe(500);
    expect(await broken.text()).toBe("Internal Server Error");
    expect(broken.headers.get("set-cookie")).toBeNull();
    expect(broken.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(String(errors[0])).toContain("storage read failed");
  });

  it.each(["identity", "gzip"])(
    "sends a stream (%s) part by part: each arrives before the next is made",
    async (encoding) => {
      const encoder = new TextEncoder();
      let received!: () => void;
      let firstArrived = new Promise<void>((resolve) => (received = resolve));
      const { base } = await serve(async () => {
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            for (const part of ["data: one\n\n", "data: two\n\n"]) {
              controller.enqueue(encoder.encode(part));
              // The next part is made only once the client has read this one.
              await firstArrived;
              firstArrived = new Promise<void>((resolve) => (received = resolve));
            }
            controller.close();
          },
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      });
      const response = await get(`${base}/events`, { "accept-encoding": encoding });
      expect(response.headers["content-encoding"]).toBe(encoding === "gzip" ? "gzip" : undefined);
      const text: string[] = [];
      const decoded = encoding === "gzip" ? response.pipe(zlib.createGunzip()) : response;
      await new Promise<void>((resolve, reject) => {
        decoded.on("data", (chunk: Buffer) => {
          text.push(chunk.toString());
          received();
        });
        decoded.on("end", resolve);
        decoded.on("error", reject);
      });
      expect(text).toEqual(["data: one\n\n", "data: two\n\n"]);
    },
  );

  it("answers 500 without details when the app throws, and reports the error", async () => {
    const { base, errors } = await serve(async () => {
      throw new Error("database is down at 10.0.0.5");
    });
    const response = await fetch(`${base}/settings`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("Internal Server Error");
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain("database is down");
  });
});
