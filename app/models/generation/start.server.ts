import type { Generation, Prisma, StoredFile } from "@prisma/client";
import type { CatalogEntry } from "#app/utils/catalog";
import { prisma, stableId } from "#app/utils/db.server";
import { logger } from "#app/utils/logger.server";
import { discardFile, saveFile } from "#app/utils/storage.server";
import { getCatalogEntry } from "../catalog.server";
import { hold, LedgerError, voidHold } from "../ledger.server";
import { createGeneration, type NewGeneration, type SqlRunner } from "./lifecycle.server";
import { findByRequestId } from "./queries.server";
import { fundsRefusal, GenerationRefused, notStarted, retryRefusal } from "./refusals.server";
import { INPUT_FILE_PURPOSE } from "./settings.server";

// Starting a generation: check the request against the model, hold the most it can cost, write its row.
// The hold comes first, so a refused one leaves nothing to undo. Hold and row are keyed by the member's
// client-generated request id, and the row's id follows from it, so a double submit makes one hold and
// one row (replayed = true for the second, which gets the first one's row). A start that fails after the
// hold voids it at once and leaves no row (docs/decisions/0012).

export type Attachment = { filename: string; bytes: Uint8Array; mediaType: string };

export type Started = { row: Generation; replayed: boolean };

/**
 * The request id's generation if it exists (a replayed submit), and the catalog entry of the model asked
 * for: two independent statements, run side by side.
 */
export function lookUpRequest(userId: string, requestId: string, modelId: string) {
  return Promise.all([findByRequestId(userId, requestId), getCatalogEntry(modelId)]);
}

export function requireModel(entry: CatalogEntry | null, modality: CatalogEntry["modality"]): CatalogEntry {
  if (!entry) throw new GenerationRefused("unknown_model", "model", "Choose a model from the list.");
  if (entry.modality !== modality) {
    throw new GenerationRefused("wrong_modality", "model", `${entry.label} does not make ${modality}.`);
  }
  if (!entry.available) {
    throw new GenerationRefused(
      "unavailable",
      "model",
      `${entry.label} is unavailable. ${entry.unavailableReason ?? ""}`.trim(),
    );
  }
  return entry;
}

export function checkAttachments(entry: CatalogEntry, files: Attachment[]) {
  const { fileTypes, maxFileBytes, maxFiles } = entry.capabilities;
  if (files.length === 0) return;
  if (fileTypes.length === 0) {
    throw new GenerationRefused("file_type", "files", `${entry.label} does not accept attachments.`);
  }
  if (files.length > maxFiles) {
    throw new GenerationRefused("too_many_files", "files", `${entry.label} accepts at most ${maxFiles} files.`);
  }
  for (const file of files) {
    if (!fileTypes.includes(file.mediaType)) {
      throw new GenerationRefused(
        "file_type",
        "files",
        `${file.filename || "This file"} is not a type ${entry.label} can read.`,
      );
    }
    if (file.bytes.byteLength > maxFileBytes) {
      throw new GenerationRefused(
        "file_size",
        "files",
        `${file.filename || "This file"} is larger than ${Math.floor(maxFileBytes / 1024 / 1024)} MB.`,
      );
    }
  }
}

/** Holds the most the generation may cost; a refusal is turned into words with a way out. */
async function holdFor(data: NewGeneration, expiresAt: Date, generationId: string) {
  try {
    return await hold({
      key: `generation:${data.userId}:${data.requestId}`,
      userId: data.userId,
      amount: data.heldAmount,
      expiresAt,
      metadata: { generationId },
    });
  } catch (error) {
    if (error instanceof LedgerError && error.code === "insufficient_funds") throw fundsRefusal(data.heldAmount);
    throw error;
  }
}

/**
 * The hold, keyed by the request id, existed already: a racing double submit (its hold is pending or
 * charged and its row is there or about to be), or a start that failed and voided its hold. The latter
 * must not run the model on a released hold: the client is asked to send it again under a new id.
 * Returns the request's row once it exists, or null while the racing start is still writing it.
 */
async function replayOf(userId: string, requestId: string, holdId: string): Promise<Started | null> {
  const held = await prisma.ledgerHold.findUnique({ where: { id: holdId }, select: { status: true } });
  if (held?.status === "pending") return null;
  const row = await findByRequestId(userId, requestId);
  if (row) return { row, replayed: true };
  throw retryRefusal();
}

/** The row a racing submit wrote under the same request id. */
async function replayed(userId: string, requestId: string): Promise<Started> {
  const existing = await findByRequestId(userId, requestId);
  if (!existing) throw new Error("generation request id conflict without a row");
  return { row: existing, replayed: true };
}

