import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

// A tiny stand-in for the Resend HTTP API, for tests. Point the Resend transport (or RESEND_BASE_URL) at `url`.

export type FakeResendRequest = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
};

export type FakeResend = {
  /** Base URL without trailing slash, e.g. "http://127.0.0.1:54321". */
  url: string;
  /** Every request received, in order (including failed ones). */
  requests: FakeResendRequest[];
  /** Makes the next request fail with this status and JSON body (a Resend-style error body by default). */
  failNext(status: number, body?: unknown): void;
  /** Makes the next request hang: it is recorded, and never answered (a provider that times out). */
  stallNext(): void;
  close(): Promise<void>;
};

export async function startFakeResend(): Promise<FakeResend> {
  const requests: FakeResendRequest[] = [];
  const failures: Array<{ status: number; body: unknown } | "stall"> = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw string
      }
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      requests.push({ method: req.method ?? "GET", path, headers: req.headers, body });

      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };

      const failure = failures.shift();
      if (failure === "stall") return; // close() ends the connection
      if (failure) return reply(failure.status, failure.body);
      if (req.method === "POST" && path === "/emails") return reply(200, { id: randomUUID() });
      return reply(404, { statusCode: 404, name: "not_found", message: "The requested endpoint does not exist." });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stallNext() {
      failures.push("stall");
    },
    failNext(status, body) {
      failures.push({
        status,
        body: body ?? {
          statusCode: status,
          name: status >= 500 ? "internal_server_error" : "validation_error",
          message: "Fake failure",
        },
      });
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
