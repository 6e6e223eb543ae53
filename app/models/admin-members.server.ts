import type { GenerationStatus, Modality, Prisma, Role } from "@prisma/client";
import { audit } from "#app/models/audit.server";
import { ensureWallet, getWalletBalance, LedgerError, PLATFORM_ACCOUNTS, transfer } from "#app/models/ledger.server";
import { CARD_TOPUP_KIND } from "#app/models/stripe-topups.server";
import { TRANSFER_KIND as MANUAL_TOPUP_KIND } from "#app/models/manual-topups.server";
import { checkLowBalance, GENERATION_KIND, getStatement } from "#app/models/wallet.server";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { formatMoney, MICROS_PER_UNIT, microsToDecimalString } from "#app/utils/money";

// The admin console's view of members: find, inspect (no secrets, no generation contents), and the
// three admin actions (adjust the wallet, disable/enable, change role). Every action writes its audit
// event with before/after; role checks live in the routes (requireRole) and the actor rules here.

export const MEMBERS_PAGE_SIZE = 25;
export const AUDIT_PAGE_SIZE = 50;
export const ADJUSTMENT_KIND = "adjustment";
/** Most one adjustment may move, in units of the wallet currency (guards against typos). */
export const MAX_ADJUST_UNITS = 100_000n;
export const MAX_REASON_LENGTH = 300;

const decimal = (micros: bigint) => microsToDecimalString(micros);
const clampPage = (page: number) => (Number.isFinite(page) && page >= 1 ? Math.trunc(page) : 1);

// ---------------------------------------------------------------------------------------------
// Finding members

export type MemberListItem = {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  createdAt: Date;
  emailVerifiedAt: Date | null;
  disabledAt: Date | null;
  balance: bigint;
};

export async function listMembers({ q = "", page = 1 }: { q?: string; page?: number }) {
  const query = q.trim().slice(0, 200);
  const where: Prisma.UserWhereInput = query
    ? {
        OR: [
          { email: { contains: query.toLowerCase(), mode: "insensitive" } },
          { displayName: { contains: query, mode: "insensitive" } },
          { id: query },
        ],
      }
    : {};
  const total = await prisma.user.count({ where });
  const pageCount = Math.max(1, Math.ceil(total / MEMBERS_PAGE_SIZE));
  const current = Math.min(clampPage(page), pageCount);
  const rows = await prisma.user.findMany({
    where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    skip: (current - 1) * MEMBERS_PAGE_SIZE,
    take: MEMBERS_PAGE_SIZE,
    select: {
      id: true,
      email: true,
      displayName: true,
      role: true,
      createdAt: true,
      emailVerifiedAt: true,
      disabledAt: true,
      walletAccount: { select: { balance: true } },
    },
  });
  const items: MemberListItem[] = rows.map(({ walletAccount, ...row }) => ({
    ...row,
    balance: walletAccount?.balance ?? 0n,
  }));
  return { items, total, page: current, pageCount, q: query };
}

/** One member's profile for staff: never the password hash, never generation contents. */
export async function getMemberForAdmin(id: string) {
  const user = await prisma.user.findUnique({
    where: { id },
    select: {
      id: true,
      email: true,
      displayName: true,
      country: true,
      phone: true,
      role: true,
      createdAt: true,
      emailVerifiedAt: true,
      disabledAt: true,
      googleSub: true,
      password: { select: { userId: true } },
    },
  });
  if (!user) return null;
  const [balance, statement, generations, sessions] = await Promise.all([
    getWalletBalance(id),
    getStatement(id, { page: 1, pageSize: 25 }),
    prisma.generation.groupBy({
      by: ["status", "modality"],
      where: { userId: id },
      _count: { _all: true },
      orderBy: [{ status: "asc" }, { modality: "asc" }],
    }),
    prisma.session.count({ where: { userId: id, expiresAt: { gt: new Date() } } }),
  ]);
  const { password, googleSub, ...profile } = user;
  return {
    profile: { ...profile, hasPassword: password !== null, googleLinked: googleSub !== null },
    balance,
    statement,
    generations: generations.map((row) => ({
      status: row.status as GenerationStatus,
      modality: row.modality as Modality,
      count: row._count._all,
    })),
    sessions,
  };
}

// ---------------------------------------------------------------------------------------------
// Actions

type Actor = { actorId: string; ip: string | null };

export type AdjustInput = Actor & {
  memberId: string;
  direction: "credit" | "debit";
  amount: bigint;
  reason: string;
  /** Generated with the form: a double submit carries the same id, so it adjusts once. */
  requestId: string;
};

