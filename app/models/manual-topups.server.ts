import type { ManualTopUp, ManualTopUpStatus, Prisma } from "@prisma/client";
import { audit } from "#app/models/audit.server";
import {
  ensureWallet,
  getWalletBalance,
  PLATFORM_ACCOUNTS,
  transfer,
  walletAccountId,
} from "#app/models/ledger.server";
import { getEnabledMethod } from "#app/models/payment-methods.server";
import { checkLowBalance } from "#app/models/wallet.server";
import { nudgeNotifications, queueNotification } from "#app/notifications/outbox.server";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { checkReceipt } from "#app/utils/file-type.server";
import { logger } from "#app/utils/logger.server";
import { formatMoney, microsToDecimalString } from "#app/utils/money";
import { discardFile, saveFile } from "#app/utils/storage.server";

// Manual (mobile money / bank transfer) top-ups: a member's claim "I sent this amount with this
// reference", checked by an admin who approves (credits the wallet from manual clearing) or rejects.
//
// Four eyes: no admin approves a top-up to their own wallet, and one crediting more than
// TOPUP_SECOND_APPROVAL_ABOVE needs the approvals of two different admins for the same amount (the first
// is recorded, "1 of 2 approvals", and credits nothing). Any admin's rejection ends a request.
//
// Approval is two steps, each safe to repeat:
//   1. the decision: under the request's row lock, the admin's approval is recorded and, once enough
//      admins approved, pending → approved (with its audit event, same transaction). Two admins, or a
//      double click, queue on the lock: the later one sees the earlier one's approval or decision.
//      Approve and reject race the same way (a rejection only changes a still-pending row).
//   2. the credit: ledger.transfer keyed "manual-topup:<id>" for the decided amount, then transferId
//      is recorded. The key makes any retry credit nothing more, so if the process dies between the
//      two steps, `creditApprovedTopUps` (run by the admin and member pages) finishes the job.
// The ledger call uses its own connection, so no database transaction is held open across it.

export const RECEIPT_PURPOSE = "receipt";
export const TRANSFER_KIND = "topup_manual";
export const transferKeyFor = (topUpId: string) => `manual-topup:${topUpId}`;

/** "abc-123 45" → "ABC12345": how references are compared to spot duplicates. */
export function normalizeReference(reference: string): string {
  return reference
    .toUpperCase()
    .replace(/[\s\u00a0\u2010-\u2015-]+/g, "")
    .trim();
}

/** "+237 6 70-00.00 00" → "+237670000000"; null when it does not look like a phone number. */
export function normalizeSenderNumber(text: string): string | null {
  const compact = text.trim().replace(/[\s\u00a0().-]/g, "");
  return /^\+?\d{6,15}$/.test(compact) ? compact : null;
}

const decimal = (micros: bigint | null) => (micros === null ? null : microsToDecimalString(micros));

// ---------------------------------------------------------------------------------------------
// The member's side

export type RequestInput = {
  userId: string;
  methodId: string;
  amount: bigint;
  senderNumber: string;
  reference: string;
  receipt?: { bytes: Uint8Array; filename: string } | null;
};

export type RequestField = "methodId" | "amount" | "senderNumber" | "reference" | "receipt";
export type RequestResult = { ok: true; topUp: ManualTopUp } | { ok: false; field: RequestField; error: string };

