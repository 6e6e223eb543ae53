import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import autocannon from "autocannon";
import {
  BenchCleanup,
  ensureProductionBuild,
  fmt,
  lineSplitter,
  loadAverageLine,
  logAllStatements,
  monotonicUs,
  percentile,
  printHeader,
  productionEnv,
  type ProfileWindow,
  root,
  runBench,
  saveProfileWindows,
  serverEnv,
  serverLog,
  startBenchPostgres,
  startServer,
  stepLogger,
  stopServer,
  table,
} from "./lib/bench";
import { freePort, migrate, withClient } from "./lib/postgres";
import { cpuMeter as measureCpu, postmasterPid, signalGroup } from "./lib/processes";

// `npm run bench:http`: HTTP throughput and latency of ONE production server process.
//
// Self-contained: an embedded PostgreSQL in a throw-away folder, a migrated database with one verified
// member and one session, `build/` (rebuilt when missing, a dev build or older than app/), then
// `npx tsx server/index.ts` in production mode (pg-boss background jobs on, as by default), loaded with
// autocannon:
//   GET /login     anonymous page render (root + route loaders, no database query)
//   GET /settings  the member's profile page (session check, whose one statement brings the profile;
//                  three loaders)
// First, for each route before any overload: an evenly paced open loop at 80 % of the target rate
// (400 req/s), a warm-up and then the measured run: the target's p99. Then, for each route: the maximum
// throughput (autocannon), and for reference the 400 req/s run again right after it (its first seconds
// discarded), and 80 % of the measured maximum twice: with autocannon's overallRate (per-second quotas,
// so bursts) and evenly paced. Any non-2xx response or socket error
// invalidates the run (and the exit code is 1). Target: ≥ 500 req/s, and p99 < 50 ms at 80 % of that
// rate (400 req/s).
//
// Flags (after `npm run bench:http --`):
//   --compare  also measure /healthz, /favicon.svg, /login with gzip/br, and SQL statements per request
//   --profile  start the server with --cpu-prof; profiles are kept in .data/bench-profiles/
//   --quick    shorter runs (smoke test of the script itself; figures are not comparable)

const TARGET_RPS = 500;
const TARGET_P99_MS = 50;
const LOAD_FACTOR = 0.8;

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const compare = args.has("--compare");
const profile = args.has("--profile");
const WARMUP_S = quick ? 1 : 5;
const MAX_S = quick ? 3 : 10;
const RATED_S = quick ? 3 : 8;
const PACED_S = quick ? 2 : 5;
const TARGET_LOAD_S = quick ? 2 : 10;
// Discarded first seconds of the reference run at the target rate after the max run.
const SETTLE_S = quick ? 1 : 3;
const LAG_RESOLUTION_MS = 5;
const TARGET_LOAD_RPS = TARGET_RPS * LOAD_FACTOR;
const CONNECTIONS = 50;

process.chdir(root);

// Clean-up: the server process group, PostgreSQL and the temp folder (scripts/lib/bench.ts).
let server: ChildProcess | null = null;
const cleanup = new BenchCleanup({
  stop: [stopBenchServer],
  kill: () => signalGroup(server, "SIGKILL"),
});

/** SIGTERM to the server (then SIGKILL); returns when every process of its group has exited. */
async function stopBenchServer() {
  // The server allows its pg-boss workers 8 s to stop; writing a profile takes a while too.
  await stopServer(server, profile ? 30_000 : 12_000);
  server = null;
}

const step = stepLogger();

/** One verified member (plain SQL, so a schema ahead of its migrations does not matter) and a live
 * session created by the app's own code (cookie token, SHA-256 of it as the session id). */
