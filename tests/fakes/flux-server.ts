import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for the Black Forest Labs (FLUX) API, speaking its wire format:
//   POST /v1/{model}              (x-key) { prompt, width, height | aspect_ratio } → { id, polling_url }
//   GET  /v1/get_result?id=…      (x-key) { id, status: "Pending" | "Ready" | …, result, progress }
//   GET  /delivery/{id}.png?se=…  the image (a signed delivery URL: no key needed)
// Polling and delivery URLs point back at this server unless told otherwise. Every request is
// recorded; the next one can be told to fail or hang.

export type FakeRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
  /** True once the client went away before the response was complete (abort, timeout). */
  closedEarly: boolean;
};

export type FluxOutcome = "Ready" | "Request Moderated" | "Content Moderated" | "Error" | "Failed" | "Task not found";

export type FakeFlux = {
  /** Origin, e.g. "http://127.0.0.1:54321" (BFL's base URL has no path). */
  url: string;
  requests: FakeRequest[];
  /** How many polls of a task answer "Pending" before its outcome (default 2). */
  pendingPolls: number;
  /** What a task ends as (default "Ready"). */
  outcome: FluxOutcome;
  /** The image bytes served at the delivery URL. */
  image: { bytes: Buffer; contentType: string };
  /** Origin put into polling_url (default this server). */
  pollingOrigin: string | undefined;
  /** Origin put into result.sample (default this server). */
  deliveryOrigin: string | undefined;
  /** When set, the delivery URL answers 302 to this origin's /moved/{id}.png (served here too). */
  deliveryRedirect: string | undefined;
  /** Answers the next request (to `path`, when given) with this status and a BFL-style error body. */
  failNext(status: number, body?: unknown, path?: string): void;
  /** Accepts the next request (to `path`, when given) and never answers it. */
  hangNext(path?: string): void;
  /** Answers the next request with 200 and a body that is not JSON. */
  malformedNext(): void;
  reset(): void;
  close(): Promise<void>;
};

/** A valid 1×1 PNG (one red pixel). */
export const ONE_PIXEL_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC",
  "base64",
);

type Behaviour = ({ kind: "fail"; status: number; body: unknown } | { kind: "hang" } | { kind: "malformed" }) & {
  path?: string;
};

export async function startFakeFlux(): Promise<FakeFlux> {
  const requests: FakeRequest[] = [];
  const queue: Behaviour[] = [];
  const hanging = new Set<ServerResponse>();
  const tasks = new Map<string, { polls: number; prompt: string }>();

  const fake: FakeFlux = {
    url: "",
    requests,
    pendingPolls: 2,
    outcome: "Ready",
    image: { bytes: ONE_PIXEL_PNG, contentType: "image/png" },
    pollingOrigin: undefined,
    deliveryOrigin: undefined,
    deliveryRedirect: undefined,
    failNext(status, body, path) {
      queue.push({ kind: "fail", status, body: body ?? { detail: "Fake failure" }, ...(path ? { path } : {}) });
    },
    hangNext: (path) => void queue.push({ kind: "hang", ...(path ? { path } : {}) }),
    malformedNext: () => void queue.push({ kind: "malformed" }),
    reset() {
      requests.length = 0;
      queue.length = 0;
      tasks.clear();
      fake.pendingPolls = 2;
      fake.outcome = "Ready";
      fake.image = { bytes: ONE_PIXEL_PNG, contentType: "image/png" };
      fake.pollingOrigin = undefined;
      fake.deliveryOrigin = undefined;
      fake.deliveryRedirect = undefined;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };

  const json = (res: ServerResponse, status: number, payload: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${randomUUID()}` });
    res.end(JSON.stringify(payload));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (part: Buffer) => chunks.push(part));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw string
      }
      const url = new URL(req.url ?? "/", fake.url);
      const record: FakeRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        raw,
        closedEarly: false,
      };
      requests.push(record);
      res.on("close", () => {
        hanging.delete(res);
        if (!res.writableEnded) record.closedEarly = true;
      });

      const index = queue.findIndex((entry) => entry.path === undefined || entry.path === url.pathname);
      const behaviour = index >= 0 ? queue.splice(index, 1)[0] : undefined;
      if (behaviour?.kind === "fail") return json(res, behaviour.status, behaviour.body);
      if (behaviour?.kind === "hang") {
        hanging.add(res);
        return;
      }
      if (behaviour?.kind === "malformed") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"id": "broken", "status": "Rea');
        return;
      }

      const delivery = /^\/(delivery|moved)\/([\w-]+)\.png$/.exec(url.pathname);
      if (req.method === "GET" && delivery) {
        if (!url.searchParams.get("sig")) return json(res, 403, { detail: "Signature missing" });
        if (delivery[1] === "delivery" && fake.deliveryRedirect) {
          res.writeHead(302, { location: `${fake.deliveryRedirect}/moved/${delivery[2]}.png?sig=moved` });
          res.end();
          return;
        }
        res.writeHead(200, { "content-type": fake.image.contentType, "content-length": fake.image.bytes.length });
        res.end(fake.image.bytes);
        return;
      }

      if (req.headers["x-key"] === undefined) return json(res, 403, { detail: "Not authenticated" });

      if (req.method === "GET" && url.pathname === "/v1/get_result") {
        const id = url.searchParams.get("id") ?? "";
        const task = tasks.get(id);
        if (!task) return json(res, 200, { id, status: "Task not found", result: null, progress: null });
        task.polls++;
        if (task.polls <= fake.pendingPolls) {
          return json(res, 200, {
            id,
            status: "Pending",
            result: null,
            progress: task.polls / (fake.pendingPolls + 1),
            details: null,
          });
        }
        if (fake.outcome !== "Ready") {
          return json(res, 200, {
            id,
            status: fake.outcome,
            result: null,
            progress: null,
            details: fake.outcome.endsWith("Moderated")
              ? { "Moderation Reasons": ["Fake reason about the prompt"] }
              : null,
          });
        }
        const origin = fake.deliveryOrigin ?? fake.url;
        return json(res, 200, {
          id,
          status: "Ready",
          result: {
            sample: `${origin}/delivery/${id}.png?se=2026-01-01T00%3A10%3A00Z&sig=fake-signature`,
            prompt: task.prompt,
            seed: 1234,
            start_time: 1_700_000_000.1,
            end_time: 1_700_000_003.2,
            duration: 3.1,
          },
          progress: null,
          details: null,
          preview: null,
        });
      }

      const submit = /^\/v1\/([\w.-]+)$/.exec(url.pathname);
      if (req.method === "POST" && submit) {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const b = body as any;
        if (typeof b?.prompt !== "string") {
          return json(res, 422, {
            detail: [{ loc: ["body", "prompt"], msg: "Field required", type: "missing" }],
          });
        }
        const id = randomUUID();
        tasks.set(id, { polls: 0, prompt: b.prompt });
        const origin = fake.pollingOrigin ?? fake.url;
        return json(res, 200, { id, polling_url: `${origin}/v1/get_result?id=${id}` });
      }
      return json(res, 404, { detail: "Not Found" });
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
