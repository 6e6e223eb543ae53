import { Prisma } from "@prisma/client";
import { prisma, sql } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";

// The only writer of the ledger tables. Each verb is one call to a SQL function (see the ledger
// migration) that locks accounts in id order and either applies every posting or none. The verbs run as
// prepared statements straight on the shared pool, not through Prisma: Prisma's per-call overhead cost
// a third of the hot-wallet throughput (docs/benchmarks.md, bench:ledger).
// Amounts are BigInt micro-units of env.WALLET_CURRENCY.

export const PLATFORM_ACCOUNTS = {
  stripeClearing: "platform:stripe_clearing",
  manualClearing: "platform:manual_clearing",
  promotions: "platform:promotions",
  refunds: "platform:refunds",
  adjustments: "platform:adjustments",
} as const;

/**
 * Revenue is split over several accounts so that every member's charge does not wait on one hot row
 * lock; reports sum them. A hold always posts to the same shard (derived from its id).
 */
export const REVENUE_SHARDS = 8;
export const revenueAccountId = (shard: number) => `platform:revenue:${shard}`;
export const walletAccountId = (userId: string) => `wallet:${userId}`;

export function revenueShardFor(key: string): number {
  let hash = 0;
  for (let i = 0; i < key.length; i += 1) hash = (hash * 31 + key.charCodeAt(i)) >>> 0;
  return hash % REVENUE_SHARDS;
}

export type LedgerErrorCode =
  "insufficient_funds" | "unknown_account" | "invalid_transfer" | "invalid_hold" | "unknown_hold" | "hold_resolved";

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "LedgerError";
  }
}

