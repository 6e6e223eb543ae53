import type { Prisma, VerificationPurpose } from "@prisma/client";
import { encodeBase32LowerCaseNoPadding } from "@oslojs/encoding";
import { timingSafeEqual } from "node:crypto";
import { hashToken } from "#app/models/session.server";
import { prisma } from "#app/utils/db.server";

// Proof that someone reads a mailbox: an 8-digit code (typed) and a link (clicked), both single use,
// 15 minutes, at most 5 wrong codes. Only hashes are stored.
export const VERIFICATION_MINUTES = 15;
export const MAX_CODE_ATTEMPTS = 5;
export const RESEND_COOLDOWN_SECONDS = 60;

function randomCode(): string {
  const values = new Uint32Array(1);
  // Rejection sampling keeps every 8-digit code equally likely.
  do crypto.getRandomValues(values);
  while ((values[0] ?? 0) >= 4_200_000_000);
  return String((values[0] ?? 0) % 100_000_000).padStart(8, "0");
}

function randomLinkToken(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

function codeHash(verificationId: string, code: string) {
  return hashToken(`${verificationId}:${code}`);
}

function sameHash(a: string, b: string) {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Starts a new proof for (user, purpose); any earlier pending one stops working. An email change also
 * gets a cancel token, for the "not you?" link sent to the old address: a separate secret, so the link
 * that can only cancel never confirms.
 */
export async function createVerification(userId: string, purpose: VerificationPurpose, email: string) {
  const id = crypto.randomUUID();
  const code = randomCode();
  const linkToken = randomLinkToken();
  const cancelToken = purpose === "email_change" ? randomLinkToken() : null;
  await prisma.$transaction([
    prisma.emailVerification.updateMany({
      where: { userId, purpose, consumedAt: null },
      data: { consumedAt: new Date() },
    }),
    prisma.emailVerification.create({
      data: {
        id,
        userId,
        purpose,
        email,
        codeHash: codeHash(id, code),
        linkTokenHash: hashToken(linkToken),
        cancelTokenHash: cancelToken ? hashToken(cancelToken) : null,
        expiresAt: new Date(Date.now() + VERIFICATION_MINUTES * 60_000),
      },
    }),
  ]);
  return { code, linkToken, cancelToken };
}

/**
 * Ends every pending email change and password reset of a member: whoever started them may be the
 * person the member is locking out (password change, reset, sign-out everywhere). Runs in the caller's
 * transaction.
 */
export async function cancelPendingAccountChanges(tx: Prisma.TransactionClient, userId: string) {
  const now = new Date();
  const emailChanges = await tx.emailVerification.updateMany({
    where: { userId, purpose: "email_change", consumedAt: null },
    data: { consumedAt: now },
  });
  const resets = await tx.passwordReset.updateMany({ where: { userId, usedAt: null }, data: { usedAt: now } });
  return { emailChanges: emailChanges.count, resets: resets.count };
}

/** Seconds until another code may be sent (0 when allowed). */
export async function resendCooldown(userId: string, purpose: VerificationPurpose) {
  const latest = await prisma.emailVerification.findFirst({
    where: { userId, purpose },
    orderBy: { createdAt: "desc" },
    select: { createdAt: true },
  });
  if (!latest) return 0;
  const elapsed = (Date.now() - latest.createdAt.getTime()) / 1000;
  return Math.max(0, Math.ceil(RESEND_COOLDOWN_SECONDS - elapsed));
}

export type VerificationResult =
  | { ok: true; userId: string; purpose: VerificationPurpose; email: string }
  | { ok: false; reason: "invalid" | "expired" | "too_many_attempts" };

/**
 * Checks a typed code for the pending proof of `email` (and purpose). Wrong codes count against
 * the proof; the fifth wrong one ends it. An address with no pending proof gets the same "invalid".
 * With `userId`, only that member's proof counts (two members may be moving to the same address).
 */
export async function verifyCode(
  email: string,
  purpose: VerificationPurpose,
  code: string,
  userId: string | null = null,
): Promise<VerificationResult> {
  return prisma.$transaction(async (tx) => {
    const [pending] = await tx.$queryRaw<
      { id: string; user_id: string; code_hash: string; attempts: number; expires_at: Date }[]
    >`SELECT id, user_id, code_hash, attempts, expires_at FROM email_verifications
      WHERE email = ${email} AND purpose = ${purpose}::"VerificationPurpose" AND consumed_at IS NULL
        AND (${userId}::text IS NULL OR user_id = ${userId}::text)
      ORDER BY created_at DESC LIMIT 1 FOR UPDATE`;
    if (!pending) return { ok: false, reason: "invalid" } as const;
    if (pending.expires_at.getTime() <= Date.now()) return { ok: false, reason: "expired" } as const;
    if (pending.attempts >= MAX_CODE_ATTEMPTS) return { ok: false, reason: "too_many_attempts" } as const;
    if (!sameHash(codeHash(pending.id, code), pending.code_hash)) {
      const attempts = pending.attempts + 1;
      await tx.emailVerification.update({
        where: { id: pending.id },
        data: { attempts, ...(attempts >= MAX_CODE_ATTEMPTS ? { consumedAt: new Date() } : {}) },
      });
      return { ok: false, reason: attempts >= MAX_CODE_ATTEMPTS ? "too_many_attempts" : "invalid" } as const;
    }
    await tx.emailVerification.update({ where: { id: pending.id }, data: { consumedAt: new Date() } });
    return { ok: true, userId: pending.user_id, purpose, email } as const;
  });
}

export type LinkProof = {
  userId: string;
  purpose: VerificationPurpose;
  email: string;
  state: "pending" | "expired" | "used";
};

/** What an emailed link is for, without using it: a GET of the link must change nothing. */
export async function findLinkProof(token: string): Promise<LinkProof | null> {
  const row = await prisma.emailVerification.findUnique({
    where: { linkTokenHash: hashToken(token) },
    select: { userId: true, purpose: true, email: true, consumedAt: true, expiresAt: true },
  });
  if (!row) return null;
  const state = row.consumedAt ? "used" : row.expiresAt <= new Date() ? "expired" : "pending";
  return { userId: row.userId, purpose: row.purpose, email: row.email, state };
}

/**
 * Consumes the proof behind an emailed link, if it is for `expected.purpose`. With `expected.userId`, the
 * proof must be that member's: a link opened in somebody else's session is refused and stays usable.
 */
export async function verifyLinkToken(
  token: string,
  expected: { purpose: VerificationPurpose; userId?: string },
): Promise<VerificationResult | { ok: false; reason: "wrong_account" }> {
  const tokenHash = hashToken(token);
  const now = new Date();
  const row = await prisma.emailVerification.findUnique({ where: { linkTokenHash: tokenHash } });
  if (!row || row.consumedAt || row.purpose !== expected.purpose) return { ok: false, reason: "invalid" };
  if (row.expiresAt <= now) return { ok: false, reason: "expired" };
  if (expected.userId !== undefined && row.userId !== expected.userId) return { ok: false, reason: "wrong_account" };
  // The update only wins once: a second click (or a racing code entry) finds consumedAt set.
  const { count } = await prisma.emailVerification.updateMany({
    where: { id: row.id, consumedAt: null },
    data: { consumedAt: now },
  });
  if (count !== 1) return { ok: false, reason: "invalid" };
  return { ok: true, userId: row.userId, purpose: row.purpose, email: row.email };
}

export type CancelProof = { userId: string; email: string; state: "pending" | "expired" | "used" };

/** What a "not you? cancel" link points at, without using it. */
export async function findCancelProof(token: string): Promise<CancelProof | null> {
  const row = await prisma.emailVerification.findUnique({
    where: { cancelTokenHash: hashToken(token) },
    select: { userId: true, email: true, consumedAt: true, expiresAt: true },
  });
  if (!row) return null;
  const state = row.consumedAt ? "used" : row.expiresAt <= new Date() ? "expired" : "pending";
  return { userId: row.userId, email: row.email, state };
}

/** Ends the email change behind a cancel link; true only for the request that actually cancelled it. */
export async function consumeCancelToken(tx: Prisma.TransactionClient, token: string) {
  const { count } = await tx.emailVerification.updateMany({
    where: {
      cancelTokenHash: hashToken(token),
      purpose: "email_change",
      consumedAt: null,
      expiresAt: { gt: new Date() },
    },
    data: { consumedAt: new Date() },
  });
  return count === 1;
}

export function verificationErrorMessage(reason: "invalid" | "expired" | "too_many_attempts" | "wrong_account") {
  switch (reason) {
    case "expired":
      return "That code has expired. Send a new one below.";
    case "too_many_attempts":
      return "Too many wrong codes. Send a new code and try again.";
    case "wrong_account":
      return "This link belongs to another account. Sign out, then sign in to the account that asked for it.";
    default:
      return "That code is not right, or it was already used. Check the latest email and try again.";
  }
}
