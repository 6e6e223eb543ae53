import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for fal.ai's queue API, speaking its wire format (Authorization: Key <key>):
//   POST /{model path}                          → { request_id, response_url, status_url, cancel_url, queue_position }
//   GET  /{owner}/{app}/requests/{id}/status    → 202 { status: "IN_QUEUE", queue_position } / 202 IN_PROGRESS
//                                                 (with logs) / 200 { status: "COMPLETED", … }
//   GET  /{owner}/{app}/requests/{id}           → { video: { url, content_type, file_name, file_size } },
//                                                 or the job's stored error (422 content policy, 500 …)
//   GET  /files/{name}.mp4                      → the video bytes (a public CDN URL: no key needed)
// Status and response URLs are built with the app root (owner/app, no sub-path), as fal does, and
// point back at this server. Request state lives in the server, keyed by request id, so a new
// adapter instance can poll a job another one started.

export type FakeRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
  closedEarly: boolean;
};

export type FalOutcome = "ok" | "content_policy" | "runner_error" | "validation_error";

export type FakeFal = {
  /** Origin, e.g. "http://127.0.0.1:54321" (fal's queue base has no path). */
  url: string;
  requests: FakeRequest[];
  /** Status polls that answer IN_QUEUE, then IN_PROGRESS, before COMPLETED (defaults 1 and 1). */
  queuedPolls: number;
  runningPolls: number;
  /** How a job ends (default "ok"). */
  outcome: FalOutcome;
  /** The video bytes served for a finished job. */
  video: Buffer;
  /** Whether the result declares content_type (Seedance's results do not). */
  declareContentType: boolean;
  /** Origin put into video.url (default this server). */
  videoOrigin: string | undefined;
  /** Answers the next request (to `path`, when given) with this status and a fal-style error body. */
  failNext(status: number, body?: unknown, path?: RegExp): void;
  /** Accepts the next request (to `path`, when given) and never answers it. */
  hangNext(path?: RegExp): void;
  /** The next request answers 200 with a body that is not JSON. */
  malformedNext(path?: RegExp): void;
  reset(): void;
  close(): Promise<void>;
};

/** Stand-in MP4 bytes: an "ftyp" box and an empty "mdat". */
export const FAKE_MP4 = Buffer.concat([
  Buffer.from([0, 0, 0, 24]),
  Buffer.from("ftypisom\u0000\u0000\u0002\u0000isomavc1", "latin1"),
  Buffer.from([0, 0, 0, 8]),
  Buffer.from("mdat", "latin1"),
]);

type Behaviour = ({ kind: "fail"; status: number; body: unknown } | { kind: "hang" } | { kind: "malformed" }) & {
  path?: RegExp;
};

const THREE_PART = new Set(["workflows", "comfy"]);

