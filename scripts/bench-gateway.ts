import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { Agent, FormData, fetch } from "undici";
import { startFakeOpenAI, type FakeOpenAI } from "#tests/fakes/openai-server";
import {
  BenchCleanup,
  ensureProductionBuild,
  fmt as formatNumber,
  lineSplitter,
  loadAverageLine,
  logAllStatements,
  monotonicUs,
  percentile,
  printHeader,
  type ProfileWindow,
  root,
  runBench,
  saveProfileWindows,
  serverEnv,
  serverLog,
  sleep,
  startBenchPostgres,
  startServer,
  stepLogger,
  stopServer,
  table,
} from "./lib/bench";
import { freePort, migrate, withClient } from "./lib/postgres";
import { cpuMeter as measureCpu, postmasterPid, signalGroup, stopGroup } from "./lib/processes";

// `npm run bench:gateway`: the time our streaming endpoint adds on top of the provider it relays.
//
// Self-contained: an embedded PostgreSQL in a throw-away folder, a migrated database with 500 verified
// members (one session and $100 each, granted through the ledger), `build/` (rebuilt when missing, a
// dev build or older than app/), and `npx tsx server/index.ts` in production mode pointed at a fake
// OpenAI upstream (tests/fakes/openai-server.ts) that streams 64 chunks 20 ms apart. The fake runs in a
// child process of its own (this script with --fake-upstream), so that it and the benchmark client do
// not share one event loop. The same request then goes
//   (a) direct:  straight to the fake through the official `openai` SDK, as the server itself calls it;
//   (b) gateway: POST /api/generate/text (multipart, as the page sends it): session check, checks,
//                conversation + generation rows, hold, the same SDK call, NDJSON relay, settle (post the
//                hold, update the row) and the history write, read with undici's fetch.
// TTFT = time to the first text delta; total = time to the end of the stream (gateway: the `done`
// event, sent after the charge is settled). "Added" = gateway − direct, per percentile.
// Phases: 1 stream at a time (alternating a/b); 50 concurrent streams (closed loop, starts staggered
// over one stream's length so arrivals are steady; each worker's first stream is ramp-up and not in
// the latencies); one wave of 500 streams at once; and (full run) 50 concurrent on ONE member's wallet.
// Every stream must deliver all 64 chunks in order with the right text (gateway: `done` says
// "succeeded" with the same text); a failure or a lost chunk makes the exit code 1. Speed never does.
//
// Flags (after `npm run bench:gateway --`):
//   --quick          fewer streams (smoke test of the script itself; figures are not comparable)
//   --phases=LIST    run only these phases, e.g. --phases=1,50 (names: 1, 50, 500, wallet)
//   --sql            also log every SQL statement of a few sequential gateway streams, with timings
//   --fake-upstream  (internal) be the fake upstream child process
//   --profile        start the server with --cpu-prof; the profile and each run's time window (µs, the
//                    clock of V8's .cpuprofile timestamps) are kept in .data/bench-profiles/gateway-<time>/

const CHUNKS = 64;
const CHUNK_DELAY_MS = 20;
const MODEL = "openai:gpt-4o";
const UPSTREAM_MODEL = "gpt-4o";
const MAX_OUTPUT_TOKENS = 256;
const PROMPT = "Write sixty-four words about wallets.";
const MEMBERS = 500;
const TARGET_TTFT_P50_MS = 3;
const TARGET_TTFT_P99_MS = 15;
/** The fake sends role, 64 deltas, finish, usage and [DONE], each followed by the delay. */
const STREAM_MS = (CHUNKS + 4) * CHUNK_DELAY_MS;

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const logSql = argv.includes("--sql");
const profile = argv.includes("--profile");
const PHASE_NAMES = ["1", "50", "500", "wallet"] as const;
type PhaseName = (typeof PHASE_NAMES)[number];
const phasesArg = argv.find((arg) => arg.startsWith("--phases="))?.slice("--phases=".length);
const phases = new Set<PhaseName>(
  phasesArg
    ? phasesArg.split(",").map((name) => {
        if (!(PHASE_NAMES as readonly string[]).includes(name)) {
          console.error(`--phases: unknown phase "${name}" (use ${PHASE_NAMES.join(", ")})`);
          process.exit(2);
        }
        return name as PhaseName;
      })
    : quick
      ? ["1", "50", "500"]
      : PHASE_NAMES,
);
const unknown = argv.filter(
  (arg) => !["--quick", "--sql", "--profile", "--fake-upstream"].includes(arg) && !arg.startsWith("--phases="),
);
if (unknown.length) {
  console.error(`Unknown option ${unknown.join(" ")}. Flags: --quick, --phases=1,50,500,wallet, --sql, --profile`);
  process.exit(2);
}

