import type { Generation, Prisma } from "@prisma/client";
import { isProviderError, ProviderError } from "#providers/index";
import { prisma } from "#app/utils/db.server";
import { logger } from "#app/utils/logger.server";
import { getCatalogEntry } from "../catalog.server";
import { beginRun, failGeneration, FAILURE_TEXT } from "./lifecycle.server";
import {
  isMediaModality,
  MEDIA_RUNNERS,
  mediaParams,
  type MediaInput,
  type MediaModality,
  type MediaStep,
} from "./media-runners.server";
import { enqueueGeneration, generationQueue } from "./queue.server";
import { capRefusal, notStarted } from "./refusals.server";
import { fail, isRegistryError } from "./settle.server";
import { MEDIA_HOLD_MS, timeoutMs } from "./settings.server";
import { checkAttachments, lookUpRequest, requireModel, startTogether, type Started } from "./start.server";

// Images, speech and video: checked, priced and held on submit, run step by step by the background job
// (app/jobs/generations.server.ts), each modality by its runner (media-runners.server.ts).

type Alongside = {
  /** Made ready before the hold (outside the transaction, which must stay short). */
  ready?: () => Promise<unknown>;
  /** Written in the row's transaction. */
  write: (tx: Prisma.TransactionClient, row: Generation) => Promise<void>;
};

async function createMedia(modality: MediaModality, input: MediaInput, alongside?: Alongside): Promise<Started> {
  const [existing, found] = await lookUpRequest(input.userId, input.requestId, input.modelId);
  if (existing) return { row: existing, replayed: true };
  const entry = requireModel(found, modality);
  const files = input.files ?? [];
  checkAttachments(entry, files);
  const { params, held } = MEDIA_RUNNERS[modality].prepare(entry, input, files);
  const cap = input.costCap ?? null;
  if (cap !== null && held > cap) throw capRefusal(held, cap);
  await alongside?.ready?.().catch((error: unknown) => {
    logger.error("generation.start_failed", { model: entry.id, error });
    throw notStarted(null);
  });
  return startTogether(
    {
      userId: input.userId,
      requestId: input.requestId,
      modelId: entry.id,
      modelLabel: entry.label,
      modality,
      status: "queued",
      prompt: input.prompt,
      params,
      costCap: cap,
      heldAmount: held,
    },
    new Date(Date.now() + MEDIA_HOLD_MS),
    files,
    alongside?.write ?? (async () => undefined),
  );
}

/**
 * Submits a media generation: checks and holds it, then writes its row, its input files and its job in one
 * transaction, so a generation is queued exactly when it exists (docs/decisions/0021). A job queue that
 * cannot start refuses it before the hold; a failure after the hold (the job or the files cannot be
 * written) voids it and leaves nothing behind. Both are a "not_started" refusal (503). A replayed request
 * id gets its generation back, queued once.
 */
export function submitMedia(modality: MediaModality, input: MediaInput): Promise<Started> {
  return createMedia(modality, input, {
    // Started (and its queue created) outside the transaction: the first start installs pg-boss's schema.
    ready: generationQueue,
    write: (tx, row) => enqueueGeneration(row.id, 0, tx),
  });
}

/**
 * Checks, holds and writes a media generation without queueing it: for a caller that runs it itself with
 * `runMedia` (scripts and tests). The pages submit with `submitMedia`.
 */
export function prepareMedia(modality: MediaModality, input: MediaInput): Promise<Started> {
  return createMedia(modality, input);
}

// How long one run may hold a generation: longer than pg-boss lets its job stay active (the timeout plus
// 60 s, queue.server.ts), so a slow run is never overlapped by its own retry. A run that crashed keeps the
// lease until then; the reconcile job re-queues its generation once it has passed.
export const generationLeaseMs = () => timeoutMs() + 120_000;

/**
 * Runs (or continues) one media generation. Safe to call again after a crash: a finished row is left
 * alone, a video that already started upstream is polled rather than started twice. Two jobs for the
 * same generation never run it at once: each run first takes the row's lease, and a run that finds it
 * taken does nothing (the holder finishes or schedules the next step).
 */
export async function runMedia(generationId: string, signal?: AbortSignal): Promise<MediaStep> {
  const now = new Date();
  const leaseUntil = new Date(now.getTime() + generationLeaseMs());
  const [claimed] = await prisma.generation.updateManyAndReturn({
    where: {
      id: generationId,
      // A text generation belongs to its stream, never to a job.
      modality: { not: "text" },
      status: { in: ["queued", "running"] },
      holdId: { not: null },
      OR: [{ leaseUntil: null }, { leaseUntil: { lt: now } }],
    },
    data: { leaseUntil },
  });
  if (!claimed) return { next: "done" };
  try {
    return await runClaimed(claimed, signal);
  } finally {
    // A failed release must not replace the run's result (a video's next poll); the lease then simply
    // runs out, and the reconcile job re-queues the generation.
    await prisma.generation
      .updateMany({ where: { id: generationId, leaseUntil }, data: { leaseUntil: null } })
      .catch((error: unknown) => logger.warn("generation.lease_release_failed", { generationId, error }));
  }
}

async function runClaimed(claimed: Generation, signal?: AbortSignal): Promise<MediaStep> {
  let row = claimed;
  const { modality } = row;
  if (!isMediaModality(modality)) return { next: "done" };
  const heldNow = await prisma.ledgerHold.findUnique({ where: { id: row.holdId! }, select: { status: true } });
  // Charged by a run that stopped before it updated the row: the reconcile job records the charge.
  if (heldNow?.status === "posted") return { next: "done" };
  if (heldNow?.status !== "pending") {
    // The hold expired (the worker was down for a day): nothing can be charged, so nothing is run.
    await failGeneration(row.id, { status: "failed", errorKind: "expired", errorMessage: FAILURE_TEXT.expired });
    return { next: "done" };
  }
  if (row.status === "queued") row = await beginRun(row.id);
  const entry = await getCatalogEntry(row.modelId);
  if (!entry) {
    await fail(row, new ProviderError("invalid_request", row.modelId.split(":")[0] ?? "unknown"));
    return { next: "done" };
  }
  const runner = MEDIA_RUNNERS[modality];
  try {
    return await runner.run(row, entry, mediaParams(row), { signal, timeoutMs: timeoutMs() });
  } catch (error) {
    // Our own faults (database, disk) are thrown so the job is retried; the hold stays until then.
    if (!isProviderError(error) && !isRegistryError(error)) throw error;
    await fail(row, error);
    return { next: "done" };
  }
}