export type AdjustResult =
  | { ok: true; transferId: string; replayed: boolean; available: bigint }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "self"; error: string }
  | { ok: false; reason: "invalid"; field: "amount" | "reason" | "requestId"; error: string };

export const adjustmentKey = (requestId: string) => `admin-adjust:${requestId}`;

/**
 * Credits or debits a member's wallet against the adjustments account. A debit never takes more than
 * the available balance (the ledger refuses it too); the same request id never moves money twice.
 */
export async function adjustBalance(input: AdjustInput): Promise<AdjustResult> {
  if (input.memberId === input.actorId) {
    return { ok: false, reason: "self", error: "You cannot adjust your own wallet; ask another admin." };
  }
  const member = await prisma.user.findUnique({ where: { id: input.memberId }, select: { id: true } });
  if (!member) return { ok: false, reason: "not_found" };
  const reason = input.reason.trim().replace(/\s+/g, " ");
  const currency = env.WALLET_CURRENCY;
  if (reason.length < 3 || reason.length > MAX_REASON_LENGTH) {
    return {
      ok: false,
      reason: "invalid",
      field: "reason",
      error: `Give a reason (3 to ${MAX_REASON_LENGTH} characters)`,
    };
  }
  if (input.amount <= 0n) {
    return { ok: false, reason: "invalid", field: "amount", error: "The amount must be more than zero" };
  }
  if (input.amount > MAX_ADJUST_UNITS * MICROS_PER_UNIT) {
    return {
      ok: false,
      reason: "invalid",
      field: "amount",
      error: `At most ${formatMoney(MAX_ADJUST_UNITS * MICROS_PER_UNIT, currency)} per adjustment`,
    };
  }
  if (!/^[A-Za-z0-9-]{8,80}$/.test(input.requestId)) {
    return { ok: false, reason: "invalid", field: "requestId", error: "Reload the page and try again" };
  }

  const key = adjustmentKey(input.requestId);
  const wallet = await ensureWallet(member.id);
  const signed = input.direction === "credit" ? input.amount : -input.amount;

  // A replay (double submit) answers with the first transfer, whatever the balance is now.
  const existing = await prisma.ledgerTransfer.findUnique({ where: { idempotencyKey: key }, select: { id: true } });
  if (existing) return replayOf(existing.id, wallet, signed, member.id);

  const before = await getWalletBalance(member.id);
  if (input.direction === "debit" && input.amount > before.available) {
    return {
      ok: false,
      reason: "invalid",
      field: "amount",
      error: `The member has only ${formatMoney(before.available, currency)} available; a debit cannot be larger. Nothing changed.`,
    };
  }

  let result: { transferId: string; replayed: boolean };
  try {
    result = await transfer({
      key,
      kind: ADJUSTMENT_KIND,
      description: input.direction === "credit" ? "Adjustment (credit)" : "Adjustment (debit)",
      metadata: { reason, actorId: input.actorId, direction: input.direction, source: "admin" },
      postings: [
        { accountId: PLATFORM_ACCOUNTS.adjustments, amount: -signed },
        { accountId: wallet, amount: signed },
      ],
    });
  } catch (error) {
    if (error instanceof LedgerError && error.code === "insufficient_funds") {
      const now = await getWalletBalance(member.id);
      return {
        ok: false,
        reason: "invalid",
        field: "amount",
        error: `The member has only ${formatMoney(now.available, currency)} available; a debit cannot be larger. Nothing changed.`,
      };
    }
    throw error;
  }
  if (result.replayed) return replayOf(result.transferId, wallet, signed, member.id);

  const after = await getWalletBalance(member.id);
  await audit({
    actorId: input.actorId,
    action: "wallet.adjust",
    targetType: "user",
    targetId: member.id,
    ip: input.ip,
    before: { balance: decimal(before.balance), available: decimal(before.available), currency },
    after: {
      balance: decimal(after.balance),
      available: decimal(after.available),
      currency,
      direction: input.direction,
      amount: decimal(input.amount),
      reason,
      transferId: result.transferId,
    },
  });
  logger.info("admin.wallet_adjusted", {
    userId: member.id,
    actorId: input.actorId,
    direction: input.direction,
    transferId: result.transferId,
  });
  await checkLowBalance(member.id);
  return { ok: true, transferId: result.transferId, replayed: false, available: after.available };
}

async function replayOf(transferId: string, wallet: string, signed: bigint, memberId: string): Promise<AdjustResult> {
  // The same request id must mean the same adjustment: never report a different one as done.
  const same = await prisma.ledgerEntry.findFirst({ where: { transferId, accountId: wallet, amount: signed } });
  if (!same) {
    return { ok: false, reason: "invalid", field: "requestId", error: "This form was already used. Reload the page." };
  }
  const now = await getWalletBalance(memberId);
  return { ok: true, transferId, replayed: true, available: now.available };
}

