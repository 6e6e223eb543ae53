import { createRequestHandler, type ServerBuild } from "@remix-run/node";
import { expect } from "vitest";
import * as textRoute from "#app/routes/api.generate.text";
import { BASE_URL, createUser, fundWallet, signedInCookie } from "#tests/helpers";
import { readEvents } from "./ndjson";

export { readEvents, type Event } from "./ndjson";

// Shared by the text-generation tests: a member with money, the multipart request the page sends to
// /api/generate/text, and the NDJSON events read back. `viaRemix` sends it through Remix's own request
// handler (what the HTTP server calls), so the status a browser sees is the one asserted.

export const DOLLAR = 1_000_000n;

export async function member(balance = 5n * DOLLAR) {
  const user = await createUser();
  if (balance > 0n) await fundWallet(user.id, balance);
  const { cookie } = await signedInCookie(user.id);
  return { user, cookie };
}

let requestCounter = 0;
export function requestId() {
  requestCounter += 1;
  return `req${process.pid}x${requestCounter}x${Math.random().toString(36).slice(2, 10)}`;
}

export type Fields = Record<string, string>;
export type FileField = { name: string; bytes: Uint8Array; filename: string };

export function textRequest(cookie: string, fields: Fields, files: FileField[] = [], signal?: AbortSignal) {
  const body = new FormData();
  for (const [key, value] of Object.entries({ requestId: requestId(), ...fields })) body.append(key, value);
  for (const file of files) body.append(file.name, new Blob([Buffer.from(file.bytes)]), file.filename);
  return new Request(`${BASE_URL}/api/generate/text`, {
    method: "POST",
    body,
    headers: { cookie, origin: BASE_URL },
    signal,
  });
}

/** A Remix build with the streaming endpoint as its only route, run by Remix's real request handler. */
const build = {
  mode: "production",
  entry: { module: { default: () => new Response(null, { status: 500 }), handleError: () => undefined } },
  routes: {
    root: { id: "root", path: "", module: {} },
    "routes/api.generate.text": {
      id: "routes/api.generate.text",
      parentId: "root",
      path: "api/generate/text",
      module: textRoute,
    },
  },
  assets: { entry: { imports: [], module: "" }, routes: {}, url: "", version: "test" },
  publicPath: "/build/",
  assetsBuildDirectory: "public/build",
  future: {
    v3_fetcherPersist: true,
    v3_relativeSplatPath: true,
    v3_throwAbortReason: true,
    v3_singleFetch: true,
    v3_lazyRouteDiscovery: true,
  },
  isSpaMode: false,
} as unknown as ServerBuild;
const handle = createRequestHandler(build, "production");

/** Sends a request the way the HTTP server does: through Remix's request handler, which answers a Response. */
export function viaRemix(request: Request): Promise<Response> {
  return handle(request, { clientIp: "203.0.113.9" });
}

/** Runs one generation to its end through Remix and returns its events, its "done" event and the text. */
export async function generate(cookie: string, fields: Fields, files: FileField[] = []) {
  const response = await viaRemix(textRequest(cookie, fields, files));
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/ndjson/);
  const events = await readEvents(response);
  const done = events.find((event) => event.type === "done")!;
  return {
    events,
    done,
    text: events
      .filter((event) => event.type === "delta")
      .map((event) => event.text)
      .join(""),
  };
}

export type Refusal = { status: number; body: { error: string; field: string | null; code: string } };

/** A refusal as a browser sees it: the HTTP status and the JSON body. */
export async function refusalOf(response: Response): Promise<Refusal> {
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  return { status: response.status, body: (await response.json()) as Refusal["body"] };
}
