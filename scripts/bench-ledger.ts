import { randomUUID } from "node:crypto";
import os from "node:os";
import pg from "pg";
import {
  BenchCleanup,
  fmt,
  loadAverageLine,
  percentile,
  printHeader,
  productionEnv,
  root,
  runBench,
  startBenchPostgres,
  table,
} from "./lib/bench";
import { migrate } from "./lib/postgres";
import { CLOCK_TICKS, postmasterPid, readProcesses, treeTicks } from "./lib/processes";

// `npm run bench:ledger`: throughput and latency of the ledger (app/models/ledger.server.ts → the
// PL/pgSQL functions of prisma/sql/ledger.sql, called as the app calls them), side by side with
// a minimal raw-SQL baseline doing the same work.
//
// Self-contained: an embedded PostgreSQL in a throw-away folder on a free port, migrated; removed on
// exit, error and Ctrl-C. Prints, in one run:
//   (a) transfers/s between random pairs of 1,000 funded wallets, TRANSFER_CLIENTS concurrent clients;
//   (b) hold + post pairs/s on ONE hot wallet at 1, 8 and 32 concurrent clients, p50/p99 per pair;
//   (c) each figure next to the baseline's, as a ratio ours / baseline.
// Three sides do the same work:
//   ours      app/models/ledger.server.ts as the app calls it: named prepared statements on the app's
//             shared pg pool (app/utils/db.server.ts), with its error mapping and retries;
//   fn        the same SQL functions called with plain `pg`: separates the SQL's cost from the client's;
//   baseline  ("pgledger-style") one SQL statement per operation with plain `pg`: a CTE that locks,
//             inserts the transfer, moves the balances and writes the entries. It runs on copies of the
//             real tables (same columns, defaults, CHECK constraints, indexes and foreign keys) in schema
//             `baseline`; overdrafts are refused there by the CHECK constraint alone.
// Every side gets a pool of POOL_SIZE connections (the app's pool size, app/utils/db.server.ts).
// Runs are closed loops of RUN_S seconds (after a warm-up), in the order baseline, fn, ours, ours, fn,
// baseline so that drift in the machine's load does not favour one side; each side's figure merges its
// two runs. CPU is measured per operation for this process (the client) and for PostgreSQL.
//
// Target (issue 3): on the hot wallet at 8 clients, ours ≥ 0.7 × baseline pairs/s and p99 < 20 ms.
//
// Flags (after `npm run bench:ledger --`):
//   --quick      short runs (smoke test of the script; figures are not comparable)
//   --prepared   the baseline uses named prepared statements (parsed and planned once per connection);
//                by default it sends unnamed statements, as the "fn" side does

const TARGET_RATIO = 0.7;
const TARGET_P99_MS = 20;
const WALLETS = 1000;
const TRANSFER_CLIENTS = 16;
const HOT_CLIENTS = [1, 8, 32];
const POOL_SIZE = 10;

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const preparedBaseline = args.has("--prepared");
const RUN_S = quick ? 1 : 3;
const WARMUP_S = quick ? 0.3 : 1;

process.chdir(root);

// Clean-up: PostgreSQL and the temp folder (scripts/lib/bench.ts). As before the shared module, this one
// waits for PostgreSQL's stop without a time limit.
const cleanup = new BenchCleanup({ postgresStopTimeoutMs: null });