export type AccountActionResult =
  { ok: true; changed: boolean } | { ok: false; reason: "not_found" | "self"; error: string };

/** Disabling ends every session at once; an already disabled (or enabled) account is left as it is. */
export async function setMemberDisabled(
  input: Actor & { memberId: string; disabled: boolean },
): Promise<AccountActionResult> {
  if (input.memberId === input.actorId) {
    return { ok: false, reason: "self", error: "You cannot disable or enable your own account." };
  }
  const outcome = await prisma.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: input.memberId }, select: { id: true, disabledAt: true } });
    if (!user) return null;
    const now = new Date();
    const { count } = await tx.user.updateMany({
      where: { id: user.id, disabledAt: input.disabled ? null : { not: null } },
      data: { disabledAt: input.disabled ? now : null },
    });
    if (count === 0) return { changed: false };
    const ended = input.disabled ? (await tx.session.deleteMany({ where: { userId: user.id } })).count : 0;
    await audit(
      {
        actorId: input.actorId,
        action: input.disabled ? "account.disable" : "account.enable",
        targetType: "user",
        targetId: user.id,
        ip: input.ip,
        before: { disabledAt: user.disabledAt?.toISOString() ?? null },
        after: input.disabled ? { disabledAt: now.toISOString(), sessionsEnded: ended } : { disabledAt: null },
      },
      tx,
    );
    return { changed: true };
  });
  if (!outcome) return { ok: false, reason: "not_found", error: "No such member." };
  if (outcome.changed) {
    logger.info(input.disabled ? "admin.account_disabled" : "admin.account_enabled", {
      userId: input.memberId,
      actorId: input.actorId,
    });
  }
  return { ok: true, changed: outcome.changed };
}

export async function changeMemberRole(input: Actor & { memberId: string; role: Role }): Promise<AccountActionResult> {
  if (input.memberId === input.actorId) {
    return { ok: false, reason: "self", error: "You cannot change your own role; ask another admin." };
  }
  const outcome = await prisma.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: input.memberId }, select: { id: true, role: true } });
    if (!user) return null;
    if (user.role === input.role) return { changed: false };
    const { count } = await tx.user.updateMany({ where: { id: user.id, role: user.role }, data: { role: input.role } });
    if (count === 0) return { changed: false };
    await audit(
      {
        actorId: input.actorId,
        action: "account.role_change",
        targetType: "user",
        targetId: user.id,
        ip: input.ip,
        before: { role: user.role },
        after: { role: input.role },
      },
      tx,
    );
    return { changed: true };
  });
  if (!outcome) return { ok: false, reason: "not_found", error: "No such member." };
  if (outcome.changed) logger.info("admin.role_changed", { userId: input.memberId, actorId: input.actorId });
  return { ok: true, changed: outcome.changed };
}

/** The admin bootstrap (`npm run admin:create`): promotes an existing account, never creates one. */
export async function promoteAccount(input: { email: string; role: Role; via: string }) {
  const email = input.email.trim().toLowerCase();
  return prisma.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { email }, select: { id: true, email: true, role: true } });
    if (!user) return { ok: false as const, reason: "unknown_email" as const };
    if (user.role === input.role) return { ok: true as const, changed: false, userId: user.id, from: user.role };
    await tx.user.update({ where: { id: user.id }, data: { role: input.role } });
    await audit(
      {
        actorId: null,
        action: "account.role_change",
        targetType: "user",
        targetId: user.id,
        before: { role: user.role },
        after: { role: input.role, via: input.via },
      },
      tx,
    );
    return { ok: true as const, changed: true, userId: user.id, from: user.role };
  });
}

// ---------------------------------------------------------------------------------------------
// Overview

const DAY_MS = 86_400_000;

