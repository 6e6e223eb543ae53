import { voidExpiredHolds } from "#app/models/ledger.server";
import { deleteExpiredSessions } from "#app/models/session.server";
import { prisma } from "#app/utils/db.server";
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

/** Retention: expired credentials and counters are deleted, not kept. */
export async function purgeExpiredJob(now = new Date()) {
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
  return { verifications: verifications.count, resets: resets.count, googleSignups: googleSignups.count };
}