// The detail stops at a quote, backtick or line end: Prisma appends its own text to the database's message.
const LEDGER_MESSAGE =
  /ledger: (insufficient_funds|unknown_account|invalid_transfer|invalid_hold|unknown_hold|hold_resolved): ?([^"`\n]*)/;

/**
 * The hold functions report a refusal as a row ("ledger: <code>: <detail>" in `refusal`) rather than an
 * error: pg-pool closes a pooled connection on any query error, so raising would make every refused hold
 * cost the next query a new connection (see prisma/sql/ledger.sql).
 */
function throwIfRefused(refusal: string | null | undefined) {
  if (!refusal) return;
  const match = LEDGER_MESSAGE.exec(refusal);
  throw new LedgerError((match?.[1] ?? "invalid_hold") as LedgerErrorCode, match?.[2] || refusal);
}

/** Turns a RAISE from the SQL functions into a typed LedgerError; anything else is rethrown as is. */
async function run<T>(query: Promise<T>): Promise<T> {
  try {
    return await query;
  } catch (error) {
    const text =
      error instanceof Error ? `${error.message} ${JSON.stringify((error as { meta?: unknown }).meta ?? "")}` : "";
    // The no-overdraft CHECK constraint is the last line of defence; it means the same thing.
    if (text.includes("ledger_accounts_no_overdraft"))
      throw new LedgerError("insufficient_funds", "insufficient funds");
    const match = LEDGER_MESSAGE.exec(text);
    if (match) throw new LedgerError(match[1] as LedgerErrorCode, match[2]?.replace(/["\\}]+$/, "") ?? match[1]!);
    throw error;
  }
}

let platformReady: Promise<void> | null = null;

/** Creates the platform accounts once per process (idempotent across processes). */
function ensurePlatformAccounts(): Promise<void> {
  platformReady ??= (async () => {
    const ids = [
      ...Object.values(PLATFORM_ACCOUNTS),
      ...Array.from({ length: REVENUE_SHARDS }, (_, shard) => revenueAccountId(shard)),
    ];
    await sql(
      {
        text: `INSERT INTO ledger_accounts (id, kind, currency, allow_negative)
          SELECT unnest($1::text[]), 'platform', $2, true
          ON CONFLICT (id) DO NOTHING`,
      },
      [ids, env.WALLET_CURRENCY],
    );
  })().catch((error) => {
    platformReady = null;
    throw error;
  });
  return platformReady;
}

/** A member's wallet account, created on first use. */
export async function ensureWallet(userId: string): Promise<string> {
  const id = walletAccountId(userId);
  // No conflict target: both unique indexes (id and user_id) are arbiters. With `ON CONFLICT (id)`, a
  // concurrent non-HOT update of an existing wallet can hide the row from the arbiter pre-check, and the
  // insert then fails on ledger_accounts_user_id_key (seen under load in bench:ledger).
  await sql(
    {
      text: `INSERT INTO ledger_accounts (id, kind, user_id, currency, allow_negative)
        VALUES ($1, 'wallet', $2, $3, false)
        ON CONFLICT DO NOTHING`,
    },
    [id, userId, env.WALLET_CURRENCY],
  );
  return id;
}

export type Posting = { accountId: string; amount: bigint };

export type TransferInput = {
  /** Unique per business event (e.g. "stripe:checkout:cs_123"): a retry returns the first transfer. */
  key: string;
  kind: string;
  description: string;
  postings: Posting[];
  metadata?: Record<string, unknown>;
  reversesId?: string;
};

export async function transfer(input: TransferInput): Promise<{ transferId: string; replayed: boolean }> {
  await ensurePlatformAccounts();
  const accounts = input.postings.map((posting) => posting.accountId);
  const amounts = input.postings.map((posting) => posting.amount.toString());
  const [row] = await run(
    sql<{ transfer_id: string; replayed: boolean }>(
      {
        name: "ledger_transfer",
        text: "SELECT * FROM ledger_transfer($1, $2, $3, $4::jsonb, $5, $6::text[], $7::bigint[])",
      },
      [
        input.key,
        input.kind,
        input.description,
        JSON.stringify(input.metadata ?? {}),
        input.reversesId ?? null,
        accounts,
        amounts,
      ],
    ),
  );
  return { transferId: row!.transfer_id, replayed: row!.replayed };
}

/**
 * Removes the given top-level metadata keys from every transfer that touched `accountId` (account
 * deletion: payment references, sender numbers). The only change the ledger allows to a written transfer
 * (prisma/sql/ledger.sql: ledger_transfers_guard); amounts, accounts, kinds and keys never change. Runs in
 * the caller's transaction when one is given, so the redaction commits with the rest of the deletion.
 */
export async function redactTransferMetadata(
  accountId: string,
  keys: string[],
  tx?: Prisma.TransactionClient,
): Promise<number> {
  if (keys.length === 0) return 0;
  const client = tx ?? prisma;
  const [row] = await run(
    client.$queryRaw<{ count: number }[]>`SELECT ledger_redact_metadata(${accountId}, ${keys}::text[]) AS count`,
  );
  return Number(row?.count ?? 0);
}

export type HoldInput = {
  key: string;
  userId: string;
  amount: bigint;
  expiresAt: Date;
  metadata?: Record<string, unknown>;
};

/** Reserves part of a member's available balance; fails with insufficient_funds, changing nothing. */
export async function hold(input: HoldInput): Promise<{ holdId: string; replayed: boolean }> {
  const accountId = walletAccountId(input.userId);
  const call = async () => {
    const [row] = await run(
      sql<{ hold_id: string | null; replayed: boolean | null; refusal: string | null }>(
        { name: "ledger_hold", text: "SELECT * FROM ledger_hold($1, $2, $3::bigint, $4::timestamptz, $5::jsonb)" },
        [input.key, accountId, input.amount.toString(), input.expiresAt, JSON.stringify(input.metadata ?? {})],
      ),
    );
    throwIfRefused(row!.refusal);
    return { holdId: row!.hold_id!, replayed: row!.replayed! };
  };
  // The wallet almost always exists: create it only when the function says it does not (one statement
  // per hold on the hot path instead of two, and no second wait behind the wallet's row lock).
  return call().catch(async (error: unknown) => {
    if (!(error instanceof LedgerError && error.code === "unknown_account")) throw error;
    await ensureWallet(input.userId);
    return call();
  });
}

export type PostHoldInput = {
  holdId: string;
  /** What the work actually cost: 0 ≤ amount ≤ held. The rest is released. */
  amount: bigint;
  kind: string;
  description: string;
  metadata?: Record<string, unknown>;
};

export async function postHold(input: PostHoldInput): Promise<{ transferId: string | null; replayed: boolean }> {
  await ensurePlatformAccounts();
  const to = revenueAccountId(revenueShardFor(input.holdId));
  const [row] = await run(
    sql<{ transfer_id: string | null; replayed: boolean | null; refusal: string | null }>(
      { name: "ledger_post_hold", text: "SELECT * FROM ledger_post_hold($1, $2::bigint, $3, $4, $5, $6::jsonb)" },
      [input.holdId, input.amount.toString(), to, input.kind, input.description, JSON.stringify(input.metadata ?? {})],
    ),
  );
  throwIfRefused(row!.refusal);
  return { transferId: row!.transfer_id, replayed: row!.replayed! };
}

/** Releases a hold; voiding an already voided hold is a no-op (voided = false). */
export async function voidHold(holdId: string): Promise<{ voided: boolean }> {
  const [row] = await run(
    sql<{ voided: boolean | null; refusal: string | null }>(
      { name: "ledger_void_hold", text: "SELECT * FROM ledger_void_hold($1)" },
      [holdId],
    ),
  );
  throwIfRefused(row!.refusal);
  return { voided: row!.voided! };
}

/** Crash safety: voids pending holds past their expiry (run by a background job). */
export async function voidExpiredHolds(limit = 500): Promise<number> {
  const [row] = await sql<{ count: number }>({ text: "SELECT ledger_void_expired_holds($1::int) AS count" }, [limit]);
  return Number(row?.count ?? 0);
}

export type WalletBalance = { currency: string; balance: bigint; held: bigint; available: bigint };

export async function getWalletBalance(userId: string): Promise<WalletBalance> {
  const account = await prisma.ledgerAccount.findUnique({
    where: { id: walletAccountId(userId), userId },
    select: { balance: true, held: true, currency: true },
  });
  const balance = account?.balance ?? 0n;
  const held = account?.held ?? 0n;
  return { currency: account?.currency ?? env.WALLET_CURRENCY, balance, held, available: balance - held };
}

export type InvariantProblem = { check: string; detail: string };

const CHECKS: Array<{ check: string; sql: Prisma.Sql }> = [
  {
    check: "each transfer's entries sum to zero",
    sql: Prisma.sql`SELECT transfer_id AS detail FROM ledger_entries GROUP BY transfer_id HAVING sum(amount) <> 0 LIMIT 20`,
  },
  {
    check: "every transfer has at least two entries",
    sql: Prisma.sql`SELECT t.id AS detail FROM ledger_transfers t LEFT JOIN ledger_entries e ON e.transfer_id = t.id
      GROUP BY t.id HAVING count(e.id) < 2 LIMIT 20`,
  },
  {
    check: "all entries sum to zero",
    sql: Prisma.sql`SELECT sum(amount)::text AS detail FROM ledger_entries HAVING coalesce(sum(amount), 0) <> 0`,
  },
  {
    check: "each balance equals the sum of its entries",
    sql: Prisma.sql`SELECT a.id || ': balance ' || a.balance || ' vs entries ' || coalesce(sum(e.amount), 0) AS detail
      FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
      GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0) LIMIT 20`,
  },
  {
    check: "each entry's balance-after is the running sum",
    sql: Prisma.sql`SELECT 'entry ' || id AS detail FROM (
        SELECT id, balance_after, sum(amount) OVER (PARTITION BY account_id ORDER BY id) AS running FROM ledger_entries
      ) entries WHERE balance_after <> running LIMIT 20`,
  },
  {
    check: "no member wallet below zero",
    sql: Prisma.sql`SELECT id || ': balance ' || balance || ', held ' || held AS detail FROM ledger_accounts
      WHERE NOT allow_negative AND (balance < 0 OR balance - held < 0) LIMIT 20`,
  },
  {
    check: "held equals the sum of open holds",
    sql: Prisma.sql`SELECT a.id || ': held ' || a.held || ' vs open holds ' || coalesce(h.total, 0) AS detail
      FROM ledger_accounts a
      LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_holds WHERE status = 'pending' GROUP BY account_id) h
        ON h.account_id = a.id
      WHERE a.held <> coalesce(h.total, 0) LIMIT 20`,
  },
  {
    check: "each posted hold charged exactly its posted amount",
    sql: Prisma.sql`SELECT h.id AS detail FROM ledger_holds h WHERE h.status = 'posted' AND h.posted_amount > 0
      AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transfer_id = h.transfer_id AND e.account_id = h.account_id
        AND e.amount = -h.posted_amount) LIMIT 20`,
  },
  {
    check: "each idempotency key used once",
    sql: Prisma.sql`SELECT idempotency_key AS detail FROM ledger_transfers GROUP BY idempotency_key HAVING count(*) > 1
      UNION ALL SELECT idempotency_key FROM ledger_holds GROUP BY idempotency_key HAVING count(*) > 1 LIMIT 20`,
  },
];

/** Checks every ledger invariant and reports each violation (empty list = healthy). */
export async function checkInvariants(): Promise<{ ok: boolean; problems: InvariantProblem[]; checks: string[] }> {
  const problems: InvariantProblem[] = [];
  for (const { check, sql: query } of CHECKS) {
    const rows = await prisma.$queryRaw<{ detail: string | null }[]>(query);
    for (const row of rows) problems.push({ check, detail: String(row.detail) });
  }
  return { ok: problems.length === 0, problems, checks: CHECKS.map((item) => item.check) };
}