async function createMemberSession(databaseUrl: string, port: number) {
  // env.server.ts validates at import: set what production requires before loading app modules.
  Object.assign(process.env, productionEnv(databaseUrl, `http://localhost:${port}`));
  const { hashPassword } = await import("#app/utils/password.server");
  const { closeDatabase } = await import("#app/utils/db.server");
  const { createSession } = await import("#app/models/session.server");
  const userId = `bench${randomUUID().replaceAll("-", "")}`;
  const email = "bench-member@example.com";
  const hash = await hashPassword("bench-member-password");
  await withClient(databaseUrl, async (client) => {
    await client.query(
      `INSERT INTO users (id, email, display_name, country, role, email_verified_at, age_confirmed_at,
         terms_accepted_at, updated_at) VALUES ($1, $2, 'Bench Member', 'KE', 'member', now(), now(), now(), now())`,
      [userId, email],
    );
    await client.query("INSERT INTO passwords (user_id, hash, updated_at) VALUES ($1, $2, now())", [userId, hash]);
  });
  try {
    const { cookie } = await createSession(userId, { ip: "127.0.0.1", userAgent: "bench-http" });
    return { cookie: cookie.split(";")[0]!, email };
  } finally {
    await closeDatabase();
  }
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting (Linux /proc): where the cores went during a run: server, PostgreSQL, this process.

type CpuSplit = { server: number; postgres: number; bench: number };

/** Starts a measurement; the returned function gives each party's CPU in % of one core. */
function cpuMeter(): () => CpuSplit {
  const measure = measureCpu(
    { server: () => server?.pid, postgres: () => postmasterPid(cleanup.tempDir && path.join(cleanup.tempDir, "pg")) },
    { reaped: false },
  );
  return () => {
    const spent = measure();
    const pct = (cpuSeconds: number) => Math.max(0, (100 * cpuSeconds) / spent.seconds);
    return { server: pct(spent.server), postgres: pct(spent.postgres), bench: (100 * spent.bench) / spent.seconds };
  };
}

// With --profile: monotonic windows (µs, the clock of V8's .cpuprofile timestamps) of each run.
const profileWindows: ProfileWindow[] = [];
async function window<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const startUs = monotonicUs();
  try {
    return await fn();
  } finally {
    profileWindows.push({ label, startUs, endUs: monotonicUs() });
  }
}

// ---------------------------------------------------------------------------------------------------
// Load

type Target = { name: string; path: string; headers?: Record<string, string>; expectText?: string };

type RunResult = {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  bad: Record<string, number>;
  errors: number;
  /** Socket error codes and how often each came (paced runs; autocannon only counts them). */
  errorCodes?: Record<string, number>;
  /** Paced runs: the load generator's own event-loop delay, max in ms. A late generator sends late,
   * and the delay counts as latency, so a large value makes the run's p99 suspect. */
  generatorLagMs?: number;
  timeouts: number;
};