const started = Date.now();
// Its own format, "[   1.2s]" (bench:http and bench:gateway print "[  1.2s]").
const step = (message: string) =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`);

// ---------------------------------------------------------------------------------------------------
// CPU: this process (the client: Prisma or pg) and every PostgreSQL process, in ms of CPU time.

/** Every PostgreSQL process of the cluster in dataDir, including backends that already exited (pools
 * close idle ones: the postmaster's reaped-children time holds theirs); NaN when it does not run. */
function postgresCpuMs(dataDir: string): number {
  const postmaster = postmasterPid(dataDir);
  if (postmaster === undefined) return NaN;
  return (treeTicks(readProcesses({ cmdline: false }), postmaster, { reaped: true }) * 1000) / CLOCK_TICKS;
}

function cpuMeter(dataDir: string) {
  const client0 = process.cpuUsage();
  const pg0 = postgresCpuMs(dataDir);
  return () => {
    const client = process.cpuUsage(client0);
    return { clientMs: (client.user + client.system) / 1000, postgresMs: postgresCpuMs(dataDir) - pg0 };
  };
}

// ---------------------------------------------------------------------------------------------------
// Closed-loop load: `clients` workers each run `op` back to back until the deadline.

type Run = { ops: number; seconds: number; latencies: number[]; errors: number; firstError?: string; cpu: Cpu };
type Cpu = { clientMs: number; postgresMs: number };

async function closedLoop(clients: number, seconds: number, dataDir: string, op: () => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const meter = cpuMeter(dataDir);
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const start = performance.now();
        try {
          await op();
          latencies.push(performance.now() - start);
        } catch (error) {
          errors += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { ops: latencies.length, seconds: elapsed, latencies, errors, firstError, cpu: meter() };
}

/** Two runs of the same side, merged. */
function merge(a: Run, b: Run): Run {
  return {
    ops: a.ops + b.ops,
    seconds: a.seconds + b.seconds,
    latencies: [...a.latencies, ...b.latencies],
    errors: a.errors + b.errors,
    firstError: a.firstError ?? b.firstError,
    cpu: { clientMs: a.cpu.clientMs + b.cpu.clientMs, postgresMs: a.cpu.postgresMs + b.cpu.postgresMs },
  };
}

function summary(run: Run) {
  const sorted = [...run.latencies].sort((x, y) => x - y);
  return {
    rate: run.ops / run.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    clientMsPerOp: run.cpu.clientMs / run.ops,
    pgMsPerOp: run.cpu.postgresMs / run.ops,
    errors: run.errors,
    firstError: run.firstError,
  };
}
type Summary = ReturnType<typeof summary>;

const SIDES = ["ours", "fn", "baseline"] as const;
type Side = (typeof SIDES)[number];
type Result = Record<Side, Summary>;

/** Runs in the order baseline, fn, ours, ours, fn, baseline (after a warm-up of each and an ANALYZE): each
 * side's result is its two runs merged, so a drift in the machine's load does not favour one side. */
async function sideBySide(
  label: string,
  clients: number,
  dataDir: string,
  analyze: () => Promise<unknown>,
  ops: Record<Side, () => Promise<void>>,
) {
  const order: Side[] = ["baseline", "fn", "ours", "ours", "fn", "baseline"];
  step(`${label}: warm-up, ANALYZE, then ${order.join("/")} × ${RUN_S} s`);
  for (const side of SIDES) await closedLoop(clients, WARMUP_S, dataDir, ops[side]);
  // Statistics as autovacuum keeps them on a live database. Without this, the tables' statistics stay as
  // they were before the first hold (ledger_holds empty), every connection's cached plans look holds up
  // by a sequential scan, and each operation gets slower as the table grows, at random per connection.
  await analyze();
  const runs: Partial<Record<Side, Run>> = {};
  for (const side of order) {
    const run = await closedLoop(clients, RUN_S, dataDir, ops[side]);
    runs[side] = runs[side] ? merge(runs[side], run) : run;
  }
  return Object.fromEntries(SIDES.map((side) => [side, summary(runs[side]!)])) as Result;
}

// ---------------------------------------------------------------------------------------------------
// The baseline: copies of the ledger tables in schema `baseline`, one statement per operation.

const BASELINE_SCHEMA = `
  CREATE SCHEMA baseline;
  CREATE TABLE baseline.ledger_accounts (LIKE public.ledger_accounts INCLUDING ALL);
  CREATE TABLE baseline.ledger_transfers (LIKE public.ledger_transfers INCLUDING ALL);
  CREATE TABLE baseline.ledger_entries (LIKE public.ledger_entries INCLUDING ALL);
  CREATE TABLE baseline.ledger_holds (LIKE public.ledger_holds INCLUDING ALL);
  -- LIKE copies the id sequence's default (public.ledger_entries_id_seq): give the copy its own.
  CREATE SEQUENCE baseline.ledger_entries_id_seq OWNED BY baseline.ledger_entries.id;
  ALTER TABLE baseline.ledger_entries ALTER COLUMN id SET DEFAULT nextval('baseline.ledger_entries_id_seq');
  ALTER TABLE baseline.ledger_entries
    ADD FOREIGN KEY (transfer_id) REFERENCES baseline.ledger_transfers (id),
    ADD FOREIGN KEY (account_id) REFERENCES baseline.ledger_accounts (id);
  ALTER TABLE baseline.ledger_holds
    ADD FOREIGN KEY (account_id) REFERENCES baseline.ledger_accounts (id),
    ADD FOREIGN KEY (transfer_id) REFERENCES baseline.ledger_transfers (id);