const SEQUENTIAL = quick ? 6 : 30;
const STEADY_ORDER: PathName[] = quick ? ["direct", "gateway"] : ["direct", "gateway", "gateway", "direct"];
/** Streams per worker in the 50-concurrent loop; the first of each is ramp-up. */
const STEADY_PER_WORKER = quick ? 2 : 3;
const WAVE_ORDER: PathName[] = quick ? ["direct", "gateway"] : ["direct", "gateway", "gateway", "direct"];

process.chdir(root);

// Clean-up: the server process group, the fake upstream, PostgreSQL and the temp folder
// (scripts/lib/bench.ts).
let server: ChildProcess | null = null;
let upstream: ChildProcess | null = null;
let fake: FakeOpenAI | null = null; // only in the --fake-upstream child
const cleanup = new BenchCleanup({
  stop: [
    stopBenchServer,
    stopUpstream,
    async () => {
      try {
        await fake?.close();
      } finally {
        fake = null;
      }
    },
  ],
  kill: () => {
    signalGroup(server, "SIGKILL");
    signalGroup(upstream, "SIGKILL");
  },
});

/** SIGTERM to the server (then SIGKILL); returns when every process of its group has exited. */
async function stopBenchServer() {
  // The server gives pg-boss 8 s to stop; writing a CPU profile takes a while too.
  await stopServer(server, profile ? 30_000 : 12_000);
  server = null;
}

async function stopUpstream() {
  await stopGroup(upstream, 5_000);
  upstream = null;
}

const step = stepLogger({ load: true });

/** The server's environment (RESEND_BASE_URL is never called: no member crosses a low-balance
 * threshold), pointed at the fake upstream. */
function gatewayEnv(port: number, databaseUrl: string, upstreamUrl: string) {
  return {
    ...serverEnv(port, databaseUrl),
    WALLET_CURRENCY: "USD",
    OPENAI_API_KEY: "sk-bench",
    OPENAI_BASE_URL: upstreamUrl,
  };
}