function summarise(result: autocannon.Result): RunResult {
  const bad: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) {
    if (!code.startsWith("2")) bad[code] = stat.count ?? 0;
  }
  return {
    rps: result["2xx"] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    bad,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

async function cannon(base: string, target: Target, options: { duration: number; overallRate?: number }) {
  const result = await autocannon({
    url: base + target.path,
    headers: target.headers,
    connections: CONNECTIONS,
    duration: options.duration,
    overallRate: options.overallRate,
    timeout: 10,
  });
  return summarise(result);
}

function isValid(run: RunResult) {
  return run.ok > 0 && run.errors === 0 && run.timeouts === 0 && Object.keys(run.bad).length === 0;
}

function failures(run: RunResult) {
  const parts = Object.entries(run.bad).map(([code, count]) => `${count}× HTTP ${code}`);
  const codes = Object.entries(run.errorCodes ?? {}).map(([code, count]) => `${count}× ${code}`);
  if (run.errors) parts.push(`${run.errors} socket errors${codes.length ? ` (${codes.join(", ")})` : ""}`);
  if (run.timeouts) parts.push(`${run.timeouts} timeouts`);
  return parts.join(", ");
}

/** Open-loop load: requests leave at a steady rate whatever the server does, and latency counts from
 * the scheduled departure, so queueing is never hidden. autocannon's overallRate instead lets every
 * connection fire its per-second quota back to back at the start of each second (bursts of 50). */
async function paced(
  base: string,
  target: Target,
  rate: number,
  seconds: number,
  // Shared by the settle run and the measured run, so that the latter starts on warm connections.
  shared?: http.Agent,
): Promise<RunResult> {
  const agent = shared ?? new http.Agent({ keepAlive: true, maxSockets: 1000 });
  const url = new URL(base + target.path);
  const total = Math.max(1, Math.round(rate * seconds));
  const latencies: number[] = [];
  const bad: Record<string, number> = {};
  let errors = 0;
  const errorCodes: Record<string, number> = {};
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  const socketError = (error: NodeJS.ErrnoException) => {
    errors++;
    const code = error.code ?? error.message;
    errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  };
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let settled = 0;
    const settle = () => ++settled === total && resolve();
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      for (; sent < due; sent++) {
        const scheduled = t0 + (sent * 1000) / rate;
        let done = false;
        const finish = (record: () => void) => {
          if (done) return;
          done = true;
          record();
          settle();
        };
        const request = http.get(url, { agent, headers: target.headers }, (response) => {
          response.resume();
          response.on("error", (error) => finish(() => socketError(error)));
          response.on("end", () => {
            const code = response.statusCode ?? 0;
            finish(() => {
              if (code >= 200 && code < 300) latencies.push(performance.now() - scheduled);
              else bad[code] = (bad[code] ?? 0) + 1;
            });
          });
        });
        request.setTimeout(10_000, () => request.destroy(new Error("timeout")));
        request.on("error", (error) => finish(() => socketError(error)));
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const duration = (performance.now() - t0) / 1000;
  lag.disable();
  if (!shared) agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / duration,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    ok: latencies.length,
    bad,
    errors,
    errorCodes,
    // The histogram counts the timer's own interval in every sample.
    generatorLagMs: Math.max(0, lag.max / 1e6 - LAG_RESOLUTION_MS),
    timeouts: 0,
  };
}

/** One request, checked before loading: the route answers 200 with the expected page. */
async function probe(base: string, target: Target) {
  const response = await fetch(base + target.path, { headers: target.headers, redirect: "manual" });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${target.path} answered ${response.status}, expected 200`);
  if (target.expectText && !body.includes(target.expectText)) {
    throw new Error(`GET ${target.path} did not contain ${JSON.stringify(target.expectText)}`);
  }
  return body.length;
}

type TargetResult = {
  target: Target;
  bytes: number;
  /** Evenly paced at 80 % of the target rate on a server that has not been overloaded: the target's p99. */
  atTarget: RunResult;
};

type RouteResult = TargetResult & {
  max: RunResult;
  cpu: CpuSplit;
  /** The same paced load right after the max run, for reference: the overload leaves a heap full of
   * garbage behind, and its collection lands in this run. */
  afterOverload: RunResult;
  /** 80 % of the measured maximum, for reference. */
  rate: number;
  rated: RunResult;
  paced: RunResult;
};

/** Phase 1, for each route before any overload: a warm-up at the target load, then the measured run.
 * A max run promotes the garbage of every queued request to the old generation (the heap grew from
 * about 130 to 500 MB in 10 s), and the major collection that follows it, seconds later, stalls the
 * loop for 40-100 ms: that is the recovery from an overload, not the steady state at 400 req/s. */
async function measureAtTarget(base: string, target: Target): Promise<TargetResult> {
  const bytes = await probe(base, target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
  try {
    step(`GET ${target.path}: warm-up at ${TARGET_LOAD_RPS} req/s (80 % of the target), evenly paced, ${WARMUP_S} s`);
    const warmUp = await paced(base, target, TARGET_LOAD_RPS, WARMUP_S, agent);
    if (!isValid(warmUp)) console.error(`  ✗ ${target.path} warm-up had failures: ${failures(warmUp)}`);
    step(`GET ${target.path}: ${TARGET_LOAD_RPS} req/s (80 % of the target), evenly paced, ${TARGET_LOAD_S} s`);
    const atTarget = await window(`${target.path} target paced`, () =>
      paced(base, target, TARGET_LOAD_RPS, TARGET_LOAD_S, agent),
    );
    return { target, bytes, atTarget };
  } finally {
    agent.destroy();
  }
}

/** Phase 2: the maximum throughput, then the reference runs. */
async function measureLimits(base: string, first: TargetResult): Promise<RouteResult> {
  const { target } = first;
  step(`GET ${target.path}: max throughput, ${CONNECTIONS} connections, ${MAX_S} s`);
  const meter = cpuMeter();
  const max = await window(`${target.path} max`, () => cannon(base, target, { duration: MAX_S }));
  const cpu = meter();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
  step(
    `GET ${target.path}: ${TARGET_LOAD_RPS} req/s right after the max run, ${SETTLE_S} s to settle, then ${TARGET_LOAD_S} s`,
  );
  const settle = await paced(base, target, TARGET_LOAD_RPS, SETTLE_S, agent);
  if (!isValid(settle)) console.error(`  ✗ ${target.path} settle run had failures: ${failures(settle)}`);
  const afterOverload = await window(`${target.path} target paced after overload`, () =>
    paced(base, target, TARGET_LOAD_RPS, TARGET_LOAD_S, agent).finally(() => agent.destroy()),
  );
  const rate = Math.max(1, Math.floor(max.rps * LOAD_FACTOR));
  step(`GET ${target.path}: ${rate} req/s (${LOAD_FACTOR * 100} % of max), autocannon overallRate, ${RATED_S} s`);
  const rated = await window(`${target.path} 80% autocannon`, () =>
    cannon(base, target, { duration: RATED_S, overallRate: rate }),
  );
  step(`GET ${target.path}: ${rate} req/s, evenly paced (open loop), ${PACED_S} s`);
  const even = await window(`${target.path} 80% paced`, () => paced(base, target, rate, PACED_S));
  const result = { ...first, max, cpu, afterOverload, rate, rated, paced: even };
  for (const [label, run] of labelledRuns(result)) {
    if (!isValid(run)) console.error(`  ✗ ${target.path} ${label} run had failures: ${failures(run)}`);
  }
  return result;
}

const labelledRuns = (r: RouteResult) =>
  [
    [`${TARGET_LOAD_RPS}/s paced`, r.atTarget],
    ["max", r.max],
    [`${TARGET_LOAD_RPS}/s paced after overload`, r.afterOverload],
    ["80 % autocannon", r.rated],
    ["80 % paced", r.paced],
  ] as const;

// PostgreSQL's own log lines, captured while counting statements.
let statementLog: string[] | null = null;
const capturePostgresLog = lineSplitter((lines) => {
  if (!statementLog) return;
  for (const line of lines) {
    const match = /LOG:\s+(?:statement|execute [^:]*):\s*(.*)/.exec(line);
    if (match) statementLog.push(match[1]!.trim());
    // A multi-line statement continues on the following, indented, lines.
    else if (/^\s/.test(line) && statementLog.length) {
      statementLog[statementLog.length - 1] = `${statementLog.at(-1)} ${line.trim()}`.trim();
    }
  }
});

/** SQL statements the server sends per request (log_statement = all, sequential requests). */
async function statementsPerRequest(adminUrl: string, base: string, target: Target, requests = 20) {
  await logAllStatements(adminUrl, true);
  await new Promise((resolve) => setTimeout(resolve, 300));
  statementLog = [];
  for (let i = 0; i < requests; i++) await probe(base, target);
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Not the request's: the logging switch itself and pg-boss's background polling.
  const lines = statementLog.filter((line) => !/pg_reload_conf|ALTER SYSTEM|pgboss/.test(line));
  const background = statementLog.filter((line) => /pgboss/.test(line)).length;
  statementLog = null;
  await logAllStatements(adminUrl, false);
  const shapes = new Map<string, number>();
  for (const line of lines) {
    const shape = line.replace(/\s+/g, " ").slice(0, 110);
    shapes.set(shape, (shapes.get(shape) ?? 0) + 1);
  }
  return {
    perRequest: lines.length / requests,
    statements: [...shapes].map(([shape, count]) => `${fmt(count / requests, 1)}× ${shape}`),
    background,
  };
}

/** Sequential single-client latency (no queueing): the floor for p50. */
async function sequentialLatency(base: string, target: Target, requests = 200) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const url = new URL(base + target.path);
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent, headers: target.headers }, (response) => {
          response.resume();
          response.on("end", () => resolve());
        })
        .on("error", reject);
    });
    times.push(performance.now() - t0);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

// ---------------------------------------------------------------------------------------------------
// Output

const pct = (n: number) => `${fmt(n)} %`;

async function compareRoutes(base: string, adminUrl: string, targets: Target[]) {
  const others: Target[] = [
    { name: "resource route, SELECT 1, no React", path: "/healthz" },
    { name: "express.static, no Remix", path: "/favicon.svg" },
    { name: "page + gzip/br (as browsers ask)", path: "/login", headers: { "accept-encoding": "gzip, deflate, br" } },
  ];
  const rows = [
    [
      "route",
      "what it exercises",
      "max req/s",
      "p50 ms",
      "p99 ms",
      "server CPU",
      "srv ms/req",
      "1-client p50 ms",
      "valid",
    ],
  ];
  for (const target of others) {
    await probe(base, target);
    await cannon(base, target, { duration: 2 });
    step(`compare: GET ${target.path} (${target.name}), 5 s`);
    const meter = cpuMeter();
    const max = await window(`compare ${target.path} ${target.name}`, () => cannon(base, target, { duration: 5 }));
    const cpu = meter();
    const seq = await sequentialLatency(base, target);
    rows.push([
      `GET ${target.path}`,
      target.name,
      fmt(max.rps),
      fmt(max.p50),
      fmt(max.p99),
      pct(cpu.server),
      fmt((10 * cpu.server) / max.rps, 2),
      fmt(seq.p50, 1),
      isValid(max) ? "yes" : failures(max),
    ]);
  }
  for (const target of targets) {
    const seq = await sequentialLatency(base, target);
    rows.push([`GET ${target.path}`, target.name, "(above)", "", "", "", "", fmt(seq.p50, 1), ""]);
  }
  step("compare: SQL statements per request");
  const sql = [];
  for (const target of [...targets, others[0]!]) {
    const { perRequest, statements, background } = await statementsPerRequest(adminUrl, base, target);
    const note = background ? ` (+${background} pg-boss background statements meanwhile, not counted)` : "";
    sql.push(`  GET ${target.path}: ${fmt(perRequest, 1)}${note}`, ...statements.map((line) => `      ${line}`));
  }
  return `${table(rows)}\n\nSQL statements per request (log_statement = all, sequential requests):\n${sql.join("\n")}`;
}

async function main() {
  const loadBefore = printHeader("http");
  await ensureProductionBuild(["app"], step);
  const { pg, databaseUrl } = await startBenchPostgres(cleanup, "http", step, capturePostgresLog);

  // The server only connects on its first request, so it boots while migrations run.
  const port = await freePort();
  const profileDir = profile ? path.join(root, ".data", "bench-profiles", String(Date.now())) : null;
  step(`starting the production server on port ${port}; applying migrations meanwhile`);
  const { child, ready, output } = startServer(serverEnv(port, databaseUrl), profileDir);
  server = child;
  ready.catch(() => undefined); // awaited below; avoids an unhandled rejection if migrate fails first
  await migrate(databaseUrl);
  const { cookie, email } = await createMemberSession(databaseUrl, port);
  step("database migrated; member and session created");
  await ready;
  step("server ready");
  const base = `http://127.0.0.1:${port}`;

  const targets: Target[] = [
    { name: "anonymous page render", path: "/login", expectText: "Sign in" },
    { name: "session check + one query", path: "/settings", headers: { cookie }, expectText: email },
  ];
  const firstPhase: TargetResult[] = [];
  for (const target of targets) firstPhase.push(await measureAtTarget(base, target));
  const results: RouteResult[] = [];
  for (const first of firstPhase) results.push(await measureLimits(base, first));
  const extra = compare ? await compareRoutes(base, pg.url("postgres"), targets) : null;

  const serverOutput = serverLog(output);
  await stopBenchServer();
  const loadAfter = os.loadavg();

  console.log(
    `\nOne production server process; autocannon ${CONNECTIONS} connections; max run ${MAX_S} s; ` +
      `${TARGET_LOAD_RPS}/s evenly paced for ${TARGET_LOAD_S} s after a ${WARMUP_S} s warm-up at that rate, before any max run ` +
      `(after max: the same, right after the max run, ${SETTLE_S} s discarded); 80 % of max for ${RATED_S} s ` +
      `(autocannon overallRate) and ${PACED_S} s (evenly paced).`,
  );
  console.log(
    "CPU = % of one core during the max run (server / PostgreSQL / this load generator); " +
      "server ms/req = server CPU time per request, the figure least skewed by other load.\n",
  );
  const runsOf = (r: RouteResult) => labelledRuns(r).map(([, run]) => run);
  const rows = [
    [
      "route",
      "max req/s",
      "p50 ms",
      "p99 ms",
      "CPU srv/pg/gen",
      "srv ms/req",
      `${TARGET_LOAD_RPS}/s p50/p99`,
      "after max",
      "80 % of max",
      "ac p50/p99",
      "paced p50/p99",
      "bytes",
      "valid",
    ],
    ...results.map((r) => [
      `GET ${r.target.path}`,
      fmt(r.max.rps),
      fmt(r.max.p50),
      fmt(r.max.p99),
      `${fmt(r.cpu.server)}/${fmt(r.cpu.postgres)}/${fmt(r.cpu.bench)} %`,
      fmt((10 * r.cpu.server) / r.max.rps, 1),
      `${fmt(r.atTarget.p50, 1)} / ${fmt(r.atTarget.p99, 1)}`,
      `${fmt(r.afterOverload.p50, 1)} / ${fmt(r.afterOverload.p99, 1)}`,
      `${r.rate}/s`,
      `${fmt(r.rated.p50)} / ${fmt(r.rated.p99)}`,
      `${fmt(r.paced.p50, 1)} / ${fmt(r.paced.p99, 1)}`,
      String(r.bytes),
      runsOf(r).every(isValid) ? "yes" : "NO",
    ]),
  ];
  console.log(table(rows));
  if (extra) console.log(`\n${extra}`);

  console.log(
    `\nTarget: ≥ ${TARGET_RPS} req/s, and p99 < ${TARGET_P99_MS} ms at 80 % of that rate ` +
      `(${TARGET_LOAD_RPS} req/s, evenly paced), on one process.`,
  );
  let allMet = true;
  let allValid = true;
  for (const r of results) {
    const valid = runsOf(r).every(isValid);
    allValid &&= valid;
    const rpsOk = r.max.rps >= TARGET_RPS;
    const p99Ok = r.atTarget.p99 < TARGET_P99_MS;
    allMet &&= rpsOk && p99Ok && valid;
    console.log(
      `  GET ${r.target.path.padEnd(10)} ${rpsOk ? "✓" : "✗"} ${fmt(r.max.rps)} req/s   ` +
        `${p99Ok ? "✓" : "✗"} p99 ${fmt(r.atTarget.p99, 1)} ms at ${TARGET_LOAD_RPS}/s ` +
        `(generator lag max ${fmt(r.atTarget.generatorLagMs ?? NaN)} ms)` +
        `   (after max: p99 ${fmt(r.afterOverload.p99, 1)} ms; 80 % of max, ${r.rate}/s: p99 ${fmt(r.paced.p99, 1)} ms paced, ${fmt(r.rated.p99)} ms autocannon)` +
        (valid ? "" : `   ✗ INVALID: ${runsOf(r).map(failures).filter(Boolean).join("; ")}`),
    );
  }
  console.log(allMet ? "Target met." : "Target NOT met.");
  console.log(loadAverageLine(loadBefore, loadAfter));
  if (serverOutput) console.log(`\nServer output (LOG_LEVEL=warn):\n${serverOutput.slice(0, 4000)}`);
  if (profileDir) await saveProfileWindows(profileDir, profileWindows);
  step("done");
  return allValid;
}

await runBench(main, cleanup);
