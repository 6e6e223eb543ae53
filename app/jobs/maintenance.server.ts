import { purgeExports } from "#app/models/data-rights.server";
import { voidExpiredHolds } from "#app/models/ledger.server";
import { purgeNotifications } from "#app/notifications/delivery.server";
import { deleteExpiredSessions } from "#app/models/session.server";
import { purgeWelcomeClaims } from "#app/models/wallet.server";
import { prisma } from "#app/utils/db.server";
import { enqueueGeneration } from "./generations.server";
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
 * Generations left unfinished by a crash: once their hold is gone (expired and voided, or posted just
 * before the crash), the row is brought in line with the ledger so the member sees what really happened.
 * One whose hold is still there but whose run's lease has run out (the run stopped, and its job with it)
 * is queued again.
 */
export async function reconcileGenerationsJob() {
  const stuck = await prisma.generation.findMany({
    where: { status: { in: ["queued", "running"] }, holdId: { not: null } },
    select: { id: true, holdId: true },
    take: 500,
  });
  if (stuck.length === 0) return { failed: 0, settled: 0, requeued: 0 };
  const holds = await prisma.ledgerHold.findMany({
    where: { id: { in: stuck.map((row) => row.holdId!) }, status: { not: "pending" } },
    select: { id: true, status: true, postedAmount: true, transferId: true },
  });
  const byId = new Map(holds.map((hold) => [hold.id, hold]));
  let failed = 0;
  let settled = 0;
  for (const row of stuck) {
    const hold = byId.get(row.holdId!);
    if (!hold) continue;
    const now = new Date();
    if (hold.status === "voided") {
      failed += (
        await prisma.generation.updateMany({
          where: { id: row.id, status: { in: ["queued", "running"] } },
          data: {
            status: "failed",
            errorKind: "interrupted",
            errorMessage: "The server stopped before this finished.",
            cost: 0n,
            finishedAt: now,
          },
        })
      ).count;
    } else {
      settled += (
        await prisma.generation.updateMany({
          where: { id: row.id, status: { in: ["queued", "running"] } },
          data: { status: "succeeded", cost: hold.postedAmount ?? 0n, transferId: hold.transferId, finishedAt: now },
        })
      ).count;
    }
  }
  return { failed, settled, requeued: await requeueOrphanedGenerations() };
}

async function requeueOrphanedGenerations() {
  const orphaned = await prisma.generation.findMany({
    where: { status: { in: ["queued", "running"] }, holdId: { not: null }, leaseUntil: { lt: new Date() } },
    select: { id: true, leaseUntil: true },
    take: 500,
  });
  let requeued = 0;
  for (const row of orphaned) {
    // Clearing the lease first means a later reconcile does not queue it again.
    const cleared = await prisma.generation.updateMany({
      where: { id: row.id, leaseUntil: row.leaseUntil },
      data: { leaseUntil: null },
    });
    if (cleared.count === 0) continue;
    await enqueueGeneration(row.id);
    requeued += 1;
  }
  return requeued;
}