/** The fake upstream in a child process: this script with --fake-upstream (see serveFakeUpstream). */
function startUpstream(): Promise<string> {
  const child = spawn("npx", ["tsx", fileURLToPath(import.meta.url), "--fake-upstream"], {
    cwd: root,
    detached: true,
    // stdin stays open as a lifeline: the child exits when this process goes away, however it ends.
    stdio: ["pipe", "pipe", "pipe"],
  });
  upstream = child;
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fake upstream not ready after 30 s:\n${output}`)), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const url = /^FAKE (\S+)$/m.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`fake upstream exited (${code ?? signal}):\n${output}`));
    });
  });
}

/** --fake-upstream: serve the fake OpenAI API until the parent closes stdin or sends SIGTERM. */
async function serveFakeUpstream() {
  fake = await startFakeOpenAI();
  fake.chat = {
    text: EXPECTED_TEXT,
    chunks: CHUNK_TEXTS,
    finishReason: "stop",
    usage: { prompt_tokens: 12, completion_tokens: CHUNKS },
  };
  fake.chunkDelayMs = CHUNK_DELAY_MS;
  // The fake records every request (body, headers): forget them so memory stays flat.
  setInterval(() => (fake!.requests.length = 0), 1000);
  process.stdin.resume();
  process.stdin.once("close", () => void cleanup.run().finally(() => process.exit(0)));
  process.stdout.write(`FAKE ${fake.url}\n`);
}

type Member = { id: string; cookie: string };

/** Verified members (plain SQL), a live session each made by the app's own code, and $100 each
 * granted through the app's ledger (promotions → wallet), as `npm run wallet:grant` does. */
async function createMembers(databaseUrl: string, env: Record<string, string>, count: number): Promise<Member[]> {
  // env.server.ts validates at import: set what production requires before loading app modules.
  Object.assign(process.env, { ...env, LOG_LEVEL: "warn" });
  const { closeDatabase } = await import("#app/utils/db.server");
  const { createSession } = await import("#app/models/session.server");
  const ledger = await import("#app/models/ledger.server");
  const { MICROS_PER_UNIT } = await import("#app/utils/money");
  const run = randomUUID().slice(0, 8);
  const ids = Array.from({ length: count }, (_, i) => `bench${run}${String(i).padStart(4, "0")}`);
  await withClient(databaseUrl, (client) =>
    client.query(
      `INSERT INTO users (id, email, display_name, country, role, email_verified_at, age_confirmed_at,
         terms_accepted_at, updated_at)
       SELECT id, 'bench-' || n || '@example.com', 'Bench member ' || n, 'KE', 'member', now(), now(), now(), now()
       FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)`,
      [ids],
    ),
  );
  try {
    const members: Member[] = [];
    for (let i = 0; i < ids.length; i += 20) {
      const batch = ids.slice(i, i + 20);
      const cookies = await Promise.all(
        batch.map((id) => createSession(id, { ip: "127.0.0.1", userAgent: "bench-gateway" })),
      );
      batch.forEach((id, j) => members.push({ id, cookie: cookies[j]!.cookie.split(";")[0]! }));
    }
    const amount = 100n * MICROS_PER_UNIT;
    for (const id of ids) {
      await ledger.ensureWallet(id);
      await ledger.transfer({
        key: `grant:bench-gateway:${id}`,
        kind: "grant",
        description: "Promotional credit",
        metadata: { reason: "bench:gateway", source: "bench" },
        postings: [
          { accountId: ledger.PLATFORM_ACCOUNTS.promotions, amount: -amount },
          { accountId: ledger.walletAccountId(id), amount },
        ],
      });
    }
    return members;
  } finally {
    await closeDatabase();
  }
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc): where the cores went during a run: server, PostgreSQL, the fake
// upstream and this process (the benchmark client).

/** CPU seconds used by the server, PostgreSQL, the fake upstream and this process, plus the wall time. */
type CpuSpent = { server: number; postgres: number; fake: number; bench: number; seconds: number };

function cpuMeter(): () => CpuSpent {
  return measureCpu(
    {
      server: () => server?.pid,
      postgres: () => postmasterPid(cleanup.tempDir && path.join(cleanup.tempDir, "pg")),
      fake: () => upstream?.pid,
    },
    // Reaped children too: PostgreSQL backends that closed still count.
    { reaped: true },
  );
}

// ---------------------------------------------------------------------------------------------------
// One stream each way

type PathName = "direct" | "gateway";

type Sample = {
  path: PathName;
  /** Ramp-up stream: checked, but left out of the latencies. */
  ramp: boolean;
  error: string | null;
  deltas: number;
  /** ms from sending the request. NaN when it never happened. */
  ttft: number;
  total: number;
  lastDelta: number;
  /** Gateway only: the `start` event (session check, form, checks, rows and hold done). */
  start: number;
};

const CHUNK_TEXTS = Array.from({ length: CHUNKS }, (_, i) => `${i === 0 ? "" : " "}word${String(i).padStart(2, "0")}`);
const EXPECTED_TEXT = CHUNK_TEXTS.join("");

type Context = { base: string; origin: string; agent: Agent; sdk: OpenAI };

function blank(pathName: PathName): Sample {
  return {
    path: pathName,
    ramp: false,
    error: null,
    deltas: 0,
    ttft: NaN,
    total: NaN,
    lastDelta: NaN,
    start: NaN,
  };
}

/** (a) The official SDK straight to the fake upstream, with the body the server's adapter sends. */
async function direct(ctx: Context): Promise<Sample> {
  const sample = blank("direct");
  const t0 = performance.now();
  let text = "";
  let finish: string | null = null;
  try {
    const stream = await ctx.sdk.chat.completions.create({
      model: UPSTREAM_MODEL,
      messages: [{ role: "user", content: PROMPT }],
      max_completion_tokens: MAX_OUTPUT_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        const content = choice.delta?.content;
        if (content) {
          const now = performance.now() - t0;
          if (sample.deltas === 0) sample.ttft = now;
          sample.lastDelta = now;
          sample.deltas++;
          text += content;
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    sample.total = performance.now() - t0;
    if (text !== EXPECTED_TEXT) sample.error = "text differs from what the upstream sent";
    else if (finish !== "stop") sample.error = `finish reason ${finish ?? "missing"}`;
  } catch (error) {
    sample.error = error instanceof Error ? error.message : String(error);
  }
  return sample;
}

type NdjsonEvent =
  | { type: "start" }
  | { type: "delta"; text: string }
  | { type: "done"; status: string; text: string; message: string | null };

/** (b) POST /api/generate/text as the page sends it (multipart), reading the NDJSON as it arrives. */
async function gateway(ctx: Context, member: Member): Promise<Sample> {
  const sample = blank("gateway");
  const form = new FormData();
  form.set("requestId", `bench_${randomUUID().replaceAll("-", "")}`);
  form.set("model", MODEL);
  form.set("prompt", PROMPT);
  form.set("maxOutputTokens", String(MAX_OUTPUT_TOKENS));
  const t0 = performance.now();
  let text = "";
  let done: Extract<NdjsonEvent, { type: "done" }> | null = null;
  try {
    const response = await fetch(`${ctx.base}/api/generate/text`, {
      method: "POST",
      body: form,
      headers: { cookie: member.cookie, origin: ctx.origin },
      dispatcher: ctx.agent,
    });
    if (response.status !== 200 || !response.body) {
      const body = await response.text().catch(() => "");
      sample.error = `HTTP ${response.status}: ${body.slice(0, 200)}`;
      return sample;
    }
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const bytes of response.body) {
      const now = performance.now() - t0;
      buffer += decoder.decode(bytes, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.trim()) continue;
        const event = JSON.parse(line) as NdjsonEvent;
        if (event.type === "start") sample.start = now;
        else if (event.type === "delta") {
          if (sample.deltas === 0) sample.ttft = now;
          sample.lastDelta = now;
          sample.deltas++;
          text += event.text;
        } else if (event.type === "done") {
          sample.total = now;
          done = event;
        }
      }
    }
    if (buffer.trim()) sample.error = "stream ended inside a line";
    else if (!done) sample.error = "no done event";
    else if (done.status !== "succeeded") sample.error = `done: ${done.status} (${done.message ?? ""})`;
    else if (done.text !== text) sample.error = "done.text differs from the deltas";
    else if (text !== EXPECTED_TEXT) sample.error = "text differs from what the upstream sent";
  } catch (error) {
    sample.error = error instanceof Error ? error.message : String(error);
  }
  return sample;
}

// ---------------------------------------------------------------------------------------------------
// Load shapes

type RunStats = { samples: Sample[]; cpu: CpuSpent; loopP99: number };

/** With --profile: each run's monotonic time window, in µs (the clock of .cpuprofile timestamps). */
const profileWindows: ProfileWindow[] = [];

async function measured(label: string, fn: () => Promise<Sample[]>): Promise<RunStats> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const meter = cpuMeter();
  const startUs = monotonicUs();
  const samples = await fn();
  profileWindows.push({ label, startUs, endUs: monotonicUs() });
  const cpu = meter();
  loop.disable();
  return { samples, cpu, loopP99: loop.percentile(99) / 1e6 };
}

function once(ctx: Context, pathName: PathName, member: Member) {
  return pathName === "direct" ? direct(ctx) : gateway(ctx, member);
}

/** `concurrency` workers in a closed loop, started one stream-length apart in total, so that new
 * streams arrive evenly while about `concurrency` are open. Each worker's first stream is ramp-up. */
function steady(
  label: string,
  ctx: Context,
  pathName: PathName,
  concurrency: number,
  memberFor: (slot: number) => Member,
) {
  return measured(`${label} ${pathName}`, async () => {
    const samples: Sample[] = [];
    await Promise.all(
      Array.from({ length: concurrency }, async (_, slot) => {
        await sleep((slot * STREAM_MS) / concurrency);
        for (let i = 0; i < STEADY_PER_WORKER; i++) {
          const sample = await once(ctx, pathName, memberFor(slot));
          sample.ramp = i === 0;
          samples.push(sample);
        }
      }),
    );
    return samples;
  });
}

/** `count` streams sent at the same moment. */
function wave(label: string, ctx: Context, pathName: PathName, count: number, members: Member[]) {
  return measured(`${label} ${pathName}`, () =>
    Promise.all(Array.from({ length: count }, (_, slot) => once(ctx, pathName, members[slot % members.length]!))),
  );
}

// ---------------------------------------------------------------------------------------------------
// Figures

// One decimal by default here.
const fmt = (n: number, digits = 1) => formatNumber(n, digits);
const signed = (n: number, digits = 1) => (Number.isFinite(n) ? `${n >= 0 ? "+" : ""}${n.toFixed(digits)}` : "–");

function quantile(values: number[], q: number) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return percentile(sorted, q);
}

type PathFigures = {
  streams: number;
  n: number;
  failed: number;
  lost: number;
  ttft: [number, number];
  total: [number, number];
  start: [number, number];
  startToFirst: [number, number];
  tail: [number, number];
  cpu: CpuSpent;
  loopP99: number;
  errors: string[];
};

function figures(runs: RunStats[]): PathFigures {
  const samples = runs.flatMap((r) => r.samples);
  const timed = samples.filter((s) => !s.ramp && !s.error);
  const pair = (pick: (s: Sample) => number): [number, number] => {
    const values = timed.map(pick);
    return [quantile(values, 0.5), quantile(values, 0.99)];
  };
  const cpu = runs.reduce(
    (sum, r) => ({
      server: sum.server + r.cpu.server,
      postgres: sum.postgres + r.cpu.postgres,
      fake: sum.fake + r.cpu.fake,
      bench: sum.bench + r.cpu.bench,
      seconds: sum.seconds + r.cpu.seconds,
    }),
    { server: 0, postgres: 0, fake: 0, bench: 0, seconds: 0 },
  );
  const errors = new Map<string, number>();
  for (const s of samples) if (s.error) errors.set(s.error, (errors.get(s.error) ?? 0) + 1);
  return {
    streams: samples.length,
    n: timed.length,
    failed: samples.filter((s) => s.error).length,
    lost: samples.reduce((sum, s) => sum + Math.max(0, CHUNKS - s.deltas), 0),
    ttft: pair((s) => s.ttft),
    total: pair((s) => s.total),
    start: pair((s) => s.start),
    startToFirst: pair((s) => s.ttft - s.start),
    tail: pair((s) => s.total - s.lastDelta),
    cpu,
    loopP99: Math.max(...runs.map((r) => r.loopP99)),
    errors: [...errors].map(([message, count]) => `${count}× ${message}`),
  };
}

type PhaseResult = { name: string; key: PhaseName; direct: PathFigures; gateway: PathFigures };

const cpuCell = (cpu: CpuSpent) =>
  cpu.seconds > 0
    ? [cpu.server, cpu.postgres, cpu.fake, cpu.bench].map((s) => fmt((100 * s) / cpu.seconds, 0)).join("/") + " %"
    : "–";

function report(results: PhaseResult[]) {
  const rows = [
    [
      "phase",
      "path",
      "streams",
      "n",
      "TTFT p50",
      "TTFT p99",
      "total p50",
      "total p99",
      "lost",
      "failed",
      "CPU srv/pg/fake/client",
      "srv+pg ms/stream",
      "loop p99",
    ],
  ];
  for (const r of results) {
    for (const [label, f] of [
      ["direct (a)", r.direct],
      ["gateway (b)", r.gateway],
    ] as const) {
      rows.push([
        label === "direct (a)" ? r.name : "",
        label,
        String(f.streams),
        String(f.n),
        fmt(f.ttft[0]),
        fmt(f.ttft[1]),
        fmt(f.total[0], 0),
        fmt(f.total[1], 0),
        String(f.lost),
        String(f.failed),
        cpuCell(f.cpu),
        f === r.gateway ? `${fmt((1000 * f.cpu.server) / f.streams)}+${fmt((1000 * f.cpu.postgres) / f.streams)}` : "",
        fmt(f.loopP99),
      ]);
    }
    rows.push([
      "",
      "added (b − a)",
      "",
      "",
      signed(r.gateway.ttft[0] - r.direct.ttft[0]),
      signed(r.gateway.ttft[1] - r.direct.ttft[1]),
      signed(r.gateway.total[0] - r.direct.total[0], 0),
      signed(r.gateway.total[1] - r.direct.total[1], 0),
      "",
      "",
      "",
      "",
      "",
    ]);
  }
  console.log(table(rows, { leftColumns: 2, trimEnd: true }));

  console.log(
    "\nWhere the gateway's time goes (ms, p50 / p99): `start` event = session check, form, checks, rows and hold " +
      "done; start → 1st delta = upstream call + first chunk (the direct TTFT is the floor); last delta → end = " +
      "finish, usage and [DONE] chunks and the end of the response (4 × 20 ms) plus, for the gateway, settle and history write.\n",
  );
  const split = [["phase", "", "to start", "start → 1st delta", "direct TTFT", "last delta → end", "direct"]];
  for (const r of results) {
    const pair = (p: [number, number]) => `${fmt(p[0])} / ${fmt(p[1])}`;
    split.push([
      r.name,
      "",
      pair(r.gateway.start),
      pair(r.gateway.startToFirst),
      pair(r.direct.ttft),
      pair(r.gateway.tail),
      pair(r.direct.tail),
    ]);
  }
  console.log(table(split, { leftColumns: 2, trimEnd: true }));
  for (const r of results) {
    for (const f of [r.direct, r.gateway]) {
      for (const error of f.errors.slice(0, 5))
        console.log(`  ✗ ${r.name} ${f === r.direct ? "direct" : "gateway"}: ${error}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// --sql: every statement of a few sequential gateway streams, timed against the stream's events