export async function getAdminOverview(now = new Date()) {
  const since30 = new Date(now.getTime() - 30 * DAY_MS);
  const since24h = new Date(now.getTime() - DAY_MS);
  const [members, verified, disabled, wallets, holds, topUps, revenue, generations] = await Promise.all([
    prisma.user.count(),
    prisma.user.count({ where: { emailVerifiedAt: { not: null } } }),
    prisma.user.count({ where: { disabledAt: { not: null } } }),
    prisma.ledgerAccount.aggregate({ where: { kind: "wallet" }, _sum: { balance: true, held: true } }),
    prisma.ledgerHold.aggregate({ where: { status: "pending" }, _count: { _all: true }, _sum: { amount: true } }),
    // Money that reached member wallets through top-ups (card and manual) in the last 30 days.
    prisma.$queryRaw<{ total: string | null; count: number }[]>`
      SELECT sum(e.amount)::text AS total, count(DISTINCT t.id)::int AS count
      FROM ledger_transfers t JOIN ledger_entries e ON e.transfer_id = t.id
      JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'wallet'
      WHERE t.kind IN (${CARD_TOPUP_KIND}, ${MANUAL_TOPUP_KIND}) AND t.created_at >= ${since30}`,
    // What generations charged (sum of the members' side) in the last 30 days.
    prisma.$queryRaw<{ total: string | null; count: number }[]>`
      SELECT sum(-e.amount)::text AS total, count(DISTINCT t.id)::int AS count
      FROM ledger_transfers t JOIN ledger_entries e ON e.transfer_id = t.id
      JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'wallet'
      WHERE t.kind = ${GENERATION_KIND} AND t.created_at >= ${since30}`,
    prisma.generation.groupBy({
      by: ["status"],
      where: { createdAt: { gte: since24h } },
      _count: { _all: true },
      orderBy: { status: "asc" },
    }),
  ]);
  return {
    currency: env.WALLET_CURRENCY,
    members: { total: members, verified, disabled },
    money: {
      walletBalances: wallets._sum.balance ?? 0n,
      walletHeld: wallets._sum.held ?? 0n,
      openHolds: holds._count._all,
      openHoldsAmount: holds._sum.amount ?? 0n,
      topUps30d: BigInt(topUps[0]?.total ?? "0"),
      topUps30dCount: topUps[0]?.count ?? 0,
      generationRevenue30d: BigInt(revenue[0]?.total ?? "0"),
      generationCharges30d: revenue[0]?.count ?? 0,
    },
    generations24h: generations.map((row) => ({ status: row.status as GenerationStatus, count: row._count._all })),
  };
}

// ---------------------------------------------------------------------------------------------
// Audit log

export type AuditFilters = { action?: string; actor?: string; target?: string; from?: string; to?: string };

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const SECRET_KEY = /password|hash|token|secret|code|cookie|api.?key/i;

/** Removes anything that looks like a secret before before/after reach a page. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return "…";
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        SECRET_KEY.test(key) ? "[redacted]" : redactSecrets(item, depth + 1),
      ]),
    );
  }
  return value;
}

function dayStart(text: string | undefined): Date | null {
  if (!text || !DAY.test(text)) return null;
  const date = new Date(`${text}T00:00:00.000Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export async function listAuditEvents(filters: AuditFilters, page = 1) {
  const where: Prisma.AuditEventWhereInput = {};
  const action = filters.action?.trim();
  if (action) where.action = action;
  const target = filters.target?.trim();
  if (target) where.targetId = target;
  const actor = filters.actor?.trim().toLowerCase();
  if (actor) {
    const actors = await prisma.user.findMany({
      where: { email: { contains: actor, mode: "insensitive" } },
      select: { id: true },
      take: 100,
    });
    where.actorId = { in: actors.map((row) => row.id) };
  }
  const from = dayStart(filters.from);
  const to = dayStart(filters.to);
  if (from || to) {
    where.createdAt = {
      ...(from ? { gte: from } : {}),
      // The "to" day is included.
      ...(to ? { lt: new Date(to.getTime() + DAY_MS) } : {}),
    };
  }
  const total = await prisma.auditEvent.count({ where });
  const pageCount = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
  const current = Math.min(clampPage(page), pageCount);
  const rows = await prisma.auditEvent.findMany({
    where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    skip: (current - 1) * AUDIT_PAGE_SIZE,
    take: AUDIT_PAGE_SIZE,
  });
  const actorIds = [...new Set(rows.map((row) => row.actorId).filter((id): id is string => Boolean(id)))];
  const actorRows = actorIds.length
    ? await prisma.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, email: true } })
    : [];
  const emails = new Map(actorRows.map((row) => [row.id, row.email]));
  const actions = await prisma.auditEvent.groupBy({ by: ["action"], orderBy: { action: "asc" } });
  return {
    total,
    page: current,
    pageCount,
    actions: actions.map((row) => row.action),
    items: rows.map((row) => ({
      id: row.id,
      createdAt: row.createdAt,
      action: row.action,
      actorId: row.actorId,
      actorEmail: row.actorId ? (emails.get(row.actorId) ?? "(deleted account)") : null,
      targetType: row.targetType,
      targetId: row.targetId,
      ip: row.ip,
      before: row.before === null ? null : JSON.stringify(redactSecrets(row.before), null, 2),
      after: row.after === null ? null : JSON.stringify(redactSecrets(row.after), null, 2),
    })),
  };
}
