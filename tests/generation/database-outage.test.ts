import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ensureDatabase,
  freePort,
  migrate,
  startEmbeddedPostgres,
  type RunningPostgres,
} from "../../scripts/lib/postgres";
import { startFakeOpenAI, type FakeOpenAI } from "../fakes/openai-server";
import { readEvents, type Event } from "./ndjson";

// A database outage under streaming load, through the real production server (server/index.ts on the built
// app, `npm run build` first) in its own process, against a PostgreSQL cluster of this file's own (the test
// cluster is shared by every file, so it cannot be stopped). PostgreSQL is stopped for 10 s while text
// streams are in flight: the process must stay up, answer 503 with Retry-After meanwhile, serve again by
// itself once the database is back, and leave every hold settled (ledger invariants hold).

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OUTAGE_MS = 10_000;
const STREAMS = 4;

let dir: string;
let port: number;
let postgres: RunningPostgres | null = null;
let fake: FakeOpenAI;
let server: ChildProcess;
let output = "";
let base: string;
let databaseUrl: string;
let app: {
  helpers: typeof import("#tests/helpers");
  ledger: typeof import("#app/models/ledger.server");
  db: typeof import("#app/utils/db.server");
};

beforeAll(async () => {
  await access(path.join(root, "build", "index.js")).catch(() => {
    throw new Error("build/index.js is missing: run `npm run build` first");
  });
  dir = await mkdtemp(path.join(os.tmpdir(), "ai-wallet-outage-"));
  port = await freePort();
  postgres = await startEmbeddedPostgres({ dir: path.join(dir, "data"), port, persistent: true });
  await ensureDatabase(postgres.url("postgres"), "outage");
  databaseUrl = postgres.url("outage");
  await migrate(databaseUrl, { force: true });
  // This file's app modules (members, sessions, the ledger check) use the same database as the server.
  process.env.DATABASE_URL = databaseUrl;
  app = {
    helpers: await import("#tests/helpers"),
    ledger: await import("#app/models/ledger.server"),
    db: await import("#app/utils/db.server"),
  };

  fake = await startFakeOpenAI();
  // Each answer: 30 chunks 150 ms apart, so streams are still running when the database goes.
  fake.chunkDelayMs = 150;
  fake.chat = {
    text: Array.from({ length: 30 }, (_, index) => `w${index}`).join(" "),
    finishReason: "stop",
    usage: { prompt_tokens: 12, completion_tokens: 30 },
  };

  const serverPort = await freePort();
  base = `http://localhost:${serverPort}`;
  server = spawn("npx", ["tsx", "server/index.ts"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(serverPort),
      APP_URL: base,
      DATABASE_URL: databaseUrl,
      RESEND_API_KEY: "re_test_outage",
      RESEND_BASE_URL: "http://127.0.0.1:9",
      OPENAI_API_KEY: "sk-test-outage",
      OPENAI_BASE_URL: fake.url,
      GENERATION_TIMEOUT_SECONDS: "60",
      STORAGE_DIR: path.join(dir, "files"),
      LOG_LEVEL: "warn",
      GOOGLE_CLIENT_ID: "",
      GOOGLE_CLIENT_SECRET: "",
      TRUST_PROXY: "",
    },
  });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  server.stdout!.on("data", collect);
  server.stderr!.on("data", collect);
  await vi.waitFor(
    () => {
      if (server.exitCode !== null) throw new Error(`server exited before READY:\n${output}`);
      expect(output).toMatch(/^READY http:\/\/localhost:\d+$/m);
    },
    { timeout: 90_000, interval: 200 },
  );
}, 180_000);

afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    process.kill(-server.pid, "SIGTERM");
    await exited;
  }
  await fake?.close();
  await postgres?.stop().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

async function member() {
  const user = await app.helpers.createUser();
  await app.helpers.fundWallet(user.id, 5_000_000n);
  const { cookie } = await app.helpers.signedInCookie(user.id);
  // The production server names its session cookie __Host-session.
  return { user, cookie: cookie.replace(/^session=/, "__Host-session=") };
}