let statementLog: { at: number; text: string }[] | null = null;
/** The statement whose continuation lines may still follow (multi-line SQL is logged as is). */
let openStatement: { text: string } | null = null;
const capturePostgresLog = lineSplitter((lines) => {
  if (!statementLog) return;
  for (const line of lines) {
    // log_line_prefix defaults to '%m [%p] ': "2026-11-23 22:30:01.123 UTC [1234] LOG:  statement: …"
    const prefixed = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] (.*)/.exec(line);
    if (!prefixed) {
      if (openStatement) openStatement.text = `${openStatement.text} ${line.trim()}`.trim();
      continue;
    }
    openStatement = null;
    const match = /^LOG:\s+(?:statement|execute [^:]*):\s*(.*)/.exec(prefixed[3]!);
    if (!match) continue;
    const statement = { at: Date.parse(`${prefixed[1]!.replace(" ", "T")}Z`), text: match[1]!.trim() };
    statementLog.push(statement);
    openStatement = statement;
  }
});

async function sqlTimeline(adminUrl: string, ctx: Context, member: Member) {
  await logAllStatements(adminUrl, true);
  await sleep(300);
  const streams: { wallStart: number; sample: Sample; statements: { at: number; text: string }[] }[] = [];
  for (let i = 0; i < 3; i++) {
    statementLog = [];
    const wallStart = performance.timeOrigin + performance.now();
    const sample = await gateway(ctx, member);
    await sleep(300);
    const statements = statementLog.filter((s) => !/pg_reload_conf|ALTER SYSTEM|pgboss/i.test(s.text));
    streams.push({ wallStart, sample, statements });
  }
  statementLog = null;
  await logAllStatements(adminUrl, false);
  const last = streams.at(-1)!;
  const lines = [
    `SQL statements per gateway stream: ${streams.map((s) => s.statements.length).join(", ")} ` +
      "(3 sequential streams; pg-boss polling left out). The last one, in order, ms after the request " +
      "left (PostgreSQL log time, ms resolution):",
  ];
  const marks = [
    ["── `start` event received", last.sample.start],
    ["── first delta received", last.sample.ttft],
    ["── last delta received", last.sample.lastDelta],
    ["── `done` event received", last.sample.total],
  ] as const;
  let mark = 0;
  for (const statement of last.statements) {
    const at = statement.at - last.wallStart;
    while (mark < marks.length && marks[mark]![1] <= at) {
      lines.push(`  ${fmt(marks[mark]![1]).padStart(7)}  ${marks[mark]![0]}`);
      mark++;
    }
    lines.push(`  ${fmt(at, 0).padStart(7)}  ${statement.text.replace(/\s+/g, " ").slice(0, 150)}`);
  }
  for (; mark < marks.length; mark++) lines.push(`  ${fmt(marks[mark]![1]).padStart(7)}  ${marks[mark]![0]}`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const loadBefore = printHeader("gateway", quick ? " — QUICK (smoke test)" : "");
  await ensureProductionBuild(["app", "providers"], step);
  const { pg, databaseUrl } = await startBenchPostgres(cleanup, "gateway", step, capturePostgresLog);

  step("starting the fake upstream (a child process)");
  const upstreamUrl = await startUpstream();

  // The server only connects on its first request, so it boots while migrations run.
  const port = await freePort();
  const env = gatewayEnv(port, databaseUrl, upstreamUrl);
  step(`fake upstream at ${upstreamUrl}; starting the production server on port ${port}; migrating meanwhile`);
  const profileDir = profile ? path.join(root, ".data", "bench-profiles", `gateway-${Date.now()}`) : null;
  const { child, ready, output } = startServer(env, profileDir);
  server = child;
  ready.catch(() => undefined); // awaited below; avoids an unhandled rejection if migrate fails first
  await migrate(databaseUrl);
  step("database migrated");
  const members = await createMembers(databaseUrl, env, MEMBERS);
  step(`${members.length} verified members, each with a session and $100`);
  await ready;
  step("server ready");

  // undici's default Agent already allows unlimited connections per origin; say so explicitly.
  const agent = new Agent({ connections: 2 * MEMBERS, keepAliveTimeout: 30_000 });
  const sdk = new OpenAI({ apiKey: "sk-bench", baseURL: upstreamUrl, maxRetries: 0, logLevel: "off" });
  const ctx: Context = { base: `http://127.0.0.1:${port}`, origin: env.APP_URL, agent, sdk };

  // One probe each way: a setup problem shows its message at once instead of 2,000 failures.
  for (const probe of [await direct(ctx), await gateway(ctx, members[0]!)]) {
    if (probe.error) throw new Error(`probe through the ${probe.path} path failed: ${probe.error}`);
  }
  step("warm-up: 10 sequential and 50 concurrent streams each way (not counted)");
  for (let i = 0; i < 10; i++) {
    await direct(ctx);
    await gateway(ctx, members[i]!);
  }
  const warm = [await wave("warm-up", ctx, "direct", 50, members), await wave("warm-up", ctx, "gateway", 50, members)];
  const warmErrors = warm.flatMap((r) => r.samples).filter((s) => s.error || s.deltas !== CHUNKS);
  if (warmErrors.length) throw new Error(`warm-up: ${warmErrors.length} streams failed: ${warmErrors[0]!.error}`);

  const results: PhaseResult[] = [];
  const byPath = (runs: { pathName: PathName; stats: RunStats }[], pathName: PathName) =>
    figures(runs.filter((r) => r.pathName === pathName).map((r) => r.stats));

  if (phases.has("1")) {
    step(`1 concurrent: ${SEQUENTIAL} streams each way, alternating`);
    const runs: { pathName: PathName; stats: RunStats }[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const order: PathName[] = i % 2 === 0 ? ["direct", "gateway"] : ["gateway", "direct"];
      for (const pathName of order) {
        const stats = await measured(`1 concurrent ${pathName}`, async () => [await once(ctx, pathName, members[0]!)]);
        runs.push({ pathName, stats });
      }
    }
    results.push({
      name: "1 concurrent",
      key: "1",
      direct: byPath(runs, "direct"),
      gateway: byPath(runs, "gateway"),
    });
  }

  if (phases.has("50")) {
    const runs: { pathName: PathName; stats: RunStats }[] = [];
    for (const pathName of STEADY_ORDER) {
      step(`50 concurrent, ${pathName}: 50 workers × ${STEADY_PER_WORKER} streams, one member each`);
      runs.push({ pathName, stats: await steady("50 concurrent", ctx, pathName, 50, (slot) => members[slot]!) });
    }
    results.push({
      name: "50 concurrent",
      key: "50",
      direct: byPath(runs, "direct"),
      gateway: byPath(runs, "gateway"),
    });
  }

  if (phases.has("500")) {
    const runs: { pathName: PathName; stats: RunStats }[] = [];
    for (const pathName of WAVE_ORDER) {
      step(`500 concurrent, ${pathName}: one wave of 500 streams, one member each`);
      runs.push({ pathName, stats: await wave("500 concurrent", ctx, pathName, 500, members) });
      await sleep(1000);
    }
    results.push({
      name: "500 concurrent",
      key: "500",
      direct: byPath(runs, "direct"),
      gateway: byPath(runs, "gateway"),
    });
  }

  if (phases.has("wallet")) {
    step(`50 concurrent on ONE wallet: 50 workers × ${STEADY_PER_WORKER} streams, all as the same member`);
    const runs: { pathName: PathName; stats: RunStats }[] = [
      { pathName: "direct", stats: await steady("one wallet", ctx, "direct", 50, () => members[0]!) },
      { pathName: "gateway", stats: await steady("one wallet", ctx, "gateway", 50, () => members[0]!) },
    ];
    results.push({
      name: "50 conc., 1 wallet",
      key: "wallet",
      direct: byPath(runs, "direct"),
      gateway: byPath(runs, "gateway"),
    });
  }

  const sql = logSql ? await sqlTimeline(pg.url("postgres"), ctx, members[1]!) : null;
  await agent.close();

  const serverOutput = serverLog(output);
  await stopBenchServer();
  await stopUpstream();
  const loadAfter = os.loadavg();

  console.log(
    `\nUpstream: fake OpenAI in its own process, ${CHUNKS} chunks ${CHUNK_DELAY_MS} ms apart (≈ ${STREAM_MS} ms a ` +
      `stream). Model ${MODEL}, maxOutputTokens ${MAX_OUTPUT_TOKENS}, multipart form like the page sends.`,
  );
  console.log(
    "Times in ms from sending the request. n = streams in the latencies (50 concurrent: each worker's first " +
      "stream is ramp-up and left out; failures too). lost = chunks missing over all streams. CPU = % of one " +
      "core (server / PostgreSQL / fake upstream / this process, the client); srv+pg ms/stream = server and " +
      "PostgreSQL CPU per gateway stream (the figure least skewed by other load); loop p99 = this process's " +
      "event-loop delay, ms (high = the client was a bottleneck).\n",
  );
  report(results);
  if (sql) console.log(`\n${sql}`);

  const fifty = results.find((r) => r.key === "50");
  const wave500 = results.find((r) => r.key === "500");
  const failed = results.reduce((sum, r) => sum + r.direct.failed + r.gateway.failed, 0);
  const lost = results.reduce((sum, r) => sum + r.direct.lost + r.gateway.lost, 0);
  console.log(
    `\nTarget: added TTFT p50 ≤ ${TARGET_TTFT_P50_MS} ms and p99 ≤ ${TARGET_TTFT_P99_MS} ms at 50 concurrent; ` +
      "0 chunks lost at 500.",
  );
  let met = true;
  if (fifty) {
    const p50 = fifty.gateway.ttft[0] - fifty.direct.ttft[0];
    const p99 = fifty.gateway.ttft[1] - fifty.direct.ttft[1];
    met &&= p50 <= TARGET_TTFT_P50_MS && p99 <= TARGET_TTFT_P99_MS;
    console.log(
      `  50 concurrent: ${p50 <= TARGET_TTFT_P50_MS ? "✓" : "✗"} added TTFT p50 ${signed(p50)} ms   ` +
        `${p99 <= TARGET_TTFT_P99_MS ? "✓" : "✗"} p99 ${signed(p99)} ms   ` +
        `(added total p50 ${signed(fifty.gateway.total[0] - fifty.direct.total[0])} ms, ` +
        `p99 ${signed(fifty.gateway.total[1] - fifty.direct.total[1])} ms)`,
    );
  } else {
    met = false;
    console.log("  50 concurrent: not run");
  }
  if (wave500) {
    const chunks = wave500.gateway.lost + wave500.direct.lost;
    met &&= chunks === 0 && wave500.gateway.failed === 0;
    console.log(
      `  500 concurrent: ${chunks === 0 ? "✓" : "✗"} ${chunks} chunks lost, ${wave500.gateway.failed} gateway ` +
        `streams failed (added TTFT p50 ${signed(wave500.gateway.ttft[0] - wave500.direct.ttft[0])} ms, ` +
        `p99 ${signed(wave500.gateway.ttft[1] - wave500.direct.ttft[1])} ms)`,
    );
  } else {
    met = false;
    console.log("  500 concurrent: not run");
  }
  console.log(met ? "Target met." : "Target NOT met.");
  if (failed || lost) console.log(`✗ INVALID: ${failed} streams failed, ${lost} chunks lost in all (exit code 1).`);
  console.log(loadAverageLine(loadBefore, loadAfter));
  if (serverOutput) console.log(`\nServer output (LOG_LEVEL=warn):\n${serverOutput.slice(0, 4000)}`);
  if (profileDir) await saveProfileWindows(profileDir, profileWindows);
  step("done");
  return failed === 0 && lost === 0;
}

if (argv.includes("--fake-upstream")) {
  await serveFakeUpstream();
} else {
  await runBench(main, cleanup);
}