export async function requestManualTopUp(input: RequestInput): Promise<RequestResult> {
  const method = await getEnabledMethod(input.methodId);
  if (!method) return { ok: false, field: "methodId", error: "Choose one of the payment methods shown." };
  if (input.amount <= 0n) return { ok: false, field: "amount", error: "The amount must be more than zero" };
  if (input.amount < env.topUp.min || input.amount > env.topUp.max) {
    return {
      ok: false,
      field: "amount",
      error: `Enter an amount from ${formatMoney(env.topUp.min, env.WALLET_CURRENCY)} to ${formatMoney(env.topUp.max, env.WALLET_CURRENCY)}`,
    };
  }
  const senderNumber = normalizeSenderNumber(input.senderNumber);
  if (!senderNumber) {
    return { ok: false, field: "senderNumber", error: "Enter the phone number or account you paid from" };
  }
  const reference = input.reference.trim();
  const referenceKey = normalizeReference(reference);
  if (referenceKey.length < 4 || reference.length > 64) {
    return { ok: false, field: "reference", error: "Enter the transaction reference from your payment message" };
  }
  let receiptType: string | null = null;
  if (input.receipt) {
    const check = checkReceipt(input.receipt.bytes);
    if (!check.ok) return { ok: false, field: "receipt", error: check.error };
    receiptType = check.type.mediaType;
  }

  let savedKey: string | null = null;
  try {
    const outcome = await prisma.$transaction(async (tx) => {
      // One member, one reference: serialise their own double submissions so the same claim is not
      // queued twice. (Another member using the same reference is allowed and flagged to admins.)
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`manual-topup:${input.userId}:${referenceKey}`}, 0))`;
      const existing = await tx.manualTopUp.findFirst({
        where: { userId: input.userId, referenceKey, status: { in: ["pending", "approved"] } },
        select: { status: true },
      });
      if (existing) {
        return {
          ok: false as const,
          field: "reference" as const,
          error:
            existing.status === "pending"
              ? "You already sent this reference. It is waiting for review."
              : "This reference was already approved for you.",
        };
      }
      let receiptFileId: string | null = null;
      if (input.receipt && receiptType) {
        const file = await saveFile(
          {
            ownerId: input.userId,
            purpose: RECEIPT_PURPOSE,
            bytes: input.receipt.bytes,
            mediaType: receiptType,
            originalName: input.receipt.filename,
          },
          { tx },
        );
        savedKey = file.storageKey;
        receiptFileId = file.id;
      }
      const topUp = await tx.manualTopUp.create({
        data: {
          userId: input.userId,
          methodId: method.id,
          claimedAmount: input.amount,
          senderNumber,
          reference,
          referenceKey,
          receiptFileId,
        },
      });
      return { ok: true as const, topUp };
    });
    if (!outcome.ok && savedKey) await discardFile({ storageKey: savedKey });
    if (outcome.ok) {
      logger.info("topup.manual.requested", {
        topUpId: outcome.topUp.id,
        userId: input.userId,
        methodId: method.id,
        hasReceipt: Boolean(outcome.topUp.receiptFileId),
      });
    }
    return outcome;
  } catch (error) {
    if (savedKey) await discardFile({ storageKey: savedKey });
    throw error;
  }
}

const memberSelect = {
  id: true,
  claimedAmount: true,
  creditedAmount: true,
  senderNumber: true,
  reference: true,
  status: true,
  decisionNote: true,
  decidedAt: true,
  transferId: true,
  createdAt: true,
  receiptFileId: true,
  method: { select: { name: true } },
} satisfies Prisma.ManualTopUpSelect;

export type MemberTopUp = Prisma.ManualTopUpGetPayload<{ select: typeof memberSelect }>;

export async function listMemberTopUps(userId: string, { take = 50 } = {}): Promise<MemberTopUp[]> {
  await creditApprovedTopUps({ userId });
  return prisma.manualTopUp.findMany({
    where: { userId },
    select: memberSelect,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take,
  });
}

/** One of the member's own requests, or null (someone else's id matches nothing). */
export function getMemberTopUp(userId: string, id: string): Promise<MemberTopUp | null> {
  return prisma.manualTopUp.findFirst({ where: { id, userId }, select: memberSelect });
}

// ---------------------------------------------------------------------------------------------
// The admin's side

const adminSelect = {
  id: true,
  userId: true,
  claimedAmount: true,
  creditedAmount: true,
  senderNumber: true,
  reference: true,
  referenceKey: true,
  status: true,
  decisionNote: true,
  decidedById: true,
  decidedAt: true,
  transferId: true,
  createdAt: true,
  method: { select: { id: true, name: true, accountNumber: true } },
  receiptFile: { select: { id: true, mediaType: true, size: true } },
  approvals: {
    select: { adminId: true, creditedAmount: true, note: true, createdAt: true },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  },
} satisfies Prisma.ManualTopUpSelect;

type AdminRow = Prisma.ManualTopUpGetPayload<{ select: typeof adminSelect }>;
type Person = { id: string; displayName: string; email: string };

export type AdminApproval = AdminRow["approvals"][number] & { admin: Person | null };

export type AdminTopUp = Omit<AdminRow, "approvals"> & {
  member: Person | null;
  decidedBy: Person | null;
  /** Who approved so far, oldest first (two for a credited top-up above the second-approval threshold). */
  approvals: AdminApproval[];
  /** How many admins must approve before it is credited (1 or 2), for the amount approved or claimed. */
  approvalsRequired: 1 | 2;
  /** How many OTHER requests (any member, any status) carry the same normalised reference. */
  duplicates: number;
};

async function withPeopleAndDuplicates(rows: AdminRow[]): Promise<AdminTopUp[]> {
  if (rows.length === 0) return [];
  const userIds = [
    ...new Set(
      rows.flatMap((row) => [
        row.userId,
        ...(row.decidedById ? [row.decidedById] : []),
        ...row.approvals.map((approval) => approval.adminId),
      ]),
    ),
  ];
  const keys = [...new Set(rows.map((row) => row.referenceKey))];
  const [people, groups] = await Promise.all([
    prisma.user.findMany({ where: { id: { in: userIds } }, select: { id: true, displayName: true, email: true } }),
    prisma.manualTopUp.groupBy({
      by: ["referenceKey"],
      where: { referenceKey: { in: keys } },
      _count: { _all: true },
    }),
  ]);
  const byId = new Map(people.map((person) => [person.id, person]));
  const counts = new Map(groups.map((group) => [group.referenceKey, group._count._all]));
  return rows.map((row) => ({
    ...row,
    member: byId.get(row.userId) ?? null,
    decidedBy: row.decidedById ? (byId.get(row.decidedById) ?? null) : null,
    approvals: row.approvals.map((approval) => ({ ...approval, admin: byId.get(approval.adminId) ?? null })),
    approvalsRequired: approvalsRequiredFor(
      row.approvals[0]?.creditedAmount ?? row.creditedAmount ?? row.claimedAmount,
    ),
    duplicates: Math.max(0, (counts.get(row.referenceKey) ?? 1) - 1),
  }));
}

/** The queue: pending requests oldest first, then the most recently decided ones. */
export async function listQueue({ pendingLimit = 100, decidedLimit = 30 } = {}) {
  await creditApprovedTopUps();
  const [pending, pendingCount, decided] = await Promise.all([
    prisma.manualTopUp.findMany({
      where: { status: "pending" },
      select: adminSelect,
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: pendingLimit,
    }),
    prisma.manualTopUp.count({ where: { status: "pending" } }),
    prisma.manualTopUp.findMany({
      where: { status: { not: "pending" } },
      select: adminSelect,
      orderBy: [{ decidedAt: "desc" }, { id: "desc" }],
      take: decidedLimit,
    }),
  ]);
  const [pendingRows, decidedRows] = await Promise.all([
    withPeopleAndDuplicates(pending),
    withPeopleAndDuplicates(decided),
  ]);
  return { pending: pendingRows, pendingCount, decided: decidedRows };
}

export type AdminTopUpDetail = AdminTopUp & {
  /** The other requests with the same normalised reference, newest first. */
  sameReference: AdminTopUp[];
};

export async function getTopUpForAdmin(id: string): Promise<AdminTopUpDetail | null> {
  const row = await prisma.manualTopUp.findUnique({ where: { id }, select: adminSelect });
  if (!row) return null;
  if (row.status === "approved" && !row.transferId) await creditApprovedTopUp(row.id);
  const fresh = (await prisma.manualTopUp.findUnique({ where: { id }, select: adminSelect }))!;
  const others = await prisma.manualTopUp.findMany({
    where: { referenceKey: row.referenceKey, id: { not: row.id } },
    select: adminSelect,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 20,
  });
  const [detail, ...sameReference] = await withPeopleAndDuplicates([fresh, ...others]);
  return { ...detail!, sameReference };
}

/** How many admins must approve a top-up crediting `amount`: two above TOPUP_SECOND_APPROVAL_ABOVE. */
export function approvalsRequiredFor(amount: bigint): 1 | 2 {
  return amount > env.topUp.secondApprovalAbove ? 2 : 1;
}

/**
 * "1 of 2 approvals" (one admin approved, a second must), "Needs 2 approvals" (above the threshold, none
 * yet), "2 of 2 approvals" (credited by two); null when one approval is all it takes or took.
 */
export function approvalsLabel(row: {
  status: ManualTopUpStatus;
  approvals: number | unknown[];
  approvalsRequired: 1 | 2;
}) {
  const count = typeof row.approvals === "number" ? row.approvals : row.approvals.length;
  if (row.approvalsRequired === 1 && count <= 1) return null;
  if (count === 0) return row.status === "pending" ? `Needs ${row.approvalsRequired} approvals` : null;
  return `${count} of ${Math.max(count, row.approvalsRequired)} approvals`;
}

/**
 * What the queue's "done" banner says about a request just decided, and what the decision form checks
 * against: the claimed amount and, once an admin approved, the amount they approved (the second must agree).
 */
export async function getDecisionSummary(id: string) {
  const row = await prisma.manualTopUp.findUnique({
    where: { id },
    select: {
      id: true,
      status: true,
      claimedAmount: true,
      creditedAmount: true,
      transferId: true,
      approvals: { select: { creditedAmount: true }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
    },
  });
  if (!row) return null;
  const { approvals, ...rest } = row;
  const agreedAmount = approvals[0]?.creditedAmount ?? null;
  return {
    ...rest,
    agreedAmount,
    approvals: approvals.length,
    approvalsRequired: approvalsRequiredFor(agreedAmount ?? row.creditedAmount ?? row.claimedAmount),
  };
}

/** The manual top-up a receipt belongs to (for the audit trail of a staff view). */
export async function findTopUpIdByReceipt(fileId: string): Promise<string | null> {
  const row = await prisma.manualTopUp.findFirst({ where: { receiptFileId: fileId }, select: { id: true } });
  return row?.id ?? null;
}

/** Of these members, those whose account-wide support grant runs now (their receipts open for support). */
export async function membersWithSupportGrant(userIds: string[], now = new Date()): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const grants = await prisma.supportGrant.findMany({
    where: { userId: { in: userIds }, generationId: null, revokedAt: null, expiresAt: { gt: now } },
    select: { userId: true },
  });
  return new Set(grants.map((grant) => grant.userId));
}

export type ReceiptAccess = { allowed: false } | { allowed: true; grantId: string | null };

/**
 * Least privilege for top-up receipts (a picture of someone's payment): admins, who decide top-ups, may
 * open them; support only while the member's account-wide support grant runs (a grant for one generation
 * does not cover receipts); nobody else. The owner's own access is checked by the caller.
 */
export async function staffReceiptAccess(
  staff: { id: string; role: string },
  file: { purpose: string; ownerId: string | null },
  now = new Date(),
): Promise<ReceiptAccess> {
  if (file.purpose !== RECEIPT_PURPOSE || !file.ownerId) return { allowed: false };
  if (staff.role === "admin") return { allowed: true, grantId: null };
  if (staff.role !== "support") return { allowed: false };
  const grant = await prisma.supportGrant.findFirst({
    where: { userId: file.ownerId, generationId: null, revokedAt: null, expiresAt: { gt: now } },
    select: { id: true },
    orderBy: { expiresAt: "desc" },
  });
  return grant ? { allowed: true, grantId: grant.id } : { allowed: false };
}

export type DecisionFailure =
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "already_decided"; status: ManualTopUpStatus }
  /** The admin asked to approve a top-up to their own wallet (refused whatever the amount; audited). */
  | { ok: false; reason: "own_top_up" }
  /** The admin already approved this top-up; a second, different admin must approve it. */
  | { ok: false; reason: "already_approved" }
  | { ok: false; reason: "invalid"; field: "creditedAmount" | "note" | "reason"; error: string };

export type ApproveInput = {
  id: string;
  actorId: string;
  ip: string | null;
  /** Defaults to the claimed amount. */
  creditedAmount?: bigint | null;
  note?: string | null;
};

export type ApproveResult =
  | {
      ok: true;
      topUp: ManualTopUp;
      credited: boolean;
      /** Approvals recorded so far and how many are needed: 1 of 2 means it waits for a second admin. */
      approvals: number;
      approvalsRequired: 1 | 2;
    }
  | DecisionFailure;

export const MAX_NOTE_LENGTH = 500;

function cleanNote(note: string | null | undefined): string | null {
  const text = note?.trim() ?? "";
  return text === "" ? null : text;
}

export async function approveManualTopUp(input: ApproveInput): Promise<ApproveResult> {
  const row = await prisma.manualTopUp.findUnique({ where: { id: input.id } });
  if (!row) return { ok: false, reason: "not_found" };
  if (row.status !== "pending") return { ok: false, reason: "already_decided", status: row.status };
  if (row.userId === input.actorId) {
    await audit({
      actorId: input.actorId,
      action: "topup.approve_refused",
      targetType: "manual_top_up",
      targetId: row.id,
      ip: input.ip,
      after: { reason: "own_top_up", claimedAmount: decimal(row.claimedAmount), currency: env.WALLET_CURRENCY },
    });
    logger.warn("topup.manual.own_approval_refused", { topUpId: row.id, actorId: input.actorId });
    return { ok: false, reason: "own_top_up" };
  }
  const credited = input.creditedAmount ?? row.claimedAmount;
  const note = cleanNote(input.note);
  if (credited <= 0n) {
    return {
      ok: false,
      reason: "invalid",
      field: "creditedAmount",
      error: "The credited amount must be more than zero",
    };
  }
  if (credited > env.topUp.max) {
    return {
      ok: false,
      reason: "invalid",
      field: "creditedAmount",
      error: `The credited amount can be at most ${formatMoney(env.topUp.max, env.WALLET_CURRENCY)}`,
    };
  }
  if (note && note.length > MAX_NOTE_LENGTH) {
    return { ok: false, reason: "invalid", field: "note", error: `At most ${MAX_NOTE_LENGTH} characters` };
  }

  const decidedAt = new Date();
  type Step = DecisionFailure | { ok: true; approvals: number; approvalsRequired: 1 | 2 };
  const step = await prisma.$transaction(async (tx): Promise<Step> => {
    // Deciders of one request queue here: each sees the approvals and the decision of those before it.
    const [locked] = await tx.$queryRaw<{ status: ManualTopUpStatus }[]>`
      SELECT status FROM manual_top_ups WHERE id = ${row.id} FOR UPDATE`;
    if (!locked) return { ok: false, reason: "not_found" };
    if (locked.status !== "pending") return { ok: false, reason: "already_decided", status: locked.status };
    const earlier = await tx.manualTopUpApproval.findMany({
      where: { topUpId: row.id },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    if (earlier.some((approval) => approval.adminId === input.actorId))
      return { ok: false, reason: "already_approved" };
    const agreed = earlier[0]?.creditedAmount ?? null;
    if (agreed !== null && credited !== agreed) {
      return { ok: false, reason: "invalid", field: "creditedAmount", error: secondApprovalMismatch(agreed) };
    }
    // A note explains a changed amount to the member; the first approver's note covers the second.
    const memberNote = note ?? earlier.find((approval) => approval.note)?.note ?? null;
    if (credited !== row.claimedAmount && !memberNote) {
      return {
        ok: false,
        reason: "invalid",
        field: "note",
        error: "Explain why the credited amount differs from the claimed one (the member will see this note)",
      };
    }
    const approvalsRequired = approvalsRequiredFor(credited);
    await tx.manualTopUpApproval.create({
      data: { topUpId: row.id, adminId: input.actorId, creditedAmount: credited, note },
    });
    const approvals = earlier.length + 1;
    const approvedBy = [...earlier.map((approval) => approval.adminId), input.actorId];
    const before = { status: "pending", claimedAmount: decimal(row.claimedAmount), currency: env.WALLET_CURRENCY };
    if (approvals < approvalsRequired) {
      await audit(
        {
          actorId: input.actorId,
          action: "topup.approve_first",
          targetType: "manual_top_up",
          targetId: row.id,
          ip: input.ip,
          before,
          after: {
            status: "pending",
            approvals,
            approvalsRequired,
            claimedAmount: decimal(row.claimedAmount),
            creditedAmount: decimal(credited),
            currency: env.WALLET_CURRENCY,
            note,
            memberId: row.userId,
          },
        },
        tx,
      );
      return { ok: true, approvals, approvalsRequired };
    }
    await tx.manualTopUp.update({
      where: { id: row.id },
      data: {
        status: "approved",
        creditedAmount: credited,
        decisionNote: memberNote,
        decidedById: input.actorId,
        decidedAt,
      },
    });
    await audit(
      {
        actorId: input.actorId,
        action: "topup.approve",
        targetType: "manual_top_up",
        targetId: row.id,
        ip: input.ip,
        before,
        after: {
          status: "approved",
          claimedAmount: decimal(row.claimedAmount),
          creditedAmount: decimal(credited),
          currency: env.WALLET_CURRENCY,
          note: memberNote,
          memberId: row.userId,
          transferKey: transferKeyFor(row.id),
          approvedBy,
        },
      },
      tx,
    );
    return { ok: true, approvals, approvalsRequired };
  });
  if (!step.ok) return step;
  if (step.approvals < step.approvalsRequired) {
    logger.info("topup.manual.first_approval", { topUpId: row.id, actorId: input.actorId, userId: row.userId });
    const topUp = await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } });
    return { ok: true, topUp, credited: false, approvals: step.approvals, approvalsRequired: step.approvalsRequired };
  }
  logger.info("topup.manual.approved", { topUpId: row.id, actorId: input.actorId, userId: row.userId });
  const credit = await creditApprovedTopUp(row.id);
  const topUp = await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } });
  return {
    ok: true,
    topUp,
    credited: credit.credited,
    approvals: step.approvals,
    approvalsRequired: step.approvalsRequired,
  };
}

/** Why a second approval for another amount than the first one's is refused. */
export function secondApprovalMismatch(agreed: bigint): string {
  return `The first approval credits ${formatMoney(agreed, env.WALLET_CURRENCY)}. Approve that amount, or reject the request.`;
}

/**
 * Step 2 of an approval: credits the decided amount (idempotent by key) and records the transfer.
 * Whoever records the transfer first queues the member's email in the same transaction, so it is written once.
 */
export async function creditApprovedTopUp(id: string): Promise<{ credited: boolean }> {
  const row = await prisma.manualTopUp.findUnique({ where: { id }, include: { method: { select: { name: true } } } });
  if (!row || row.status !== "approved" || row.creditedAmount === null) return { credited: false };
  if (row.transferId) return { credited: true };
  try {
    await ensureWallet(row.userId);
    const { transferId } = await transfer({
      key: transferKeyFor(row.id),
      kind: TRANSFER_KIND,
      description: `Top-up by ${row.method.name}`,
      postings: [
        { accountId: PLATFORM_ACCOUNTS.manualClearing, amount: -row.creditedAmount },
        { accountId: walletAccountId(row.userId), amount: row.creditedAmount },
      ],
      // Ids only: the payment reference and sender number stay in manual_top_ups, which account deletion
      // scrubs; the append-only ledger must not keep them.
      metadata: { manualTopUpId: row.id, methodId: row.methodId },
    });
    // The balance the email shows: right after this credit (read now, the transfer has committed).
    const balance = await getWalletBalance(row.userId);
    const recorded = await prisma.$transaction(async (tx) => {
      const { count } = await tx.manualTopUp.updateMany({
        where: { id: row.id, transferId: null },
        data: { transferId },
      });
      if (count === 0) return null;
      return { notificationId: await queueDecisionEmail(tx, row, balance.available) };
    });
    if (recorded) {
      logger.info("topup.manual.credited", { topUpId: row.id, transferId, userId: row.userId });
      await nudgeNotifications([recorded.notificationId]);
      await checkLowBalance(row.userId); // re-arms the low-balance alert when the credit lifts the balance
    }
    return { credited: true };
  } catch (error) {
    logger.error("topup.manual.credit_failed", { topUpId: row.id, error });
    return { credited: false };
  }
}

/** Finishes approvals whose credit did not complete (a crash between the two steps). */
export async function creditApprovedTopUps({ userId }: { userId?: string } = {}): Promise<number> {
  const stuck = await prisma.manualTopUp.findMany({
    where: { status: "approved", transferId: null, ...(userId ? { userId } : {}) },
    select: { id: true },
    take: 50,
  });
  let done = 0;
  for (const { id } of stuck) if ((await creditApprovedTopUp(id)).credited) done += 1;
  return done;
}

export type RejectInput = { id: string; actorId: string; ip: string | null; reason: string };
export type RejectResult = { ok: true; topUp: ManualTopUp } | DecisionFailure;

export async function rejectManualTopUp(input: RejectInput): Promise<RejectResult> {
  const row = await prisma.manualTopUp.findUnique({ where: { id: input.id } });
  if (!row) return { ok: false, reason: "not_found" };
  if (row.status !== "pending") return { ok: false, reason: "already_decided", status: row.status };
  const reason = cleanNote(input.reason);
  if (!reason || reason.length < 3) {
    return { ok: false, reason: "invalid", field: "reason", error: "Tell the member why (they will see this reason)" };
  }
  if (reason.length > MAX_NOTE_LENGTH) {
    return { ok: false, reason: "invalid", field: "reason", error: `At most ${MAX_NOTE_LENGTH} characters` };
  }
  const decidedAt = new Date();
  const decided = await prisma.$transaction(async (tx) => {
    const { count } = await tx.manualTopUp.updateMany({
      where: { id: row.id, status: "pending" },
      data: { status: "rejected", decisionNote: reason, decidedById: input.actorId, decidedAt },
    });
    if (count === 0) return null;
    await audit(
      {
        actorId: input.actorId,
        action: "topup.reject",
        targetType: "manual_top_up",
        targetId: row.id,
        ip: input.ip,
        before: { status: "pending", claimedAmount: decimal(row.claimedAmount), currency: env.WALLET_CURRENCY },
        after: {
          status: "rejected",
          claimedAmount: decimal(row.claimedAmount),
          currency: env.WALLET_CURRENCY,
          reason,
          memberId: row.userId,
        },
      },
      tx,
    );
    const method = await tx.manualPaymentMethod.findUniqueOrThrow({
      where: { id: row.methodId },
      select: { name: true },
    });
    const rejected = { ...row, status: "rejected" as const, decisionNote: reason, method };
    return { notificationId: await queueDecisionEmail(tx, rejected, null) };
  });
  if (!decided) {
    const now = await prisma.manualTopUp.findUnique({ where: { id: row.id }, select: { status: true } });
    return { ok: false, reason: "already_decided", status: now?.status ?? "rejected" };
  }
  logger.info("topup.manual.rejected", { topUpId: row.id, actorId: input.actorId, userId: row.userId });
  await nudgeNotifications([decided.notificationId]);
  const topUp = await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } });
  return { ok: true, topUp };
}

type DecidedTopUp = Pick<
  ManualTopUp,
  "id" | "userId" | "status" | "reference" | "claimedAmount" | "creditedAmount" | "decisionNote" | "createdAt"
> & { method: { name: string } };

/**
 * Queues the member's email about the decision, in the transaction that records it (the credit's transfer id,
 * or the rejection), keyed by the top-up so it is written once. `available` is the balance after the credit.
 */
async function queueDecisionEmail(tx: Prisma.TransactionClient, row: DecidedTopUp, available: bigint | null) {
  const member = await tx.user.findUnique({ where: { id: row.userId }, select: { email: true, displayName: true } });
  if (!member) return null;
  const currency = env.WALLET_CURRENCY;
  const common = {
    displayName: member.displayName,
    methodName: row.method.name,
    reference: row.reference,
    claimedAmount: formatMoney(row.claimedAmount, currency),
    requestedOn: row.createdAt.toUTCString(),
    topUpsUrl: `${env.APP_URL}/wallet/top-ups`,
  };
  const recipient = { to: member.email, userId: row.userId, dedupeKey: `manual-topup-decision:${row.id}` };
  if (row.status === "approved" && row.creditedAmount !== null) {
    return queueNotification(tx, {
      ...recipient,
      kind: "manual-topup-approved",
      props: {
        ...common,
        creditedAmount: formatMoney(row.creditedAmount, currency),
        amountDiffers: row.creditedAmount !== row.claimedAmount,
        note: row.decisionNote,
        availableBalance: formatMoney(available ?? row.creditedAmount, currency),
        walletUrl: `${env.APP_URL}/wallet`,
      },
    });
  }
  return queueNotification(tx, {
    ...recipient,
    kind: "manual-topup-rejected",
    props: { ...common, reason: row.decisionNote ?? "", newRequestUrl: `${env.APP_URL}/wallet/top-up/manual` },
  });
}
