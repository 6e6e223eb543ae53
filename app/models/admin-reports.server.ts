import { Prisma, type LedgerAccountKind } from "@prisma/client";
import { checkInvariants, PLATFORM_ACCOUNTS, REVENUE_SHARDS, revenueAccountId } from "#app/models/ledger.server";
import { prisma } from "#app/utils/db.server";

// Read-only reports for the admin console: revenue vs. provider cost (from settled generations) and the
// ledger explorer (accounts, entries, transfers, the invariant check on demand). Nothing here writes:
// the ledger is written by app/models/ledger.server.ts alone. Amounts are BigInt micro-units; the SQL
// sums bigint columns into numeric and hands them back as text, so no amount passes through a float.

const DAY_MS = 86_400_000;
export const REPORT_DAYS = 30;

// ---------------------------------------------------------------------------------------------
// Revenue vs. provider cost

export type RevenueFigures = {
  /** What members were charged (generations.cost). */
  revenue: bigint;
  /** What the vendors bill us for the same usage (generations.provider_cost; unknown = 0). */
  providerCost: bigint;
  /** revenue − providerCost. */
  margin: bigint;
  /** Generations that moved money (charged, or cost us something). */
  generations: number;
  /** Of those, settled before provider cost was recorded: counted as 0 provider cost. */
  withoutProviderCost: number;
  /** Of those, billed (partly) from our upper bound because the provider reported no usage. */
  usageEstimated: number;
};

export type RevenueDay = RevenueFigures & { /** YYYY-MM-DD, UTC. */ day: string };
export type RevenueModel = RevenueFigures & { model: string; label: string };

export type RevenueReport = {
  days: number;
  /** First instant of the window (00:00 UTC, `days` − 1 days before today). */
  from: Date;
  /** End of today (UTC), exclusive. */
  to: Date;
  /** Oldest first, one row per UTC day, zero-filled. */
  byDay: RevenueDay[];
  /** Highest revenue first (then model id). */
  byModel: RevenueModel[];
  totals: Omit<RevenueFigures, "usageEstimated">;
  /** Generations in the window billed (partly) from our upper bound: the provider reported no usage. */
  usageEstimated: number;
};

type FigureRow = {
  revenue: string;
  provider_cost: string;
  generations: number;
  without_provider_cost: number;
  usage_estimated: number;
};

function figures(row: FigureRow | undefined): RevenueFigures {
  const revenue = BigInt(row?.revenue ?? "0");
  const providerCost = BigInt(row?.provider_cost ?? "0");
  return {
    revenue,
    providerCost,
    margin: revenue - providerCost,
    generations: Number(row?.generations ?? 0),
    withoutProviderCost: Number(row?.without_provider_cost ?? 0),
    usageEstimated: Number(row?.usage_estimated ?? 0),
  };
}

function utcWindow(days: number, now: Date) {
  const count = Math.min(Math.max(Math.trunc(days) || REPORT_DAYS, 1), 366);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { count, start: new Date(today - (count - 1) * DAY_MS), end: new Date(today + DAY_MS) };
}

/**
 * Settled generations that finished in [start, end), partial ones included. Failed generations (and those
 * cancelled before any output) carry cost 0 and no provider cost: they add nothing, so they are left out of the counts too.
 */
function settledBetween(start: Date, end: Date) {
  return Prisma.sql`finished_at >= ${start}::timestamptz AND finished_at < ${end}::timestamptz
    AND (cost > 0 OR provider_cost > 0)`;
}

/**
 * Revenue and provider cost per UTC day (zero-filled) and per model over the last `days` days,
 * aggregated in SQL (two GROUP BY queries; no generation row is loaded).
 */
