import { purgeExports } from "#app/models/data-rights.server";
import { reconcileGenerations } from "#app/models/generation.server";
import { voidExpiredHolds } from "#app/models/ledger.server";
import { purgeNotifications } from "#app/notifications/delivery.server";
import { deleteExpiredSessions } from "#app/models/session.server";
import { purgeWelcomeClaims } from "#app/models/wallet.server";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { deleteExpiredRateLimits } from "#app/utils/rate-limit.server";

/** Crash safety: a hold whose work never finished is released once it expires. */
export async function voidExpiredHoldsJob() {
  let total = 0;
  // Batches keep each transaction short; stop when a batch comes back short.
  for (;;) {
    const voided = await voidExpiredHolds(500);
    total += voided;
    if (voided < 500) return total;
  }
}

const DAY_MS = 86_400_000;

/**
 * Retention: expired credentials and counters are deleted, not kept. Contact messages go
 * CONTACT_RETENTION_DAYS after they arrived, handled or not: an answer is due long before, and a
 * message nobody handled is no reason to keep someone's words longer.
 */
export async function purgeExpiredJob(now = new Date(), contactRetentionDays = env.CONTACT_RETENTION_DAYS) {
  const dayAgo = new Date(now.getTime() - DAY_MS);
  await deleteExpiredSessions();
  await deleteExpiredRateLimits();
  const verifications = await prisma.emailVerification.deleteMany({
    where: { OR: [{ expiresAt: { lt: dayAgo } }, { consumedAt: { lt: dayAgo } }] },
  });
  const resets = await prisma.passwordReset.deleteMany({
    where: { OR: [{ expiresAt: { lt: dayAgo } }, { usedAt: { lt: dayAgo } }] },
  });
  const googleSignups = await prisma.googleSignup.deleteMany({ where: { expiresAt: { lt: now } } });
  const contactMessages = await prisma.contactMessage.deleteMany({
    where: { createdAt: { lt: new Date(now.getTime() - contactRetentionDays * DAY_MS) } },
  });
  const exports = await purgeExports(now);
  const welcomeClaims = await purgeWelcomeClaims(now);
  const notifications = await purgeNotifications(now);
  return {
    verifications: verifications.count,
    resets: resets.count,
    googleSignups: googleSignups.count,
    contactMessages: contactMessages.count,
    welcomeClaims,
    notifications,
    ...exports,
  };
}

/**
 * Generations left unfinished by a crash, brought in line with the ledger; those whose run stopped are
 * queued again (app/models/generation/reconcile.server.ts). `now` is for tests.
 */
export function reconcileGenerationsJob(now = new Date()) {
  return reconcileGenerations(now);
}