`;

/** A two-posting transfer: lock both accounts in id order, insert the transfer (idempotent on its key),
 * move both balances (the CHECK constraint refuses an overdraft), write both entries. */
const BASELINE_TRANSFER_SQL = `
  WITH locked AS (
    SELECT id FROM baseline.ledger_accounts WHERE id IN ($2, $3) ORDER BY id FOR NO KEY UPDATE
  ), t AS (
    INSERT INTO baseline.ledger_transfers (idempotency_key, kind, description)
    SELECT $1, 'transfer', 'bench' WHERE (SELECT count(*) FROM locked) = 2
    ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
  ), moved AS (
    UPDATE baseline.ledger_accounts a SET balance = a.balance + p.delta
    FROM (VALUES ($2::text, -$4::bigint), ($3::text, $4::bigint)) p (id, delta), t
    WHERE a.id = p.id
    RETURNING t.id AS transfer_id, a.id AS account_id, p.delta, a.balance
  )
  INSERT INTO baseline.ledger_entries (transfer_id, account_id, amount, balance_after)
  SELECT transfer_id, account_id, delta, balance FROM moved
  RETURNING transfer_id`;

/** Reserve: insert the hold (idempotent on its key) and raise the wallet's held (CHECK refuses overdraft). */
const BASELINE_HOLD_SQL = `
  WITH h AS (
    INSERT INTO baseline.ledger_holds (idempotency_key, account_id, amount, expires_at)
    VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, account_id, amount
  ), a AS (
    UPDATE baseline.ledger_accounts SET held = held + h.amount FROM h WHERE ledger_accounts.id = h.account_id
    RETURNING 1
  )
  SELECT id FROM h`;

/** Post (amount > 0): resolve the hold once, insert the transfer, release held and charge the wallet,
 * credit revenue (wallet locked before revenue, as in ours), write both entries. */
const BASELINE_POST_SQL = `
  WITH h AS (
    UPDATE baseline.ledger_holds SET status = 'posted', posted_amount = $2, transfer_id = $4, resolved_at = now()
    WHERE id = $1 AND status = 'pending' AND $2::bigint BETWEEN 1 AND amount
    RETURNING id, account_id, amount
  ), t AS (
    INSERT INTO baseline.ledger_transfers (id, idempotency_key, kind, description)
    SELECT $4, 'hold:' || h.id || ':post', 'generation', 'bench' FROM h RETURNING id
  ), w AS (
    UPDATE baseline.ledger_accounts a SET held = a.held - h.amount, balance = a.balance - $2
    FROM h WHERE a.id = h.account_id RETURNING a.id, a.balance
  ), r AS (
    UPDATE baseline.ledger_accounts a SET balance = a.balance + $2 FROM w WHERE a.id = $3 RETURNING a.id, a.balance
  ), e AS (
    INSERT INTO baseline.ledger_entries (transfer_id, account_id, amount, balance_after)
    SELECT t.id, w.id, -$2, w.balance FROM t, w
    UNION ALL
    SELECT t.id, r.id, $2, r.balance FROM t, r
    RETURNING 1
  )
  SELECT id FROM t`;

/** With --prepared, named: pg prepares a named statement once per connection, so it is parsed and planned
 * once; otherwise unnamed, parsed and planned on every call like every other statement here. */
const prepared = (name: string, text: string) => (values: unknown[]) =>
  preparedBaseline ? { name, text, values } : { text, values };
const BASELINE_TRANSFER = prepared("baseline_transfer", BASELINE_TRANSFER_SQL);
const BASELINE_HOLD = prepared("baseline_hold", BASELINE_HOLD_SQL);
const BASELINE_POST = prepared("baseline_post", BASELINE_POST_SQL);

// ---------------------------------------------------------------------------------------------------

async function main() {
  const loadBefore = printHeader("ledger", quick ? " (--quick)" : "");
  const { dataDir, databaseUrl } = await startBenchPostgres(cleanup, "ledger", step);
  step("applying migrations");
  await migrate(databaseUrl);

  // env.server.ts validates at import: set what production requires before loading app modules.
  Object.assign(process.env, productionEnv(databaseUrl, "http://localhost:3000"));
  const ledger = await import("#app/models/ledger.server");
  const { closeDatabase } = await import("#app/utils/db.server");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_SIZE });
  pool.on("error", () => undefined); // an idle connection closed by the server's shutdown

  try {
    step(`creating ${WALLETS} + 1 members, their wallets (ours and baseline), and funding them`);
    const userIds = Array.from({ length: WALLETS + 1 }, (_, i) => `benchuser${String(i).padStart(5, "0")}`);
    await pool.query(
      `INSERT INTO users (id, email, display_name, country, role, email_verified_at, age_confirmed_at,
         terms_accepted_at, updated_at)
       SELECT id, id || '@example.com', 'Bench', 'KE', 'member', now(), now(), now(), now() FROM unnest($1::text[]) id`,
      [userIds],
    );
    const hotUser = userIds[WALLETS]!;
    const members = userIds.slice(0, WALLETS);
    const FUNDING = 1_000_000_000_000n; // a million units each: nothing runs dry during the bench
    // Ours: wallets and top-ups through the app's own functions.
    await inBatches(userIds, POOL_SIZE, async (userId) => {
      await ledger.ensureWallet(userId);
      await ledger.transfer({
        key: `bench:fund:${userId}`,
        kind: "topup",
        description: "Bench funding",
        postings: [
          { accountId: ledger.PLATFORM_ACCOUNTS.stripeClearing, amount: -FUNDING },
          { accountId: ledger.walletAccountId(userId), amount: FUNDING },
        ],
      });
    });
    // Baseline: the same accounts, funded with the baseline's own transfer statement.
    await pool.query(BASELINE_SCHEMA);
    await pool.query(
      `INSERT INTO baseline.ledger_accounts (id, kind, user_id, currency, allow_negative)
       SELECT 'wallet:' || id, 'wallet'::"LedgerAccountKind", id, 'USD', false FROM unnest($1::text[]) id
       UNION ALL
       SELECT id, 'platform'::"LedgerAccountKind", NULL, 'USD', true FROM unnest($2::text[]) id`,
      [
        userIds,
        [
          ...Object.values(ledger.PLATFORM_ACCOUNTS),
          ...Array.from({ length: ledger.REVENUE_SHARDS }, (_, shard) => ledger.revenueAccountId(shard)),
        ],
      ],
    );
    await inBatches(userIds, POOL_SIZE, async (userId) => {
      await pool.query(
        BASELINE_TRANSFER([
          `bench:fund:${userId}`,
          ledger.PLATFORM_ACCOUNTS.stripeClearing,
          ledger.walletAccountId(userId),
          FUNDING.toString(),
        ]),
      );
    });
    await pool.query("VACUUM ANALYZE");
    const analyze = () => pool.query("ANALYZE");

    let sequence = 0;
    const nextKey = (prefix: string) => `${prefix}:${(sequence += 1)}`;
    const randomPair = () => {
      const from = Math.floor(Math.random() * WALLETS);
      const to = (from + 1 + Math.floor(Math.random() * (WALLETS - 1))) % WALLETS;
      return [ledger.walletAccountId(members[from]!), ledger.walletAccountId(members[to]!)] as const;
    };
    const randomAmount = () => BigInt(1 + Math.floor(Math.random() * 1_000_000));

    // The "fn" side: our SQL functions, called with plain pg, to separate the SQL from the client's cost.
    const FN_TRANSFER = `SELECT * FROM ledger_transfer($1, 'transfer', 'bench', '{}'::jsonb, NULL, $2::text[], $3::bigint[])`;
    const FN_HOLD = `SELECT * FROM ledger_hold($1, $2, $3::bigint, $4::timestamptz, '{}'::jsonb)`;
    const FN_POST = `SELECT * FROM ledger_post_hold($1, $2::bigint, $3, 'generation', 'bench', '{}'::jsonb)`;

    // (a) transfers between random pairs of wallets.
    const transfers = await sideBySide(
      `(a) transfers across ${WALLETS} wallets, ${TRANSFER_CLIENTS} clients`,
      TRANSFER_CLIENTS,
      dataDir,
      analyze,
      {
        ours: async () => {
          const [from, to] = randomPair();
          const amount = randomAmount();
          await ledger.transfer({
            key: nextKey("bench:ours:transfer"),
            kind: "transfer",
            description: "bench",
            postings: [
              { accountId: from, amount: -amount },
              { accountId: to, amount },
            ],
          });
        },
        fn: async () => {
          const [from, to] = randomPair();
          const amount = randomAmount();
          await pool.query(FN_TRANSFER, [nextKey("bench:fn:transfer"), [from, to], [`${-amount}`, `${amount}`]]);
        },
        baseline: async () => {
          const [from, to] = randomPair();
          const { rowCount } = await pool.query(
            BASELINE_TRANSFER([nextKey("bench:base:transfer"), from, to, randomAmount().toString()]),
          );
          if (rowCount !== 2) throw new Error(`baseline transfer wrote ${rowCount} entries`);
        },
      },
    );

    // (b) hold + post pairs on one hot wallet.
    const HELD = 1_000n;
    const CHARGED = 700n;
    const inAnHour = () => new Date(Date.now() + 3_600_000);
    const hotWallet = ledger.walletAccountId(hotUser);
    const hot: Array<{ clients: number; result: Result }> = [];
    for (const clients of HOT_CLIENTS) {
      const result = await sideBySide(
        `(b) hold + post on one hot wallet, ${clients} client${clients === 1 ? "" : "s"}`,
        clients,
        dataDir,
        analyze,
        {
          ours: async () => {
            const { holdId } = await ledger.hold({
              key: nextKey("bench:ours:hold"),
              userId: hotUser,
              amount: HELD,
              expiresAt: inAnHour(),
            });
            await ledger.postHold({ holdId, amount: CHARGED, kind: "generation", description: "bench" });
          },
          fn: async () => {
            const held = await pool.query<{ hold_id: string }>(FN_HOLD, [
              nextKey("bench:fn:hold"),
              hotWallet,
              HELD.toString(),
              inAnHour(),
            ]);
            const holdId = held.rows[0]!.hold_id;
            const to = ledger.revenueAccountId(ledger.revenueShardFor(holdId));
            await pool.query(FN_POST, [holdId, CHARGED.toString(), to]);
          },
          baseline: async () => {
            const held = await pool.query<{ id: string }>(
              BASELINE_HOLD([nextKey("bench:base:hold"), hotWallet, HELD.toString(), inAnHour()]),
            );
            const holdId = held.rows[0]!.id;
            const to = ledger.revenueAccountId(ledger.revenueShardFor(holdId));
            const posted = await pool.query(BASELINE_POST([holdId, CHARGED.toString(), to, randomUUID()]));
            if (posted.rowCount !== 1) throw new Error("baseline post did not resolve the hold");
          },
        },
      );
      hot.push({ clients, result });
    }

    // The full checkInvariants() takes minutes over this many rows on 2 cores: the core checks instead,
    // the same for both schemas (the property test runs the full check after every step).
    step("checking balances against entries and holds (ours and baseline)");
    const consistency = async (schema: string) => {
      const { rows } = await pool.query<{ detail: string }>(`
        SELECT '${schema}: ' || a.id || ' balance ' || a.balance || ' vs entries ' || coalesce(e.total, 0)
               || ', held ' || a.held || ' vs open holds ' || coalesce(h.total, 0) AS detail
        FROM ${schema}.ledger_accounts a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ${schema}.ledger_entries GROUP BY account_id) e
          ON e.account_id = a.id
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ${schema}.ledger_holds WHERE status = 'pending'
                   GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.balance <> coalesce(e.total, 0) OR a.held <> coalesce(h.total, 0)
           OR (NOT a.allow_negative AND a.balance - a.held < 0)
        UNION ALL
        SELECT '${schema}: entries sum to ' || sum(amount) FROM ${schema}.ledger_entries HAVING sum(amount) <> 0`);
      return rows.map((row) => row.detail);
    };
    const problems = [...(await consistency("public")), ...(await consistency("baseline"))];
    const loadAfter = os.loadavg();

    // ---------------------------------------------------------------------------------------------
    console.log(
      `\nClosed loops of ${RUN_S} s, run baseline/fn/ours/ours/fn/baseline and merged per side; ` +
        `baseline statements ${preparedBaseline ? "prepared (named)" : "unnamed (parsed and planned per call)"}; ` +
        `pools of ${POOL_SIZE} connections.\n` +
        `  ours      app/models/ledger.server.ts (prepared statements on the app's pg pool, as in the app)\n` +
        `  fn        the same SQL functions (prisma/sql/ledger.sql) called with plain pg\n` +
        `  baseline  one CTE statement per operation with plain pg, on copies of the same tables\n` +
        `Rates are operations/s ((a): transfers; (b): hold+post pairs); latency per operation; ` +
        `CPU = ms of CPU per operation, client (this process) + PostgreSQL (including its background work, ` +
        `so a slower side looks costlier).\n`,
    );
    const rows = [
      [
        "workload",
        "clients",
        "ours /s",
        "fn /s",
        "base /s",
        "ours/base",
        "fn/base",
        "ours p50/p99 ms",
        "fn p50/p99 ms",
        "base p50/p99 ms",
        "CPU ours",
        "CPU fn",
        "CPU base",
        "errors",
      ],
    ];
    const cpu = (x: Summary) => `${fmt(x.clientMsPerOp, 2)}+${fmt(x.pgMsPerOp, 2)}`;
    const latency = (x: Summary) => `${fmt(x.p50, 1)} / ${fmt(x.p99, 1)}`;
    const row = (name: string, clients: number, r: Result) => [
      name,
      String(clients),
      fmt(r.ours.rate),
      fmt(r.fn.rate),
      fmt(r.baseline.rate),
      `${fmt(r.ours.rate / r.baseline.rate, 2)}×`,
      `${fmt(r.fn.rate / r.baseline.rate, 2)}×`,
      latency(r.ours),
      latency(r.fn),
      latency(r.baseline),
      cpu(r.ours),
      cpu(r.fn),
      cpu(r.baseline),
      SIDES.map((side) => r[side].errors).join("/"),
    ];
    rows.push(row("(a) transfers, random pairs", TRANSFER_CLIENTS, transfers));
    for (const r of hot) rows.push(row("(b) hold+post, 1 hot wallet", r.clients, r.result));
    console.log(table(rows));

    const errors = [transfers, ...hot.map((r) => r.result)]
      .flatMap((r) => SIDES.map((side) => ({ side, ...r[side] })))
      .filter((x) => x.errors > 0);
    for (const x of errors) console.error(`  ✗ ${x.side}: ${x.errors} errors, first: ${x.firstError}`);

    const at8 = hot.find((r) => r.clients === 8)!.result;
    const ratio = at8.ours.rate / at8.baseline.rate;
    const ratioOk = ratio >= TARGET_RATIO;
    const p99Ok = at8.ours.p99 < TARGET_P99_MS;
    console.log(
      `\nTarget: hot wallet at 8 clients, ours ≥ ${TARGET_RATIO}× baseline and p99 < ${TARGET_P99_MS} ms:` +
        `  ${ratioOk ? "✓" : "✗"} ${fmt(ratio, 2)}×   ${p99Ok ? "✓" : "✗"} p99 ${fmt(at8.ours.p99, 1)} ms` +
        `  → ${ratioOk && p99Ok ? "met" : "NOT met"}.`,
    );
    console.log(
      problems.length === 0
        ? "Balances = sum of entries, held = open holds, no wallet below zero, entries sum to zero: ours and baseline."
        : `✗ INCONSISTENT: ${problems.slice(0, 10).join("; ")}`,
    );
    console.log(loadAverageLine(loadBefore, loadAfter, "other work skews figures"));
    step("done");
    return problems.length === 0 && errors.length === 0;
  } finally {
    await pool.end();
    await closeDatabase();
  }
}

/** Runs fn over items with at most `concurrency` in flight. */
async function inBatches<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

await runBench(main, cleanup, { quietAfterSignal: false });
