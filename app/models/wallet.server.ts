import { createHmac } from "node:crypto";
import { Prisma } from "@prisma/client";
import type { EChartsOption } from "echarts";
import { BarChart } from "echarts/charts";
import { GridComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { SVGRenderer } from "echarts/renderers";
import { ensureWallet, PLATFORM_ACCOUNTS, transfer, walletAccountId } from "#app/models/ledger.server";
import { nudgeNotifications, queueNotification } from "#app/notifications/outbox.server";
import { prisma, sql } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { consumeRateLimit } from "#app/utils/rate-limit.server";
import { formatMoney, microsToDecimalString } from "#app/utils/money";

// A member's view of their wallet: statement, CSV export, spend by day and by model, low-balance alert.
// Reads only (the ledger module is the only writer of ledger tables); every query names the member's id,
// so one member can never see another's movements, even through a mistaken account id.

/** Transfers with this kind are generation charges; their metadata.model names the model. */
export const GENERATION_KIND = "generation";
export const STATEMENT_PAGE_SIZE = 25;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// What a movement was, in words a member understands.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/**
 * "Card top-up", "Top-up by MTN MoMo", "Promotional credit", "Generation · openai:gpt-4o", "Refund"…
 * Known kinds (generation, topup_card*, topup_manual, grant, refund, adjustment…) get a fixed label;
 * anything else falls back to the transfer's own description.
 */
export function describeMovement(
  transfer: { kind: string; description: string; metadata: unknown },
  amount: bigint,
): string {
  const kind = transfer.kind.toLowerCase();
  const meta = isRecord(transfer.metadata) ? transfer.metadata : {};
  const source = [kind, text(meta.source), text(meta.method), text(meta.provider)].join(" ").toLowerCase();
  if (kind === GENERATION_KIND) {
    const model = text(meta.model);
    return model ? `Generation · ${model}` : "Generation";
  }
  if (kind === "account_closed") return "Account closed (remaining balance)";
  if (/dispute|chargeback/.test(kind)) return amount < 0n ? "Card payment disputed" : "Card dispute won";
  if (/refund|reversal/.test(kind)) return amount < 0n ? "Refund to your card" : "Refund";
  if (/grant|promo|bonus/.test(kind)) return "Promotional credit";
  if (/top.?up|deposit|stripe|checkout|manual/.test(kind)) {
    if (/stripe|card|checkout/.test(source)) return "Card top-up";
    if (/manual|mobile|momo|bank/.test(source)) {
      // The manual top-up path names the method ("Top-up by MTN MoMo"); keep that when it is there.
      const method = text(meta.methodName);
      return method ? `Top-up by ${method}` : (text(transfer.description) ?? "Mobile money top-up");
    }
    return "Top-up";
  }
  if (/adjust|correction/.test(kind)) return amount < 0n ? "Adjustment (debit)" : "Adjustment (credit)";
  return text(transfer.description) ?? transfer.kind;
}

// ---------------------------------------------------------------------------------------------
// Statement

export type StatementItem = {
  /** The ledger entry id (as text: it is a BigInt in the database). */
  id: string;
  transferId: string;
  date: Date;
  kind: string;
  description: string;
  /** Positive: money in; negative: money out. Micro-units. */
  amount: bigint;
  balanceAfter: bigint;
};

export type Statement = {
  currency: string;
  items: StatementItem[];
  total: number;
  page: number;
  pageSize: number;
  pageCount: number;
};

const entrySelect = {
  id: true,
  amount: true,
  balanceAfter: true,
  createdAt: true,
  transferId: true,
  transfer: { select: { kind: true, description: true, metadata: true } },
} satisfies Prisma.LedgerEntrySelect;

type EntryRow = Prisma.LedgerEntryGetPayload<{ select: typeof entrySelect }>;

function toItem(row: EntryRow): StatementItem {
  return {
    id: row.id.toString(),
    transferId: row.transferId,
    date: row.createdAt,
    kind: row.transfer.kind,
    description: describeMovement(row.transfer, row.amount),
    amount: row.amount,
    balanceAfter: row.balanceAfter,
  };
}

/** The member's wallet entries only: the account id and the account's owner both have to match. */
function memberEntries(userId: string): Prisma.LedgerEntryWhereInput {
  return { accountId: walletAccountId(userId), account: { userId } };
}

async function walletCurrency(userId: string): Promise<string> {
  const account = await prisma.ledgerAccount.findUnique({
    where: { id: walletAccountId(userId), userId },
    select: { currency: true },
  });
  return account?.currency ?? env.WALLET_CURRENCY;
}

/** Newest first. A page past the end shows the last page. */
export async function getStatement(
  userId: string,
  { page = 1, pageSize = STATEMENT_PAGE_SIZE }: { page?: number; pageSize?: number } = {},
): Promise<Statement> {
  const size = Math.min(Math.max(Math.trunc(pageSize) || STATEMENT_PAGE_SIZE, 1), 200);
  const where = memberEntries(userId);
  const [total, currency] = await Promise.all([prisma.ledgerEntry.count({ where }), walletCurrency(userId)]);
  const pageCount = Math.max(1, Math.ceil(total / size));
  const current = Math.min(Math.max(Math.trunc(page) || 1, 1), pageCount);
  const rows = await prisma.ledgerEntry.findMany({
    where,
    orderBy: { id: "desc" },
    skip: (current - 1) * size,
    take: size,
    select: entrySelect,
  });
  return { currency, items: rows.map(toItem), total, page: current, pageSize: size, pageCount };
}

// ---------------------------------------------------------------------------------------------
// Spend (generation charges), by UTC day and by model

export type SpendDay = { /** YYYY-MM-DD, UTC. */ day: string; amount: bigint };
export type SpendModel = { model: string; amount: bigint; count: number };

/** [start, end) covering the last `days` UTC calendar days, today included. */
function utcWindow(days: number, now: Date) {
  const count = Math.min(Math.max(Math.trunc(days) || 30, 1), 366);
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return { count, start: new Date(today - (count - 1) * DAY_MS), end: new Date(today + DAY_MS) };
}

/** What generations cost the member on each of the last `days` UTC days (oldest first, zero-filled). */
export async function getSpendByDay(userId: string, days = 30, now = new Date()): Promise<SpendDay[]> {
  const { count, start, end } = utcWindow(days, now);
  const rows = await prisma.$queryRaw<{ day: string; spent: string }[]>`
    SELECT to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, sum(-e.amount)::text AS spent
    FROM ledger_entries e
    JOIN ledger_accounts a ON a.id = e.account_id
    JOIN ledger_transfers t ON t.id = e.transfer_id
    WHERE e.account_id = ${walletAccountId(userId)} AND a.user_id = ${userId} AND t.kind = ${GENERATION_KIND}
      AND e.created_at >= ${start}::timestamptz AND e.created_at < ${end}::timestamptz
    GROUP BY 1`;
  const byDay = new Map(rows.map((row) => [row.day, BigInt(row.spent)]));
  return Array.from({ length: count }, (_, index) => {
    const day = new Date(start.getTime() + index * DAY_MS).toISOString().slice(0, 10);
    return { day, amount: byDay.get(day) ?? 0n };
  });
}

/** What generations cost the member per model (transfer metadata.model) over the last `days` UTC days. */
export async function getSpendByModel(userId: string, days = 30, now = new Date()): Promise<SpendModel[]> {
  const { start, end } = utcWindow(days, now);
  const rows = await prisma.$queryRaw<{ model: string; spent: string; count: number }[]>`
    SELECT coalesce(nullif(t.metadata->>'model', ''), 'unknown') AS model, sum(-e.amount)::text AS spent,
      count(*)::int AS count
    FROM ledger_entries e
    JOIN ledger_accounts a ON a.id = e.account_id
    JOIN ledger_transfers t ON t.id = e.transfer_id
    WHERE e.account_id = ${walletAccountId(userId)} AND a.user_id = ${userId} AND t.kind = ${GENERATION_KIND}
      AND e.created_at >= ${start}::timestamptz AND e.created_at < ${end}::timestamptz
    GROUP BY 1
    ORDER BY sum(-e.amount) DESC, 1 ASC`;
  return rows.map((row) => ({ model: row.model, amount: BigInt(row.spent), count: Number(row.count) }));
}

// ---------------------------------------------------------------------------------------------
// CSV export (RFC 4180)

export const CSV_HEADER = ["Date (UTC)", "Type", "Description", "Amount", "Balance after", "Currency", "Transfer ID"];
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * One RFC 4180 field. Text that a spreadsheet would run as a formula (starting with = + - @, tab or
 * carriage return) gets a leading apostrophe; plain numbers such as "-1.25" are data, never formulas,
 * and stay as they are so that sums still work.
 */
export function csvCell(value: string): string {
  const safe = !PLAIN_NUMBER.test(value) && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvRow(cells: string[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/** "2026-11-23 14:05:09": a form every spreadsheet reads as a date and time. */
function csvDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/**
 * The member's whole statement as CSV, newest first, read from the database in batches as the
 * response is consumed (nothing is held in memory). Starts with a UTF-8 byte-order mark so that
 * spreadsheet programs read "·" and accented model names correctly.
 */
export function statementCsv(userId: string, { batchSize = 500 }: { batchSize?: number } = {}) {
  const encoder = new TextEncoder();
  let currency: string | null = null;
  let cursor: bigint | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (currency === null) {
          currency = await walletCurrency(userId);
          controller.enqueue(encoder.encode(`\uFEFF${csvRow(CSV_HEADER)}`));
          return;
        }
        const rows: EntryRow[] = await prisma.ledgerEntry.findMany({
          where: { ...memberEntries(userId), ...(cursor === null ? {} : { id: { lt: cursor } }) },
          orderBy: { id: "desc" },
          take: batchSize,
          select: entrySelect,
        });
        const lines = rows.map((row) => {
          const item = toItem(row);
          return csvRow([
            csvDate(item.date),
            item.kind,
            item.description,
            microsToDecimalString(item.amount),
            microsToDecimalString(item.balanceAfter),
            currency!,
            item.transferId,
          ]);
        });
        if (lines.length) controller.enqueue(encoder.encode(lines.join("")));
        cursor = rows.at(-1)?.id ?? cursor;
        if (rows.length < batchSize) controller.close();
      } catch (error) {
        logger.error("wallet.statement_csv_failed", {
          userId,
          errorName: error instanceof Error ? error.name : "unknown",
        });
        controller.error(error);
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Low-balance alert

export type LowBalanceSettings = { threshold: bigint | null; notifiedAt: Date | null };

export async function getLowBalanceSettings(userId: string): Promise<LowBalanceSettings> {
  const user = await prisma.user.findUnique({
    where: { id: userId },
    select: { lowBalanceThreshold: true, lowBalanceNotifiedAt: true },
  });
  return { threshold: user?.lowBalanceThreshold ?? null, notifiedAt: user?.lowBalanceNotifiedAt ?? null };
}

export type LowBalanceStatus =
  /** No threshold set. */
  | "off"
  /** Available ≥ threshold and the alert is armed. */
  | "above"
  /** Just crossed below: the email is queued (by this caller only). */
  | "notified"
  /** Still below, already emailed: nothing to do until it goes back above. */
  | "already_notified"
  /** Back at or above the threshold: the alert is armed again. */
  | "rearmed"
  /** The check itself failed (logged); the caller's money operation is not affected. */
  | "error";

/**
 * Call after every change to a member's available balance (charge, hold, top-up). Emails once when the
 * available balance is below the member's threshold, and re-arms when it is back at or above it.
 * Race-safe: the "notified" mark is set by one conditional UPDATE, in the transaction that queues the email,
 * so concurrent charges email once. Never throws: a failure is logged and reported as "error".
 */
export async function checkLowBalance(userId: string): Promise<LowBalanceStatus> {
  try {
    // Runs after every charge, so it is one prepared statement on the pool (ADR 0008); only a crossing,
    // which is rare, takes a transaction.
    const [row] = await sql<{ rearmed: boolean; threshold_set: boolean; below: boolean; armed: boolean }>(
      LOW_BALANCE_CHECK,
      [userId, walletAccountId(userId)],
    );
    if (!row) return "off";
    if (row.rearmed) {
      logger.info("wallet.low_balance_rearmed", { userId });
      return "rearmed";
    }
    if (!row.threshold_set) return "off";
    if (!row.below) return "above";
    if (row.armed && (await queueLowBalanceEmail(userId))) return "notified";
    // Below and not marked by this call: it was emailed already, or by a concurrent check that got there first.
    return "already_notified";
  } catch (error) {
    logger.error("wallet.low_balance_check_failed", {
      userId,
      errorName: error instanceof Error ? error.name : "unknown",
    });
    return "error";
  }
}

// Available balance of the member's own wallet (none yet: 0). Re-arms the alert once the balance is back (at
// most one caller sees "rearmed"), and reports whether it is below and not yet marked as emailed. The last
// columns are read from the statement's snapshot: the caller that acts on them re-checks under the UPDATE.
const LOW_BALANCE_CHECK = {
  name: "wallet_low_balance_state",
  text: `WITH available AS (
      SELECT coalesce((SELECT balance - held FROM ledger_accounts WHERE id = $2 AND user_id = $1), 0) AS amount
    ), rearmed AS (
      UPDATE users SET low_balance_notified_at = NULL FROM available
      WHERE id = $1 AND low_balance_notified_at IS NOT NULL
        AND (low_balance_threshold IS NULL OR available.amount >= low_balance_threshold)
      RETURNING id
    )
    SELECT
      EXISTS (SELECT 1 FROM rearmed) AS rearmed,
      low_balance_threshold IS NOT NULL AS threshold_set,
      coalesce(available.amount < low_balance_threshold, false) AS below,
      low_balance_notified_at IS NULL AS armed
    FROM users, available WHERE users.id = $1`,
};

/**
 * Marks the alert as sent and queues its email, together; false when the balance is no longer below or a
 * concurrent check marked it first (the conditional UPDATE lets exactly one caller through).
 */
async function queueLowBalanceEmail(userId: string): Promise<boolean> {
  const currency = await walletCurrency(userId);
  const notificationId = await prisma.$transaction(async (tx) => {
    const [hit] = await tx.$queryRaw<
      Array<{ email: string; displayName: string; threshold: bigint; available: bigint }>
    >`WITH available AS (
        SELECT coalesce((SELECT balance - held FROM ledger_accounts
          WHERE id = ${walletAccountId(userId)} AND user_id = ${userId}), 0) AS amount
      )
      UPDATE users SET low_balance_notified_at = now() FROM available
      WHERE id = ${userId} AND low_balance_threshold IS NOT NULL AND low_balance_notified_at IS NULL
        AND available.amount < low_balance_threshold
      RETURNING email, display_name AS "displayName", low_balance_threshold AS threshold, available.amount AS available`;
    if (!hit) return null;
    return queueNotification(tx, {
      kind: "low-balance",
      to: hit.email,
      userId,
      props: {
        displayName: hit.displayName,
        available: formatMoney(hit.available, currency),
        threshold: formatMoney(hit.threshold, currency),
        topUpUrl: `${env.APP_URL}/wallet/top-up`,
        walletUrl: `${env.APP_URL}/wallet`,
        appUrl: env.APP_URL,
      },
    });
  });
  if (!notificationId) return false;
  logger.info("wallet.low_balance_notified", { userId });
  await nudgeNotifications([notificationId]);
  return true;
}

/**
 * Sets (micro-units > 0) or clears (null) the alert threshold. A new threshold starts armed, and is
 * checked at once: a member whose balance is already below it gets the email now, once.
 */
export async function setLowBalanceThreshold(userId: string, threshold: bigint | null): Promise<LowBalanceStatus> {
  if (threshold !== null && threshold <= 0n) throw new RangeError("The low-balance threshold must be positive");
  await prisma.user.update({
    where: { id: userId },
    data: { lowBalanceThreshold: threshold, lowBalanceNotifiedAt: null },
  });
  if (threshold === null) return "off";
  return checkLowBalance(userId);
}

// ---------------------------------------------------------------------------------------------
// Charts: Apache ECharts' server-side SVG renderer (no DOM). The options come from
// app/components/spend-chart.tsx; this module only turns them into SVG, on the server.

echarts.use([BarChart, GridComponent, SVGRenderer]);

export function renderChartSvg(option: EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Welcome credit: once per person, not per sign-up (docs/decisions/0020-four-eyes-and-welcome-credit.md)

/** How long a credited mailbox's keyed hash is kept (after the account is deleted too), then purged. */
export const WELCOME_CLAIM_RETENTION_DAYS = 730;
/** The window of the per-IP cap (WELCOME_CREDITS_PER_IP_PER_DAY). */
export const WELCOME_IP_WINDOW_SECONDS = 24 * 60 * 60;
const GMAIL_DOMAINS = new Set(["gmail.com", "googlemail.com"]);

/**
 * The mailbox an address delivers to, for the once-per-person check: lower case; a "+tag" after the
 * local part is dropped for every domain (most providers deliver "name+tag" to "name"); for Gmail, dots in
 * the local part are dropped too and googlemail.com is gmail.com. Elsewhere dots are kept ("a.b" and "ab"
 * are different mailboxes at most providers).
 */
export function canonicalMailbox(email: string): string {
  const address = email.trim().toLowerCase();
  const at = address.lastIndexOf("@");
  if (at <= 0) return address;
  let local = address.slice(0, at);
  let domain = address.slice(at + 1);
  const plus = local.indexOf("+");
  if (plus > 0) local = local.slice(0, plus);
  if (GMAIL_DOMAINS.has(domain)) {
    local = local.replaceAll(".", "");
    domain = "gmail.com";
  }
  return `${local}@${domain}`;
}

/** HMAC-SHA256 of the canonical mailbox under a key derived from APP_SECRET for this one use. */
function mailboxHash(email: string): string {
  const key = createHmac("sha256", env.APP_SECRET).update("welcome-credit-mailbox").digest();
  return createHmac("sha256", key).update(canonicalMailbox(email)).digest("hex");
}

/** Where a sign-up came from, for the per-IP cap: an IPv4 address, or an IPv6 address's /64 network. */
export function ipBucket(ip: string | null | undefined): string {
  const address = (ip ?? "").trim().toLowerCase();
  if (!address) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, "") || "0")
    .join(":")}::/64`;
}

export type WelcomeCreditOutcome =
  /** Credited now. */
  | "granted"
  /** This member already got it (the call was repeated). */
  | "replayed"
  /** No welcome credit is offered (WELCOME_CREDIT=0). */
  | "off"
  /** This mailbox got one before (another or a deleted account, a +tag, Gmail dots). */
  | "mailbox_used"
  /** WELCOME_CREDITS_PER_IP_PER_DAY reached for this IP address (or /64). */
  | "ip_cap"
  /** Something failed (logged); the member's verification goes on without the credit. */
  | "error";

/**
 * WELCOME_CREDIT from the promotions account when a member's address is first confirmed: once per
 * member (ledger key), once per mailbox (keyed hash kept WELCOME_CLAIM_RETENTION_DAYS, through account
 * deletion), and at most WELCOME_CREDITS_PER_IP_PER_DAY per IP address. The mailbox is claimed before the
 * credit: a crash in between loses this member's welcome credit rather than ever paying one twice.
 * Never throws: the verification that calls it must succeed either way.
 */
export async function grantWelcomeCredit(
  userId: string,
  { ip = null }: { ip?: string | null } = {},
): Promise<WelcomeCreditOutcome> {
  if (env.welcomeCredit <= 0n) return "off";
  const key = `welcome:${userId}`;
  try {
    if (await prisma.ledgerTransfer.findUnique({ where: { idempotencyKey: key }, select: { id: true } })) {
      return "replayed";
    }
    const user = await prisma.user.findUnique({ where: { id: userId }, select: { email: true } });
    if (!user) return "error";
    const hash = mailboxHash(user.email);
    const claimed = await prisma.$executeRaw`
      INSERT INTO welcome_credit_claims (mailbox_hash) VALUES (${hash}) ON CONFLICT DO NOTHING`;
    if (claimed === 0) {
      logger.info("wallet.welcome_credit_refused", { userId, reason: "mailbox_used" });
      return "mailbox_used";
    }
    const cap = await consumeRateLimit(`welcome:ip:${ipBucket(ip)}`, {
      limit: env.WELCOME_CREDITS_PER_IP_PER_DAY,
      windowSeconds: WELCOME_IP_WINDOW_SECONDS,
    });
    if (!cap.allowed) {
      // Not credited, so not claimed: this mailbox was not paid.
      await prisma.welcomeCreditClaim.deleteMany({ where: { mailboxHash: hash } });
      logger.info("wallet.welcome_credit_refused", { userId, reason: "ip_cap" });
      return "ip_cap";
    }
    const wallet = await ensureWallet(userId);
    const { replayed } = await transfer({
      key,
      kind: "grant",
      description: "Welcome credit",
      postings: [
        { accountId: PLATFORM_ACCOUNTS.promotions, amount: -env.welcomeCredit },
        { accountId: wallet, amount: env.welcomeCredit },
      ],
      metadata: { source: "welcome" },
    });
    return replayed ? "replayed" : "granted";
  } catch (error) {
    logger.error("wallet.welcome_credit_failed", {
      userId,
      errorName: error instanceof Error ? error.name : "unknown",
    });
    return "error";
  }
}

/** Retention: mailbox hashes older than WELCOME_CLAIM_RETENTION_DAYS are deleted (run by the clean-up job). */
export async function purgeWelcomeClaims(now = new Date()): Promise<number> {
  const { count } = await prisma.welcomeCreditClaim.deleteMany({
    where: { grantedAt: { lt: new Date(now.getTime() - WELCOME_CLAIM_RETENTION_DAYS * DAY_MS) } },
  });
  return count;
}
