import type { Generation } from "@prisma/client";
import { prisma } from "#app/utils/db.server";
import { logger } from "#app/utils/logger.server";
import {
  failGeneration,
  FAILURE_TEXT,
  IllegalTransition,
  IN_FLIGHT_STATUSES,
  recordLostSettlement,
} from "./lifecycle.server";
import { enqueueGeneration } from "./queue.server";

// Generations left unfinished by a crash, brought in line with the ledger (run by the
// generations-reconcile job, app/jobs/maintenance.server.ts).

const BATCH = 500;

type Stuck = Pick<Generation, "id" | "holdId" | "modality" | "leaseUntil">;
type ResolvedHold = {
  id: string;
  status: "posted" | "voided" | "pending";
  postedAmount: bigint | null;
  transferId: string | null;
  expiresAt: Date;
  transfer: { metadata: unknown } | null;
};

/**
 * A generation still queued or running whose hold is gone (expired and voided, or posted just before a
 * crash) is given the status the ledger says it earned, once nothing can still be recording it: a media
 * run holds its lease, a text stream may record its outcome until its hold would have expired.
 * One whose hold is still there but whose run's lease has run out (the run stopped, and its job with it)
 * is queued again.
 */
export async function reconcileGenerations(now = new Date()) {
  const stuck = await prisma.generation.findMany({
    where: { status: { in: [...IN_FLIGHT_STATUSES] }, holdId: { not: null } },
    select: { id: true, holdId: true, modality: true, leaseUntil: true },
    take: BATCH,
  });
  let failed = 0;
  let settled = 0;
  if (stuck.length > 0) {
    const holds = await prisma.ledgerHold.findMany({
      where: { id: { in: stuck.map((row) => row.holdId!) }, status: { not: "pending" } },
      select: {
        id: true,
        status: true,
        postedAmount: true,
        transferId: true,
        expiresAt: true,
        transfer: { select: { metadata: true } },
      },
    });
    const byId = new Map(holds.map((hold) => [hold.id, hold]));
    for (const row of stuck) {
      const hold = byId.get(row.holdId!);
      if (!hold || stillRecording(row, hold, now)) continue;
      try {
        if (hold.status === "voided") {
          await failGeneration(row.id, {
            status: "failed",
            errorKind: "interrupted",
            errorMessage: FAILURE_TEXT.interrupted,
          });
          failed += 1;
        } else {
          await recordLostSettlement(row.id, lostSettlement(row, hold));
          settled += 1;
        }
      } catch (error) {
        // Finished meanwhile by its own run: nothing to bring in line.
        if (!(error instanceof IllegalTransition)) throw error;
        logger.info("generation.reconcile_skipped", { generationId: row.id, from: error.from, to: error.to });
      }
    }
  }
  return { failed, settled, requeued: await requeueOrphanedGenerations(now) };
}

function stillRecording(row: Stuck, hold: ResolvedHold, now: Date) {
  if (row.leaseUntil && row.leaseUntil > now) return true;
  return row.modality === "text" && hold.expiresAt > now;
}

/**
 * What a posted hold says about a generation whose row missed its settlement. Media posts only after its
 * files are stored: a success. Text's answer lived in the lost process: the charge's own record of the
 * outcome says whether it was whole or partial; a charge that does not say (posted before settlements
 * named their outcome) is called partial, since a whole answer cannot be vouched for (docs/decisions/0021).
 */
function lostSettlement(row: Stuck, hold: ResolvedHold) {
  const charge = { cost: hold.postedAmount ?? 0n, transferId: hold.transferId };
  if (row.modality !== "text") return { ...charge, status: "succeeded" as const };
  const recorded = (hold.transfer?.metadata as { status?: unknown } | null)?.status;
  return {
    ...charge,
    status: recorded === "succeeded" ? ("succeeded" as const) : ("partial" as const),
    errorKind: "unsaved",
    errorMessage: FAILURE_TEXT.unsaved,
  };
}

async function requeueOrphanedGenerations(now: Date) {
  const orphaned = await prisma.generation.findMany({
    where: { status: { in: [...IN_FLIGHT_STATUSES] }, holdId: { not: null }, leaseUntil: { lt: now } },
    select: { id: true, leaseUntil: true },
    take: BATCH,
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
