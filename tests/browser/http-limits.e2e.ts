import http, { type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, signedInCookie } from "#tests/helpers";
import { startApp, type RunningApp } from "./harness";

// Request bodies against the real production server (server/index.ts on the built app): every body is
// capped while it streams, and every refusal is an HTTP answer, not a dropped connection (item 10).

let app: RunningApp;
let memberCookie = "";

beforeAll(async () => {
  app = await startApp();
  const member = await createUser();
  // The production server names its cookie __Host-session.
  memberCookie = `__Host-${(await signedInCookie(member.id)).cookie}`;
});
afterAll(() => app?.stop());

type Outcome =
  | { answered: true; status: number; body: string; sentBeforeAnswer: number }
  | { answered: false; error: string; sent: number };

/**
 * Posts `total` bytes (chunked unless `contentLength`), `head` first then filler, writing only as fast
 * as the server reads. Resolves with the answer and how many bytes had been written when it came, or
 * with the connection error when there was no answer.
 */
function post(
  path: string,
  options: {
    contentType: string;
    head: string;
    total: number;
    tail?: string;
    cookie?: string;
    contentLength?: boolean;
  },
): Promise<Outcome> {
  const url = new URL(path, app.url);
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string | number> = {
      "content-type": options.contentType,
      origin: app.url,
      ...(options.cookie ? { cookie: options.cookie } : {}),
      ...(options.contentLength ? { "content-length": options.total } : {}),
    };
    const request = http.request(url, { method: "POST", headers });
    request.on("response", (response: IncomingMessage) => {
      answered = true;
      const sentBeforeAnswer = sent;
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => {
        request.destroy();
        resolve({ answered: true, status: response.statusCode ?? 0, body, sentBeforeAnswer });
      });
      response.on("error", () => resolve({ answered: true, status: response.statusCode ?? 0, body, sentBeforeAnswer }));
    });
    request.on("error", (error) => {
      if (!answered) resolve({ answered: false, error: error.message, sent });
    });
    const tail = Buffer.from(options.tail ?? "");
    const filler = Buffer.alloc(64 * 1024, "a");
    const write = () => {
      if (sent === 0) {
        const head = Buffer.from(options.head);
        sent += head.byteLength;
        if (!request.write(head)) return void request.once("drain", write);
      }
      while (!answered && !request.destroyed && sent < options.total - tail.byteLength) {
        const chunk = filler.subarray(0, Math.min(filler.byteLength, options.total - tail.byteLength - sent));
        sent += chunk.byteLength;
        if (!request.write(chunk)) return void request.once("drain", write);
      }
      if (!answered && !request.destroyed) request.end(tail);
    };
    write();
  });
}

const MB = 1024 * 1024;

describe("request bodies on the real server", () => {
  it("refuses a 50 MB chunked form post to /contact with 413 long before the client has sent it", async () => {
    const outcome = await post("/contact", {
      contentType: "application/x-www-form-urlencoded",
      head: "name=A&email=a%40example.com&subject=Hi&message=",
      total: 50 * MB,
    });
    expect(outcome).toMatchObject({ answered: true, status: 413 });
    if (!outcome.answered) return;
    expect(outcome.body).toMatch(/too large/i);
    // The server stopped at its limit: the client was told while it still had almost all of it to send.
    expect(outcome.sentBeforeAnswer).toBeLessThan(8 * MB);
  });

  it("refuses a body whose Content-Length is over the limit before reading it", async () => {
    const outcome = await post("/login", {
      contentType: "application/x-www-form-urlencoded",
      head: "email=a%40example.com&password=",
      total: 5 * MB,
      contentLength: true,
    });
    expect(outcome).toMatchObject({ answered: true, status: 413 });
    if (outcome.answered) expect(outcome.sentBeforeAnswer).toBeLessThan(5 * MB);
  });

  it("answers a 1 MB field in an upload form over HTTP instead of dropping the connection", async () => {
    const boundary = "----limit-test";
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="methodId"\r\n\r\nx\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="reference"\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const outcome = await post("/wallet/top-up/manual", {
      contentType: `multipart/form-data; boundary=${boundary}`,
      head,
      tail,
      total: 1 * MB,
      cookie: memberCookie,
    });
    expect(outcome.answered).toBe(true);
    if (outcome.answered) expect(outcome.status).toBeGreaterThanOrEqual(400);
    if (outcome.answered) expect(outcome.status).toBeLessThan(500);
  });

  it("answers a 1 MB prompt to /generate over HTTP instead of dropping the connection", async () => {
    const boundary = "----limit-test";
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const outcome = await post("/generate", {
      contentType: `multipart/form-data; boundary=${boundary}`,
      head,
      tail,
      total: 1 * MB,
      cookie: memberCookie,
    });
    expect(outcome.answered).toBe(true);
    if (outcome.answered) expect(outcome.status).toBeGreaterThanOrEqual(400);
    if (outcome.answered) expect(outcome.status).toBeLessThan(500);
  });

  it("refuses a 1 MB field in a page form with 413, and still serves the next request", async () => {
    const outcome = await post("/contact", {
      contentType: "application/x-www-form-urlencoded",
      head: "name=A&email=a%40example.com&subject=Hi&message=",
      total: 1 * MB,
    });
    expect(outcome).toMatchObject({ answered: true, status: 413 });
    expect((await fetch(`${app.url}/contact`)).status).toBe(200);
  });
});