export async function getRevenueReport({
  days = REPORT_DAYS,
  now = new Date(),
}: { days?: number; now?: Date } = {}): Promise<RevenueReport> {
  const { count, start, end } = utcWindow(days, now);
  const settled = settledBetween(start, end);
  const [dayRows, modelRows] = await Promise.all([
    prisma.$queryRaw<(FigureRow & { day: string })[]>`
      SELECT to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
        coalesce(sum(cost), 0)::text AS revenue,
        coalesce(sum(provider_cost), 0)::text AS provider_cost,
        count(*)::int AS generations,
        (count(*) FILTER (WHERE provider_cost IS NULL))::int AS without_provider_cost,
        (count(*) FILTER (WHERE usage_estimated))::int AS usage_estimated
      FROM generations
      WHERE ${settled}
      GROUP BY 1`,
    prisma.$queryRaw<(FigureRow & { model: string; label: string })[]>`
      SELECT model_id AS model, max(model_label) AS label,
        coalesce(sum(cost), 0)::text AS revenue,
        coalesce(sum(provider_cost), 0)::text AS provider_cost,
        count(*)::int AS generations,
        (count(*) FILTER (WHERE provider_cost IS NULL))::int AS without_provider_cost,
        (count(*) FILTER (WHERE usage_estimated))::int AS usage_estimated
      FROM generations
      WHERE ${settled}
      GROUP BY model_id
      ORDER BY coalesce(sum(cost), 0) DESC, model_id ASC`,
  ]);
  const rowsByDay = new Map(dayRows.map((row) => [row.day, row]));
  const byDay: RevenueDay[] = Array.from({ length: count }, (_, index) => {
    const day = new Date(start.getTime() + index * DAY_MS).toISOString().slice(0, 10);
    return { day, ...figures(rowsByDay.get(day)) };
  });
  const byModel: RevenueModel[] = modelRows.map((row) => ({ model: row.model, label: row.label, ...figures(row) }));
  const totals = byDay.reduce<Omit<RevenueFigures, "usageEstimated">>(
    (sum, day) => ({
      revenue: sum.revenue + day.revenue,
      providerCost: sum.providerCost + day.providerCost,
      margin: sum.margin + day.margin,
      generations: sum.generations + day.generations,
      withoutProviderCost: sum.withoutProviderCost + day.withoutProviderCost,
    }),
    { revenue: 0n, providerCost: 0n, margin: 0n, generations: 0, withoutProviderCost: 0 },
  );
  const usageEstimated = byDay.reduce((sum, day) => sum + day.usageEstimated, 0);
  return { days: count, from: start, to: end, byDay, byModel, totals, usageEstimated };
}

/** Margin as a share of revenue in basis points (exact, rounded toward zero); null without revenue. */
export function marginBps(figure: Pick<RevenueFigures, "revenue" | "margin">): number | null {
  if (figure.revenue === 0n) return null;
  return Number((figure.margin * 10_000n) / figure.revenue);
}

// ---------------------------------------------------------------------------------------------
// Ledger explorer (read-only)

export const LEDGER_ACCOUNTS_PAGE_SIZE = 25;
export const LEDGER_ENTRIES_PAGE_SIZE = 25;

const PLATFORM_LABELS: Record<string, string> = {
  [PLATFORM_ACCOUNTS.stripeClearing]: "Stripe clearing",
  [PLATFORM_ACCOUNTS.manualClearing]: "Manual top-up clearing",
  [PLATFORM_ACCOUNTS.promotions]: "Promotions and grants",
  [PLATFORM_ACCOUNTS.refunds]: "Refunds",
  [PLATFORM_ACCOUNTS.adjustments]: "Admin adjustments",
  ...Object.fromEntries(
    Array.from({ length: REVENUE_SHARDS }, (_, shard) => [revenueAccountId(shard), `Revenue (shard ${shard})`]),
  ),
};

/** What a platform account is for, in words; null for accounts we do not know (or wallets). */
export function platformAccountLabel(id: string): string | null {
  return PLATFORM_LABELS[id] ?? null;
}

const accountSelect = {
  id: true,
  kind: true,
  currency: true,
  allowNegative: true,
  balance: true,
  held: true,
  createdAt: true,
  user: { select: { id: true, email: true, displayName: true } },
} satisfies Prisma.LedgerAccountSelect;

export type LedgerAccountRow = Prisma.LedgerAccountGetPayload<{ select: typeof accountSelect }>;

export type AccountFilters = {
  kind?: LedgerAccountKind;
  /** Part of a member's email (or name), or of an account id. */
  q?: string;
  page?: number;
};

/** Accounts, platform first, then wallets; filtered by kind and by member email, name or account id. */
export async function listLedgerAccounts({ kind, q = "", page = 1 }: AccountFilters = {}) {
  const query = q.trim().slice(0, 200);
  const where: Prisma.LedgerAccountWhereInput = {
    ...(kind ? { kind } : {}),
    ...(query
      ? {
          OR: [
            { id: { contains: query, mode: "insensitive" } },
            { user: { email: { contains: query.toLowerCase(), mode: "insensitive" } } },
            { user: { displayName: { contains: query, mode: "insensitive" } } },
          ],
        }
      : {}),
  };
  const [total, sums] = await Promise.all([
    prisma.ledgerAccount.count({ where }),
    // Per kind over the whole ledger (not the filter): platform + wallets = 0 when every transfer balances.
    prisma.ledgerAccount.groupBy({ by: ["kind"], _sum: { balance: true, held: true }, orderBy: { kind: "asc" } }),
  ]);
  const pageCount = Math.max(1, Math.ceil(total / LEDGER_ACCOUNTS_PAGE_SIZE));
  const current = Math.min(Number.isFinite(page) && page >= 1 ? Math.trunc(page) : 1, pageCount);
  // The enum's order is (wallet, platform): descending puts the few platform accounts first.
  const items = await prisma.ledgerAccount.findMany({
    where,
    orderBy: [{ kind: "desc" }, { id: "asc" }],
    skip: (current - 1) * LEDGER_ACCOUNTS_PAGE_SIZE,
    take: LEDGER_ACCOUNTS_PAGE_SIZE,
    select: accountSelect,
  });
  const sumOf = (k: LedgerAccountKind) => {
    const row = sums.find((item) => item.kind === k);
    return { balance: row?._sum.balance ?? 0n, held: row?._sum.held ?? 0n };
  };
  return {
    items,
    total,
    page: current,
    pageCount,
    q: query,
    kind: kind ?? null,
    sums: { platform: sumOf("platform"), wallet: sumOf("wallet") },
  };
}

