import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

// Linux /proc and process groups, for the benchmark scripts: they start children detached (a process
// group each, npx → sh → tsx → node) so that a whole tree can be signalled, and they count the CPU that
// each tree (server, PostgreSQL, fake upstream) used during a run.

export type ProcStat = {
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** cutime + cstime: children that exited and were reaped (e.g. PostgreSQL backends a pool closed). */
  reapedTicks: number;
  /** Empty when read with { cmdline: false }. */
  cmdline: string;
};

export const CLOCK_TICKS = 100; // USER_HZ on every mainstream Linux

/** Every process now running, by pid (empty where there is no /proc). Without cmdline the scan is
 * cheaper: bench:ledger counts this process's own CPU, scans included. */
export function readProcesses(options: { cmdline?: boolean } = {}): Map<number, ProcStat> {
  const table = new Map<number, ProcStat>();
  if (!existsSync("/proc/self/stat")) return table;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // After pid and (comm): fields[1] = ppid, [11] utime, [12] stime, [13] cutime, [14] cstime.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline =
        options.cmdline === false ? "" : readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      table.set(Number(entry), {
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
        reapedTicks: Number(fields[13]) + Number(fields[14]),
        cmdline,
      });
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/** rootPid and every process below it. */
export function descendants(table: Map<number, ProcStat>, rootPid: number) {
  const found: number[] = [];
  const queue = [rootPid];
  while (queue.length) {
    const pid = queue.pop()!;
    if (table.has(pid)) found.push(pid);
    for (const [child, stat] of table) if (stat.ppid === pid) queue.push(child);
  }
  return found;
}

/** CPU ticks of rootPid's tree (0 without a root); with reaped, its exited children's too. */
export function treeTicks(table: Map<number, ProcStat>, rootPid: number | undefined, options: { reaped: boolean }) {
  if (!rootPid) return 0;
  return descendants(table, rootPid).reduce(
    (sum, pid) => sum + table.get(pid)!.ticks + (options.reaped ? table.get(pid)!.reapedTicks : 0),
    0,
  );
}

/** The postmaster of the cluster in dataDir (first line of postmaster.pid), if it runs. */
export function postmasterPid(dataDir: string | null): number | undefined {
  if (!dataDir) return undefined;
  try {
    return Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return undefined;
  }
}

/** Roots of the process trees to account for, looked up at each sample (a tree may start later). */
export type CpuRoots<K extends string> = Record<K, () => number | undefined>;
/** CPU seconds of each tree and of this process (bench), and the wall time in seconds. */
export type CpuSeconds<K extends string> = Record<K, number> & { bench: number; seconds: number };

/** Starts a measurement; the returned function gives the CPU seconds each party used since. */
export function cpuMeter<K extends string>(roots: CpuRoots<K>, options: { reaped: boolean }): () => CpuSeconds<K> {
  const names = Object.keys(roots) as K[];
  const sample = () => {
    const table = readProcesses();
    const ticks = names.map((name) => treeTicks(table, roots[name](), options));
    return { ticks, bench: process.cpuUsage(), at: performance.now() };
  };
  const start = sample();
  return () => {
    const end = sample();
    const spent = Object.fromEntries(
      names.map((name, i) => [name, (end.ticks[i]! - start.ticks[i]!) / CLOCK_TICKS]),
    ) as Record<K, number>;
    return {
      ...spent,
      bench: (end.bench.user + end.bench.system - start.bench.user - start.bench.system) / 1e6,
      seconds: (end.at - start.at) / 1000,
    };
  };
}

// ---------------------------------------------------------------------------------------------------
// Process groups

/** Signals the group of a child spawned with detached: true (-pid: npx and everything below it). */
export function signalGroup(child: ChildProcess | null, signal: NodeJS.Signals) {
  if (!child?.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export function groupAlive(pgid: number) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** terminate() (by default SIGTERM to the group), then SIGKILL to the group if it is still there after
 * killAfterMs; resolves when every member has exited. */
export async function stopGroup(
  child: ChildProcess | null,
  killAfterMs: number,
  terminate = () => signalGroup(child, "SIGTERM"),
) {
  const pgid = child?.pid;
  if (!pgid) return;
  try {
    terminate();
  } catch {
    // already gone
  }
  for (let waited = 0; groupAlive(pgid); waited += 100) {
    if (waited === killAfterMs) signalGroup(child, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