let counter = 0;
function generate(cookie: string, prompt: string) {
  const body = new FormData();
  body.set("requestId", `outage${process.pid}x${(counter += 1)}x${Date.now()}`);
  body.set("model", "openai:gpt-4o");
  body.set("prompt", prompt);
  return fetch(`${base}/api/generate/text`, {
    method: "POST",
    body,
    headers: { cookie, origin: base },
    redirect: "manual",
  });
}

/** The server process never exited (an unhandled rejection would have ended it). */
function expectAlive() {
  if (server.exitCode !== null || server.signalCode !== null) {
    throw new Error(`the server exited (code ${server.exitCode}, signal ${server.signalCode}):\n${output}`);
  }
}

describe("a database outage while text streams", () => {
  it("keeps the process up, answers 503 meanwhile, recovers by itself and leaves no hold unsettled", async () => {
    const members = await Promise.all(Array.from({ length: STREAMS }, () => member()));
    const pid = server.pid;

    // Streams in flight: each has its hold and row, and has delivered its first words.
    const streams = await Promise.all(
      members.map(async ({ cookie }, index) => {
        const response = await generate(cookie, `Stream ${index}`);
        expect(response.status).toBe(200);
        const reader = response.body!.getReader();
        const first = await reader.read();
        return { response: new Response(restOf(first.value!, reader)), reader };
      }),
    );

    await postgres!.stop();
    const stoppedAt = Date.now();

    // The streams run to their end: the upstream does not need the database; the charge waits for it.
    const ended = await Promise.all(streams.map(({ response }) => readEvents(response)));
    for (const events of ended) {
      const done = events.find((event: Event) => event.type === "done");
      expect(done).toMatchObject({ status: "running" });
      expect(String(done!.message)).toMatch(/could not record/);
    }
    expectAlive();

    // While the database is away: 503 with Retry-After for the health check, a page and the API.
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(503);
    const page = await fetch(`${base}/wallet`, {
      headers: { cookie: members[0]!.cookie, accept: "text/html" },
      redirect: "manual",
    });
    expect(page.status).toBe(503);
    expect(page.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await page.text()).toMatch(/try again in a few seconds/);
    const refused = await generate(members[0]!.cookie, "During the outage");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await refused.json()).toMatchObject({ code: "unavailable" });
    expectAlive();

    // Ten seconds down, then the same cluster starts again.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    expectAlive();
    postgres = await startEmbeddedPostgres({ dir: path.join(dir, "data"), port, persistent: true });

    // The same process serves again by itself.
    await vi.waitFor(async () => expect((await fetch(`${base}/healthz`)).status).toBe(200), {
      timeout: 30_000,
      interval: 250,
    });
    const after = await generate(members[1]!.cookie, "After the outage");
    expect(after.status).toBe(200);
    const events = await readEvents(after);
    expect(events.find((event) => event.type === "done")).toMatchObject({ status: "succeeded" });
    expect(server.pid).toBe(pid);
    expectAlive();

    // The in-flight generations are charged once recorded (retried in the background): no hold is left.
    const ids = ended.map((events) => String(events[0]!.generationId));
    await vi.waitFor(
      async () => {
        const rows = await app.db.prisma.generation.findMany({ where: { id: { in: ids } } });
        expect(rows.map((row) => row.status)).toEqual(ids.map(() => "succeeded"));
      },
      { timeout: 30_000, interval: 500 },
    );
    const holds = await app.db.prisma.ledgerHold.findMany({
      where: { account: { userId: { in: members.map(({ user }) => user.id) } } },
    });
    expect(holds.filter((hold) => hold.status === "pending")).toEqual([]);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
    for (const { user } of members) {
      const rows = await app.db.prisma.generation.findMany({ where: { userId: user.id } });
      const charged = rows.reduce((sum, row) => sum + (row.cost ?? 0n), 0n);
      expect(await app.ledger.getWalletBalance(user.id)).toMatchObject({ balance: 5_000_000n - charged, held: 0n });
    }
  }, 120_000);
});

/** The rest of a body whose first chunk was already read, as a stream. */
function restOf(first: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(first);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
}