export type EntryCursor = { before?: bigint; after?: bigint };

/**
 * One account and a page of its entries, newest first. Keyset pagination on the entry id (the
 * (account_id, id) index): `before` = older than that entry, `after` = newer than it.
 */
export async function getLedgerAccount(
  id: string,
  { before, after }: EntryCursor = {},
  pageSize = LEDGER_ENTRIES_PAGE_SIZE,
) {
  const account = await prisma.ledgerAccount.findUnique({ where: { id }, select: accountSelect });
  if (!account) return null;
  const newerFirst = after === undefined;
  const rows = await prisma.ledgerEntry.findMany({
    where: {
      accountId: id,
      ...(after !== undefined ? { id: { gt: after } } : before !== undefined ? { id: { lt: before } } : {}),
    },
    orderBy: { id: newerFirst ? "desc" : "asc" },
    take: pageSize + 1,
    select: {
      id: true,
      amount: true,
      balanceAfter: true,
      createdAt: true,
      transfer: { select: { id: true, kind: true, description: true } },
    },
  });
  const more = rows.length > pageSize;
  const page = rows.slice(0, pageSize);
  const entries = newerFirst ? page : page.reverse();
  // A stale cursor (past either end): show the newest page rather than an empty one.
  if (entries.length === 0 && (before !== undefined || after !== undefined)) return getLedgerAccount(id, {}, pageSize);
  const [openHolds, total] = await Promise.all([
    prisma.ledgerHold.aggregate({
      where: { accountId: id, status: "pending" },
      _count: { _all: true },
      _sum: { amount: true },
    }),
    prisma.ledgerEntry.count({ where: { accountId: id } }),
  ]);
  const first = entries[0];
  const last = entries[entries.length - 1];
  // Is there anything newer than this page, or older? The query answered one side; ask for the other.
  const hasNewer = newerFirst
    ? before !== undefined && first !== undefined && (await existsEntry(id, { gt: first.id }))
    : more;
  const hasOlder = newerFirst ? more : last !== undefined && (await existsEntry(id, { lt: last.id }));
  return {
    account,
    label: account.kind === "platform" ? platformAccountLabel(account.id) : null,
    openHolds: { count: openHolds._count._all, amount: openHolds._sum.amount ?? 0n },
    totalEntries: total,
    entries,
    newer: hasNewer && first ? first.id : null,
    older: hasOlder && last ? last.id : null,
  };
}

async function existsEntry(accountId: string, id: { gt: bigint } | { lt: bigint }) {
  return (await prisma.ledgerEntry.findFirst({ where: { accountId, id }, select: { id: true } })) !== null;
}

/** One transfer, all its entries (with their accounts), what it reverses and what reverses it. */
export async function getLedgerTransfer(id: string) {
  const transfer = await prisma.ledgerTransfer.findUnique({
    where: { id },
    select: {
      id: true,
      idempotencyKey: true,
      kind: true,
      description: true,
      metadata: true,
      createdAt: true,
      reverses: { select: { id: true, kind: true, description: true, createdAt: true } },
      reversals: {
        select: { id: true, kind: true, description: true, createdAt: true },
        orderBy: { createdAt: "asc" },
      },
      holds: { select: { id: true, status: true, amount: true, postedAmount: true, accountId: true } },
      entries: {
        orderBy: { id: "asc" },
        select: {
          id: true,
          amount: true,
          balanceAfter: true,
          account: { select: accountSelect },
        },
      },
    },
  });
  if (!transfer) return null;
  const sum = transfer.entries.reduce((total, entry) => total + entry.amount, 0n);
  return {
    ...transfer,
    sum,
    currency: transfer.entries[0]?.account.currency ?? null,
    entries: transfer.entries.map((entry) => ({
      ...entry,
      label: entry.account.kind === "platform" ? platformAccountLabel(entry.account.id) : null,
    })),
  };
}

export type InvariantResult = { check: string; ok: boolean; problems: string[] };

/** Runs ledger.server's invariant check now and reports every check, passing or not. */
export async function runInvariantCheck(): Promise<{ ok: boolean; results: InvariantResult[]; ranAt: Date }> {
  const report = await checkInvariants();
  // A problem under a check that is not listed would otherwise go unreported.
  const names = [...new Set([...report.checks, ...report.problems.map((problem) => problem.check)])];
  const results = names.map((check) => {
    const problems = report.problems.filter((problem) => problem.check === check).map((problem) => problem.detail);
    return { check, ok: problems.length === 0, problems };
  });
  return { ok: report.ok && results.every((result) => result.ok), results, ranAt: new Date() };
}