export async function startFakeFal(): Promise<FakeFal> {
  const requests: FakeRequest[] = [];
  const queue: Behaviour[] = [];
  const hanging = new Set<ServerResponse>();
  const jobs = new Map<string, { app: string; polls: number; body: unknown }>();

  const fake: FakeFal = {
    url: "",
    requests,
    queuedPolls: 1,
    runningPolls: 1,
    outcome: "ok",
    video: FAKE_MP4,
    declareContentType: true,
    videoOrigin: undefined,
    failNext(status, body, path) {
      queue.push({
        kind: "fail",
        status,
        body: body ?? { detail: "Fake failure", error_type: "internal_error" },
        ...(path ? { path } : {}),
      });
    },
    hangNext: (path) => void queue.push({ kind: "hang", ...(path ? { path } : {}) }),
    malformedNext: (path) => void queue.push({ kind: "malformed", ...(path ? { path } : {}) }),
    reset() {
      requests.length = 0;
      queue.length = 0;
      jobs.clear();
      fake.queuedPolls = 1;
      fake.runningPolls = 1;
      fake.outcome = "ok";
      fake.video = FAKE_MP4;
      fake.declareContentType = true;
      fake.videoOrigin = undefined;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };

  const json = (res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", "x-fal-request-id": randomUUID(), ...headers });
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

      const index = queue.findIndex((entry) => entry.path === undefined || entry.path.test(url.pathname));
      const behaviour = index >= 0 ? queue.splice(index, 1)[0] : undefined;
      if (behaviour?.kind === "fail") return json(res, behaviour.status, behaviour.body);
      if (behaviour?.kind === "hang") {
        hanging.add(res);
        return;
      }
      if (behaviour?.kind === "malformed") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"status": "COMPL');
        return;
      }

      const file = /^\/files\/[\w-]+\/([\w-]+)\.mp4$/.exec(url.pathname);
      if (req.method === "GET" && file) {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": fake.video.length });
        res.end(fake.video);
        return;
      }

      if (!/^Key \S+$/.test(req.headers.authorization ?? "")) {
        return json(res, 401, { detail: "Missing or invalid credentials" });
      }

      const request = /^\/(.+)\/requests\/([\w-]+)(\/status)?$/.exec(url.pathname);
      if (req.method === "GET" && request) {
        const [, app, id, isStatus] = request;
        const job = jobs.get(id!);
        if (!job || job.app !== app) return json(res, 404, { detail: "Request not found" });
        const urls = {
          status_url: `${fake.url}/${app}/requests/${id}/status`,
          response_url: `${fake.url}/${app}/requests/${id}`,
          cancel_url: `${fake.url}/${app}/requests/${id}/cancel`,
        };
        if (isStatus) {
          job.polls++;
          if (job.polls <= fake.queuedPolls) {
            return json(res, 202, {
              status: "IN_QUEUE",
              queue_position: fake.queuedPolls - job.polls,
              request_id: id,
              ...urls,
            });
          }
          if (job.polls <= fake.queuedPolls + fake.runningPolls) {
            return json(res, 202, {
              status: "IN_PROGRESS",
              request_id: id,
              ...urls,
              logs: [
                {
                  message: "Generating video for the fake prompt",
                  level: "INFO",
                  timestamp: new Date(0).toISOString(),
                },
              ],
            });
          }
          return json(res, 200, {
            status: "COMPLETED",
            request_id: id,
            ...urls,
            logs: null,
            metrics: { inference_time: 42.5 },
          });
        }
        if (fake.outcome === "content_policy") {
          return json(res, 422, {
            detail: [
              {
                loc: ["body", "prompt"],
                msg: "The content could not be processed because it contained material flagged by a content checker.",
                type: "content_policy_violation",
                url: "https://docs.fal.ai/errors#content_policy_violation",
              },
            ],
          });
        }
        if (fake.outcome === "validation_error") {
          return json(res, 422, {
            detail: [{ loc: ["body", "duration"], msg: "Input should be '5' or '10'", type: "literal_error" }],
          });
        }
        if (fake.outcome === "runner_error") {
          return json(
            res,
            500,
            { detail: "Runner crashed while generating", error_type: "runner_server_error" },
            { "x-fal-error-type": "runner_server_error" },
          );
        }
        const origin = fake.videoOrigin ?? fake.url;
        return json(res, 200, {
          video: {
            url: `${origin}/files/penguin/${id}.mp4`,
            ...(fake.declareContentType ? { content_type: "video/mp4" } : {}),
            file_name: "output.mp4",
            file_size: fake.video.length,
          },
          ...(fake.declareContentType ? {} : { seed: 42 }),
        });
      }

      if (req.method === "POST") {
        const segments = url.pathname.slice(1).split("/");
        if (segments.length < 2) return json(res, 404, { detail: "Application not found" });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const b = body as any;
        if (typeof b?.prompt !== "string") {
          return json(res, 422, { detail: [{ loc: ["body", "prompt"], msg: "Field required", type: "missing" }] });
        }
        const app = segments.slice(0, THREE_PART.has(segments[0]!) ? 3 : 2).join("/");
        const id = randomUUID();
        jobs.set(id, { app, polls: 0, body });
        return json(res, 200, {
          request_id: id,
          response_url: `${fake.url}/${app}/requests/${id}`,
          status_url: `${fake.url}/${app}/requests/${id}/status`,
          cancel_url: `${fake.url}/${app}/requests/${id}/cancel`,
          queue_position: 0,
        });
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