/**
 * Voids a hold whose generation will not run. Never throws: when the database cannot be reached the
 * hold stays pending until its expiry, and the sweeper voids it then (app/jobs/maintenance.server.ts).
 */
export async function releaseHold(holdId: string, generationId: string) {
  try {
    await voidHold(holdId);
  } catch (error) {
    logger.error("generation.void_failed", { generationId, error });
  }
}

/**
 * Text: hold, then the row (with its conversation) in one statement on the pool, the hot path
 * (docs/decisions/0008). The caller stores the inputs and calls `undoStart` if that fails.
 */
export async function startGeneration(data: NewGeneration, holdExpiresAt: Date): Promise<Started> {
  const id = stableId("generation", data.userId, data.requestId);
  const held = await holdFor(data, holdExpiresAt, id);
  if (held.replayed) {
    const existing = await replayOf(data.userId, data.requestId, held.holdId);
    if (existing) return existing;
  }
  let row: Generation | null;
  try {
    row = await createGeneration(id, data, held.holdId);
  } catch (error) {
    logger.error("generation.start_failed", { generationId: id, model: data.modelId, error });
    await releaseHold(held.holdId, id);
    throw notStarted(null);
  }
  return row ? { row, replayed: false } : replayed(data.userId, data.requestId);
}

/**
 * Undoes a start that failed after its row was written (files could not be stored, the database went
 * away): the hold is voided and the row removed, since nothing ran. Returns the refusal for the member.
 */
export async function undoStart(row: Generation, error: unknown): Promise<GenerationRefused> {
  logger.error("generation.start_failed", { generationId: row.id, model: row.modelId, error });
  await releaseHold(row.holdId!, row.id);
  // Not a status change: the row never ran and is removed as if it had never been written.
  await prisma.generation.delete({ where: { id: row.id } }).catch(() => undefined);
  return notStarted(error instanceof StorageFailure ? "files" : null);
}

/**
 * Media: hold, then one transaction that writes the row, its input files and whatever `alongside` adds
 * in the same transaction (the job that will run it): all of them, or none and the hold voided.
 */
export async function startTogether(
  data: NewGeneration,
  holdExpiresAt: Date,
  files: Attachment[],
  alongside: (tx: Prisma.TransactionClient, row: Generation) => Promise<void>,
): Promise<Started> {
  const id = stableId("generation", data.userId, data.requestId);
  const held = await holdFor(data, holdExpiresAt, id);
  if (held.replayed) {
    const existing = await replayOf(data.userId, data.requestId, held.holdId);
    if (existing) return existing;
  }
  const written: StoredFile[] = [];
  let row: Generation | null;
  try {
    row = await prisma.$transaction(async (tx) => {
      const created = await createGeneration(id, data, held.holdId, inTransaction(tx));
      if (!created) return null;
      await storeInputs(data.userId, created.id, files, { tx, written });
      await alongside(tx, created);
      return created;
    });
  } catch (error) {
    logger.error("generation.start_failed", { generationId: id, model: data.modelId, error });
    await releaseHold(held.holdId, id);
    // The rows were rolled back; the bytes were written before them and go now.
    await Promise.all(written.map((file) => discardFile(file)));
    throw notStarted(error instanceof StorageFailure ? "files" : null);
  }
  return row ? { row, replayed: false } : replayed(data.userId, data.requestId);
}

/** Runs the lifecycle's statements on a Prisma transaction's connection. */
export function inTransaction(tx: Prisma.TransactionClient): SqlRunner {
  return (statement, values) => tx.$queryRawUnsafe(statement.text, ...values);
}

/** The member's attachments could not be stored (disk, object store or its row). */
class StorageFailure extends Error {
  constructor(cause: unknown) {
    super("input files could not be stored", { cause });
    this.name = "StorageFailure";
  }
}

export async function storeInputs(
  userId: string,
  generationId: string,
  files: Attachment[],
  options: { tx?: Prisma.TransactionClient; written?: StoredFile[] } = {},
) {
  const db = options.tx ?? prisma;
  for (const [position, file] of files.entries()) {
    try {
      const stored = await saveFile(
        {
          ownerId: userId,
          purpose: INPUT_FILE_PURPOSE,
          bytes: file.bytes,
          mediaType: file.mediaType,
          originalName: file.filename,
        },
        { tx: options.tx },
      );
      options.written?.push(stored);
      await db.generationFile.create({ data: { generationId, fileId: stored.id, role: "input", position } });
    } catch (error) {
      throw new StorageFailure(error);
    }
  }
}
