import { Prisma, type Generation } from "@prisma/client";
import {
  InvalidModelIdError,
  isProviderError,
  NoSuchModelError,
  NoSuchProviderError,
  ProviderError,
  ProviderNotConfiguredError,
  type FilePart,
  type Message,
  type Usage,
} from "#providers/index";
import type { CatalogEntry } from "#app/utils/catalog";
import { camelRow, columnsOf, isDatabaseUnavailable, newId, prisma, sql, stableId } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { formatMoney } from "#app/utils/money";
import {
  deliveredUsage,
  estimateImages,
  estimateInputTokens,
  estimateSpeech,
  estimateText,
  estimateVideo,
  priceOf,
  type Delivery,
  type Price,
} from "#app/utils/pricing";
import { getRegistry } from "#app/utils/providers.server";
import { readAllBytes, saveFile } from "#app/utils/storage.server";
import { getCatalogEntry } from "./catalog.server";
import { hold, LedgerError, postHold, voidHold } from "./ledger.server";
import { checkLowBalance, GENERATION_KIND } from "./wallet.server";

// A generation from request to settled charge. The money follows the two-phase pattern: hold the most
// the request can cost before anything is sent upstream, then post what the provider's usage says it
// cost (never more than the hold) or void the hold when the work failed. Every step is keyed by the
// member's client-generated request id, so a double submit is one generation and one charge.
// Prompts, outputs and files are never logged: only ids, model, status, amounts and timings.

export const INPUT_FILE_PURPOSE = "generation-input";
export const OUTPUT_FILE_PURPOSE = "generation-output";

export type RefusalCode =
  | "unknown_model"
  | "unavailable"
  | "wrong_modality"
  | "insufficient_funds"
  | "over_cap"
  | "file_type"
  | "file_size"
  | "too_many_files"
  | "too_long"
  | "not_found"
  /** Something on our side failed after the hold and before the model was called; the hold was voided. */
  | "not_started"
  /** The request id belongs to a start that failed: the client must send the request with a new id. */
  | "retry";

/**
 * A request refused before the model was called: nothing is held (a hold taken for it was voided).
 * `field` names the form field at fault.
 */
export class GenerationRefused extends Error {
  constructor(
    readonly code: RefusalCode,
    readonly field: string | null,
    message: string,
  ) {
    super(message);
    this.name = "GenerationRefused";
  }
}

export type Attachment = { filename: string; bytes: Uint8Array; mediaType: string };

const HOLD_GRACE_MS = 2 * 60_000;
const timeoutMs = () => env.GENERATION_TIMEOUT_SECONDS * 1000;

const money = (amount: bigint) => formatMoney(amount, env.WALLET_CURRENCY);

/**
 * The request id's generation if it exists (a replayed submit), and the catalog entry of the model asked
 * for: two independent statements, run side by side.
 */
function lookUpRequest(userId: string, requestId: string, modelId: string) {
  return Promise.all([findByRequestId(userId, requestId), getCatalogEntry(modelId)]);
}

function requireModel(entry: CatalogEntry | null, modality: CatalogEntry["modality"]): CatalogEntry {
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

function checkAttachments(entry: CatalogEntry, files: Attachment[]) {
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

/** The HTTP status of each refusal, for the streaming endpoint and the plain form alike. */
const REFUSAL_STATUS: Record<RefusalCode, number> = {
  unknown_model: 404,
  not_found: 404,
  unavailable: 400,
  wrong_modality: 400,
  over_cap: 400,
  too_many_files: 400,
  too_long: 400,
  insufficient_funds: 402,
  retry: 409,
  file_size: 413,
  file_type: 415,
  not_started: 503,
};

export function refusalStatus(code: RefusalCode): number {
  return REFUSAL_STATUS[code];
}

/** A start that failed on our side after the hold: the hold is voided, and the member is told so. */
function notStarted(field: string | null) {
  return new GenerationRefused(
    "not_started",
    field,
    field === "files"
      ? "Your files could not be stored just now. You were not charged. Please try again in a moment."
      : "This request could not be started just now. You were not charged. Please try again in a moment.",
  );
}

/** Holds `amount` for a generation; a refusal is turned into words with a way out. */
async function holdFor(userId: string, requestId: string, amount: bigint, expiresAt: Date, generationId: string) {
  try {
    const { holdId, replayed } = await hold({
      key: `generation:${userId}:${requestId}`,
      userId,
      amount,
      expiresAt,
      metadata: { generationId },
    });
    return { holdId, replayed };
  } catch (error) {
    if (error instanceof LedgerError && error.code === "insufficient_funds") {
      throw new GenerationRefused(
        "insufficient_funds",
        null,
        `This request may cost up to ${money(amount)}, more than your available balance. Top up your wallet to continue.`,
      );
    }
    throw error;
  }
}

function capRefusal(maxCost: bigint, cap: bigint) {
  return new GenerationRefused(
    "over_cap",
    "costCap",
    `This request may cost up to ${money(maxCost)}, above your limit of ${money(cap)}. Raise the limit or ask for less.`,
  );
}

// ---------------------------------------------------------------------------------------------
// Finding the member's own generations (ownership is always in the where).

export function findGeneration(userId: string, id: string) {
  return prisma.generation.findFirst({ where: { id, userId } });
}

// Starting and settling a generation runs on every request, so those statements go straight to the
// pool as prepared statements (`sql`) rather than through Prisma (docs/benchmarks.md, bench:gateway).
// The rest of this module uses Prisma.

const GENERATION_COLUMNS = columnsOf(Prisma.GenerationScalarFieldEnum);

const BY_REQUEST_ID = {
  name: "generation_by_request_id",
  text: `SELECT ${GENERATION_COLUMNS} FROM generations WHERE user_id = $1 AND request_id = $2`,
};

async function findByRequestId(userId: string, requestId: string): Promise<Generation | null> {
  const [row] = await sql(BY_REQUEST_ID, [userId, requestId]);
  return row ? camelRow<Generation>(row) : null;
}

type NewGeneration = {
  userId: string;
  requestId: string;
  conversationId?: string | null;
  regeneratesId?: string | null;
  compareGroup?: string | null;
  modelId: string;
  modelLabel: string;
  modality: Generation["modality"];
  status: "queued" | "running";
  prompt: string;
  params: Record<string, unknown>;
  costCap: bigint | null;
  heldAmount: bigint;
  startedAt?: Date | null;
  /** Starts a new conversation (with this title) whose id is conversationId, if the row is created. */
  newConversationTitle?: string | null;
};

// One statement: the generation, with its hold, and, when it is the first turn, its conversation (created
// only if the generation is, so a replayed request id leaves no empty chat behind; the foreign key is
// checked at the end of the statement, when both rows exist). No conflict target: the id follows from the
// request id, so both unique indexes must be arbiters. With `ON CONFLICT (user_id, request_id)`, two
// submits racing past the pre-check collide on the primary key and one fails instead of replaying.
const INSERT_GENERATION = {
  name: "generation_insert",
  text: `WITH generation AS (
      INSERT INTO generations (id, user_id, request_id, conversation_id, regenerates_id, compare_group, model_id,
        model_label, modality, status, prompt, params, cost_cap, held_amount, started_at, hold_id)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::"Modality", $10::"GenerationStatus", $11, $12::jsonb, $13::bigint,
        $14::bigint, $15::timestamptz, $17)
      ON CONFLICT DO NOTHING
      RETURNING ${GENERATION_COLUMNS}
    ), conversation AS (
      INSERT INTO conversations (id, user_id, title, updated_at)
      SELECT $4, $2, $16::text, now() FROM generation WHERE $16::text IS NOT NULL
    )
    SELECT * FROM generation`,
};

/**
 * Holds the most the generation may cost, then creates its row with the hold attached: two statements.
 * The hold comes first, so a refused one leaves nothing to undo. Both are keyed by the request id, and
 * the row's id follows from it, so a double submit makes one hold and one row (replayed = true for the
 * second, which gets the first one's row). A row that cannot be written voids the hold at once.
 */
async function startGeneration(
  data: NewGeneration,
  holdExpiresAt: Date,
): Promise<{ row: Generation; replayed: boolean }> {
  const id = stableId("generation", data.userId, data.requestId);
  const held = await holdFor(data.userId, data.requestId, data.heldAmount, holdExpiresAt, id);
  if (held.replayed) {
    // The request id's hold exists already: a racing double submit (its hold is pending or charged and its
    // row is there or about to be), or a start that failed and voided its hold. The latter must not run
    // the model on a released hold: the client is asked to send the request again under a new id.
    const existing = await replayOf(data.userId, data.requestId, held.holdId);
    if (existing) return existing;
  }
  let row: Record<string, unknown> | undefined;
  try {
    [row] = await sql(INSERT_GENERATION, [
      id,
      data.userId,
      data.requestId,
      data.conversationId ?? null,
      data.regeneratesId ?? null,
      data.compareGroup ?? null,
      data.modelId,
      data.modelLabel,
      data.modality,
      data.status,
      data.prompt,
      JSON.stringify(data.params),
      data.costCap?.toString() ?? null,
      data.heldAmount.toString(),
      data.startedAt ?? null,
      data.newConversationTitle ?? null,
      held.holdId,
    ]);
  } catch (error) {
    logger.error("generation.start_failed", { generationId: id, model: data.modelId, error });
    await releaseHold(held.holdId, id);
    throw notStarted(null);
  }
  if (row) return { row: camelRow<Generation>(row), replayed: false };
  const existing = await findByRequestId(data.userId, data.requestId);
  if (!existing) throw new Error("generation request id conflict without a row");
  return { row: existing, replayed: true };
}

/** For a replayed hold: the request's row once it exists, or a refusal when the hold was released unused. */
async function replayOf(userId: string, requestId: string, holdId: string) {
  const hold = await prisma.ledgerHold.findUnique({ where: { id: holdId }, select: { status: true } });
  if (hold?.status === "pending") return null;
  const row = await findByRequestId(userId, requestId);
  if (row) return { row, replayed: true };
  throw new GenerationRefused("retry", null, "This request could not be started. Please send it again.");
}

/**
 * Voids a hold whose generation will not run. Never throws: when the database cannot be reached the
 * hold stays pending until its expiry, and the sweeper voids it then (app/jobs/maintenance.server.ts).
 */
async function releaseHold(holdId: string, generationId: string) {
  try {
    await voidHold(holdId);
  } catch (error) {
    logger.error("generation.void_failed", { generationId, error });
  }
}

/**
 * Undoes a start that failed after its row was written (files could not be stored, the database went
 * away): the hold is voided and the row removed, since nothing ran. Returns the refusal for the member.
 */
async function undoStart(row: Generation, error: unknown): Promise<GenerationRefused> {
  logger.error("generation.start_failed", { generationId: row.id, model: row.modelId, error });
  await releaseHold(row.holdId!, row.id);
  await prisma.generation.delete({ where: { id: row.id } }).catch(() => undefined);
  return notStarted(error instanceof StorageFailure ? "files" : null);
}

/** The member's attachments could not be stored (disk, object store or its row). */
class StorageFailure extends Error {
  constructor(cause: unknown) {
    super("input files could not be stored", { cause });
    this.name = "StorageFailure";
  }
}

async function storeInputs(userId: string, generationId: string, files: Attachment[]) {
  for (const [position, file] of files.entries()) {
    try {
      const stored = await saveFile({
        ownerId: userId,
        purpose: INPUT_FILE_PURPOSE,
        bytes: file.bytes,
        mediaType: file.mediaType,
        originalName: file.filename,
      });
      await prisma.generationFile.create({ data: { generationId, fileId: stored.id, role: "input", position } });
    } catch (error) {
      throw new StorageFailure(error);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Settling

type Settlement = {
  /** "partial": ended early after output reached the member (docs/decisions/0012). */
  status: "succeeded" | "cancelled" | "partial";
  usage: Usage;
  /** Part of `usage` is our upper bound: the provider did not report it all. */
  usageEstimated?: boolean;
  outputText?: string;
  finishReason?: string;
  firstOutputAt?: Date;
  /** Why a partial generation ended early. */
  errorKind?: string;
  errorMessage?: string;
};

const SETTLE = {
  name: "generation_settle",
  text: `UPDATE generations SET status = $2::"GenerationStatus", usage = $3::jsonb, output_text = $4, finish_reason = $5,
      cost = $6::bigint, uncapped_cost = $7::bigint, provider_cost = $8::bigint, transfer_id = $9, progress = 100,
      first_output_at = coalesce($10::timestamptz, first_output_at), usage_estimated = $11, error_kind = $12,
      error_message = $13, finished_at = now()
    WHERE id = $1
    RETURNING ${GENERATION_COLUMNS}`,
};

async function settle(row: Generation, price: Price, outcome: Settlement, image?: { size?: string; quality?: string }) {
  const full = priceOf(price, outcome.usage, image);
  const charged = full > row.heldAmount ? row.heldAmount : full;
  // What the vendor bills us for the same usage: the price without our markup (admin revenue figures).
  const providerCost = priceOf({ ...price, markupBps: 0 }, outcome.usage, image);
  const { transferId } = await postHold({
    holdId: row.holdId!,
    amount: charged,
    kind: GENERATION_KIND,
    description: `Generation · ${row.modelId}`,
    metadata: { model: row.modelId, generationId: row.id },
  });
  const [settledRow] = await sql(SETTLE, [
    row.id,
    outcome.status,
    JSON.stringify(outcome.usage),
    outcome.outputText ?? null,
    outcome.finishReason ?? null,
    charged.toString(),
    full > charged ? full.toString() : null,
    providerCost.toString(),
    transferId,
    outcome.firstOutputAt ?? null,
    outcome.usageEstimated ?? false,
    outcome.errorKind ?? null,
    outcome.errorMessage ?? null,
  ]);
  const updated = camelRow<Generation>(settledRow!);
  logger.info("generation.settled", {
    generationId: row.id,
    model: row.modelId,
    status: outcome.status,
    kind: outcome.errorKind,
    cost: charged.toString(),
    held: row.heldAmount.toString(),
    estimated: outcome.usageEstimated ?? false,
    ms: updated.finishedAt!.getTime() - (row.startedAt ?? row.createdAt).getTime(),
  });
  if (charged > 0n) {
    // Not awaited: the member's answer (the "done" event) must not wait for the alert check.
    void checkLowBalance(row.userId).catch((error: unknown) => logger.error("low_balance.check_failed", { error }));
  }
  return updated;
}

function isRegistryError(error: unknown): boolean {
  return (
    error instanceof NoSuchModelError ||
    error instanceof NoSuchProviderError ||
    error instanceof ProviderNotConfiguredError ||
    error instanceof InvalidModelIdError
  );
}

/** A failure as the member may read it: a provider's own typed error, or a fixed sentence for ours. */
function describeFailure(row: Generation, error: unknown) {
  const providerError = isProviderError(error)
    ? error
    : isRegistryError(error)
      ? new ProviderError("invalid_request", row.modelId.split(":")[0]!, {
          detail: "model no longer available",
          userMessage: "This model is no longer available on this server.",
        })
      : null;
  if (!providerError) logger.error("generation.error", { generationId: row.id, model: row.modelId, error });
  return {
    kind: providerError?.kind ?? "internal",
    message: providerError?.userMessage ?? "Something went wrong on our side while running this request.",
    status: providerError?.status,
    code: providerError?.code,
  };
}

/** Releases the hold and records why: the member pays nothing (nothing reached them). */
async function fail(row: Generation, error: unknown) {
  if (row.holdId) await voidHold(row.holdId);
  const failure = describeFailure(row, error);
  const updated = await prisma.generation.update({
    where: { id: row.id },
    data: {
      status: failure.kind === "aborted" ? "cancelled" : "failed",
      errorKind: failure.kind,
      errorMessage: failure.message,
      cost: 0n,
      finishedAt: new Date(),
    },
  });
  logger.info("generation.failed", {
    generationId: row.id,
    model: row.modelId,
    kind: failure.kind,
    status: failure.status,
    code: failure.code,
  });
  return updated;
}

// ---------------------------------------------------------------------------------------------
// Text (streamed)

export type TextInput = {
  userId: string;
  requestId: string;
  modelId: string;
  prompt: string;
  files: Attachment[];
  maxOutputTokens?: number;
  temperature?: number;
  costCap?: bigint | null;
  /** Continue this conversation (must be the member's). */
  conversationId?: string | null;
  /** Answer this turn again (must be the last turn of its conversation). */
  regeneratesId?: string | null;
  compareGroup?: string | null;
};

export type TextEvent =
  | {
      type: "start";
      generationId: string;
      conversationId: string | null;
      held: bigint;
      maxOutputTokens: number;
      model: string;
    }
  | { type: "delta"; text: string }
  | {
      type: "done";
      generationId: string;
      status: Generation["status"];
      cost: bigint;
      text: string;
      message: string | null;
    };

export type PreparedText =
  | { replayed: true; row: Generation }
  | {
      replayed: false;
      row: Generation;
      entry: CatalogEntry;
      messages: Message[];
      maxOutputTokens: number;
      temperature?: number;
      /** Our upper bound on the input tokens (the hold's), billed only when the provider reports none. */
      inputTokenBound: number;
    };

type Turn = { id: string; prompt: string; outputText: string | null; files: FilePart[] };

/**
 * The visible turns of a conversation: answered generations (whole, partial or stopped) not replaced by
 * a regenerated answer. A partial answer reached the member and was charged, so the model sees it too.
 */
async function conversationTurns(userId: string, conversationId: string): Promise<Turn[]> {
  const rows = await prisma.generation.findMany({
    where: { userId, conversationId, deletedAt: null, status: { in: ["succeeded", "partial", "cancelled"] } },
    orderBy: { createdAt: "asc" },
    include: { files: { where: { role: "input" }, include: { file: true }, orderBy: { position: "asc" } } },
  });
  const replaced = new Set(rows.map((row) => row.regeneratesId).filter(Boolean));
  const turns: Turn[] = [];
  for (const row of rows) {
    if (replaced.has(row.id)) continue;
    const files: FilePart[] = [];
    for (const link of row.files) {
      const bytes = await readAllBytes(link.file.storageKey);
      if (bytes)
        files.push({
          type: "file",
          mediaType: link.file.mediaType,
          data: bytes,
          filename: link.file.originalName ?? undefined,
        });
    }
    turns.push({ id: row.id, prompt: row.prompt, outputText: row.outputText, files });
  }
  return turns;
}

function toMessages(turns: Turn[], prompt: string, files: Attachment[]): Message[] {
  const messages: Message[] = [];
  for (const turn of turns) {
    messages.push({ role: "user", content: [{ type: "text", text: turn.prompt }, ...turn.files] });
    if (turn.outputText) messages.push({ role: "assistant", content: [{ type: "text", text: turn.outputText }] });
  }
  messages.push({
    role: "user",
    content: [
      { type: "text", text: prompt },
      ...files.map((file): FilePart => ({
        type: "file",
        mediaType: file.mediaType,
        data: file.bytes,
        filename: file.filename,
      })),
    ],
  });
  return messages;
}

/** Checks, prices and holds a text request; nothing is sent upstream yet. */
export async function prepareText(input: TextInput): Promise<PreparedText> {
  const [existing, found] = await lookUpRequest(input.userId, input.requestId, input.modelId);
  if (existing) return { replayed: true, row: existing };

  const entry = requireModel(found, "text");
  const caps = entry.capabilities;
  checkAttachments(entry, input.files);
  // Models that take no temperature (the page hides the field) are called without one.
  const temperature = caps.temperature ? input.temperature : undefined;

  let prompt = input.prompt;
  let conversationId = input.conversationId ?? null;
  let turns: Turn[] = [];
  if (input.regeneratesId) {
    const original = await findGeneration(input.userId, input.regeneratesId);
    if (!original || original.deletedAt || original.modality !== "text") {
      throw new GenerationRefused("not_found", null, "That answer no longer exists.");
    }
    prompt = original.prompt;
    conversationId = original.conversationId;
    if (conversationId) {
      const all = await conversationTurns(input.userId, conversationId);
      const index = all.findIndex((turn) => turn.id === original.id);
      turns = index >= 0 ? all.slice(0, index) : all;
    }
  } else if (conversationId) {
    const conversation = await prisma.conversation.findFirst({ where: { id: conversationId, userId: input.userId } });
    if (!conversation) throw new GenerationRefused("not_found", null, "That conversation no longer exists.");
    turns = await conversationTurns(input.userId, conversationId);
  }

  const messages = toMessages(turns, prompt, input.files);
  const texts = messages.flatMap((message) =>
    message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])),
  );
  const files = messages.flatMap((message) =>
    message.content.flatMap((part) =>
      part.type === "file" ? [{ mediaType: part.mediaType, size: part.data.byteLength }] : [],
    ),
  );
  const inputTokens = estimateInputTokens(texts, files, caps);
  if (inputTokens >= caps.contextWindow) {
    throw new GenerationRefused(
      "too_long",
      "prompt",
      `This conversation is too long for ${entry.label}. Start a new chat or attach fewer files.`,
    );
  }
  let maxOutputTokens = Math.min(input.maxOutputTokens ?? caps.defaultOutputTokens, caps.maxOutputTokens);
  let held = estimateText(entry.price, inputTokens, maxOutputTokens);
  const cap = input.costCap ?? null;
  if (cap !== null && held > cap) {
    // Ask for fewer output tokens so the most it can cost fits the member's limit.
    let low = 0;
    let high = maxOutputTokens;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (estimateText(entry.price, inputTokens, mid) <= cap) low = mid;
      else high = mid - 1;
    }
    if (low < 1) throw capRefusal(estimateText(entry.price, inputTokens, 1), cap);
    maxOutputTokens = low;
    held = estimateText(entry.price, inputTokens, maxOutputTokens);
  }

  // A first turn starts a conversation, created together with the generation row.
  const newConversationTitle = !conversationId && !input.compareGroup ? titleFrom(prompt) : null;
  if (newConversationTitle) conversationId = newId();

  const { row, replayed } = await startGeneration(
    {
      userId: input.userId,
      requestId: input.requestId,
      conversationId,
      regeneratesId: input.regeneratesId ?? null,
      compareGroup: input.compareGroup ?? null,
      modelId: entry.id,
      modelLabel: entry.label,
      modality: "text",
      status: "running",
      prompt,
      params: {
        maxOutputTokens,
        ...(temperature !== undefined ? { temperature } : {}),
        files: input.files.length,
      },
      costCap: cap,
      heldAmount: held,
      startedAt: new Date(),
      newConversationTitle,
    },
    new Date(Date.now() + timeoutMs() + HOLD_GRACE_MS),
  );
  if (replayed) return { replayed: true, row };
  try {
    await storeInputs(input.userId, row.id, input.files);
    // A conversation created just above is already fresh; an existing one moves to the top of the list.
    if (conversationId && (input.conversationId || input.regeneratesId)) {
      await prisma.conversation.update({ where: { id: conversationId }, data: { updatedAt: new Date() } });
    }
    return {
      replayed: false,
      row,
      entry,
      messages,
      maxOutputTokens,
      temperature,
      inputTokenBound: inputTokens,
    };
  } catch (error) {
    throw await undoStart(row, error);
  }
}

/** A chat's title: its first prompt, on one line, shortened. */
export function titleFrom(prompt: string): string {
  const line = prompt.replace(/\s+/g, " ").trim();
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || "New chat";
}

/**
 * Streams the answer to `emit`, then settles. Aborting `signal` (the browser went away, or pressed Stop)
 * cancels the upstream call. Output that reached the member is charged however the stream ended (stop,
 * timeout, upstream error): the input and the output delivered, capped at the hold, status "partial".
 * Only a stream that delivered nothing is free (docs/decisions/0012). Never rejects: when the charge
 * cannot be recorded (the database is away), the generation stays "running", recording is retried in
 * the background until the hold's expiry, and the sweeper releases the hold after that.
 */
export async function streamText(
  prepared: Extract<PreparedText, { replayed: false }>,
  emit: (event: TextEvent) => void,
  signal?: AbortSignal,
): Promise<Generation> {
  const { row, entry } = prepared;
  emit({
    type: "start",
    generationId: row.id,
    conversationId: row.conversationId,
    held: row.heldAmount,
    maxOutputTokens: prepared.maxOutputTokens,
    model: entry.label,
  });
  const delivery: Delivery = { text: "", reported: {}, uncounted: "" };
  let firstOutputAt: Date | undefined;
  let finish: { usage: Usage; finishReason: string } | undefined;
  let failure: unknown;
  try {
    const model = getRegistry().textModel(entry.id);
    const events = model.stream(
      {
        model: model.modelId,
        messages: prepared.messages,
        maxOutputTokens: prepared.maxOutputTokens,
        ...(prepared.temperature !== undefined ? { temperature: prepared.temperature } : {}),
      },
      { signal, timeoutMs: timeoutMs() },
    );
    for await (const event of events) {
      if (event.type === "text-delta") {
        delivery.text += event.text;
        delivery.uncounted += event.text;
        emit({ type: "delta", text: event.text });
        // Recorded after the first words are on their way, so the write never delays them.
        firstOutputAt ??= new Date();
      } else {
        // A usage report counts everything before it: running usage, and the final one with "finish".
        delivery.reported = { ...delivery.reported, ...event.usage };
        if (event.usage.outputTokens !== undefined) delivery.uncounted = "";
        if (event.type === "finish") finish = event;
      }
    }
  } catch (error) {
    failure = error;
  }
  const settled = await recordOutcome(prepared, delivery, finish, failure, firstOutputAt);
  emit({
    type: "done",
    generationId: settled.id,
    status: settled.status,
    cost: settled.cost ?? 0n,
    text: settled.status === "running" ? delivery.text : (settled.outputText ?? ""),
    message: settled.status === "running" ? UNRECORDED_MESSAGE : outcomeMessage(settled),
  });
  return settled;
}

const UNRECORDED_MESSAGE =
  "We could not record this answer yet. It will appear in your history with its charge once recorded.";

/**
 * Settles the generation from how its stream ended; never throws. When the database cannot take it,
 * the same settlement is retried in the background (it is idempotent: the hold posts or voids once).
 */
async function recordOutcome(
  prepared: Extract<PreparedText, { replayed: false }>,
  delivery: Delivery,
  finish: { usage: Usage; finishReason: string } | undefined,
  failure: unknown,
  firstOutputAt: Date | undefined,
): Promise<Generation> {
  const { row, entry } = prepared;
  const record = (): Promise<Generation> => {
    if (!failure) {
      const { usage, estimated } = deliveredUsage(delivery, prepared.inputTokenBound);
      return settle(row, entry.price, {
        status: "succeeded",
        usage,
        usageEstimated: estimated,
        outputText: delivery.text,
        finishReason: finish?.finishReason,
        firstOutputAt,
      });
    }
    if (delivery.text === "") return fail(row, failure);
    // Output reached the member before the stream ended: charged for it.
    const { usage, estimated } = deliveredUsage(delivery, prepared.inputTokenBound);
    const ended = describeFailure(row, failure);
    return settle(row, entry.price, {
      status: "partial",
      usage,
      usageEstimated: estimated,
      outputText: delivery.text,
      finishReason: ended.kind === "aborted" ? "stopped" : ended.kind === "timeout" ? "timeout" : "error",
      firstOutputAt,
      errorKind: ended.kind,
      errorMessage: ended.kind === "aborted" ? undefined : ended.message,
    });
  };
  try {
    return await record();
  } catch (error) {
    logger.error("generation.record_failed", { generationId: row.id, model: row.modelId, error });
    const deadline = (row.startedAt ?? row.createdAt).getTime() + timeoutMs() + HOLD_GRACE_MS - 5_000;
    void recordLater(row.id, record, deadline);
    return row;
  }
}

/**
 * Retries recording a generation's outcome until it succeeds or the hold nears its expiry (the sweeper
 * voids it then, and the reconcile job marks the generation failed, not charged). Never rejects.
 */
async function recordLater(generationId: string, record: () => Promise<unknown>, deadline: number) {
  for (let delay = 500; Date.now() + delay < deadline; delay = Math.min(delay * 2, 10_000)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      await record();
      logger.info("generation.recorded_late", { generationId });
      return;
    } catch (error) {
      if (!isDatabaseUnavailable(error)) {
        logger.error("generation.record_abandoned", { generationId, error });
        return;
      }
    }
  }
  logger.warn("generation.record_expired", { generationId });
}

/** What the page says when a generation ends. */
export function outcomeMessage(
  row: Pick<Generation, "status" | "cost" | "errorKind" | "errorMessage" | "usage">,
): string | null {
  if (row.status === "failed") return `${row.errorMessage ?? "The generation failed."} You were not charged.`;
  if (row.status === "partial") {
    const tokens = (row.usage as { outputTokens?: unknown } | null)?.outputTokens;
    const count = typeof tokens === "number" ? tokens.toLocaleString("en") : "some";
    const reason = row.errorKind !== "aborted" && row.errorMessage ? `${row.errorMessage} ` : "";
    return `${reason}Stopped after ${count} tokens: charged ${money(row.cost ?? 0n)}.`;
  }
  if (row.status === "cancelled") {
    return row.cost && row.cost > 0n
      ? `Stopped. You were charged ${money(row.cost)} for the part that was produced.`
      : "Stopped. You were not charged.";
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Images, speech and video: held here, run by the background job (app/jobs/generations.server.ts).

export type MediaInput = {
  userId: string;
  requestId: string;
  modelId: string;
  prompt: string;
  costCap?: bigint | null;
  /** Image: pictures to edit or take as reference (only for models that accept image files). */
  files?: Attachment[];
  size?: string;
  quality?: string;
  n?: number;
  /** Speech */
  voice?: string;
  /** Video */
  seconds?: number;
  aspectRatio?: string;
};

const MEDIA_HOLD_MS = 24 * 60 * 60_000;

export async function prepareMedia(
  modality: "image" | "speech" | "video",
  input: MediaInput,
): Promise<{ row: Generation; replayed: boolean }> {
  const [existing, found] = await lookUpRequest(input.userId, input.requestId, input.modelId);
  if (existing) return { row: existing, replayed: true };
  const entry = requireModel(found, modality);
  const caps = entry.capabilities;
  const files = input.files ?? [];
  checkAttachments(entry, files);
  let params: Record<string, string | number>;
  let held: bigint;
  if (modality === "image") {
    const size = input.size ?? caps.sizes[0];
    if (caps.sizes.length && (!size || !caps.sizes.includes(size))) {
      throw new GenerationRefused("wrong_modality", "size", `Choose one of the sizes ${entry.label} offers.`);
    }
    const quality = input.quality ?? caps.qualities[0];
    if (caps.qualities.length && (!quality || !caps.qualities.includes(quality))) {
      throw new GenerationRefused("wrong_modality", "quality", `Choose one of the qualities ${entry.label} offers.`);
    }
    const n = input.n ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > caps.maxImages) {
      throw new GenerationRefused(
        "wrong_modality",
        "n",
        `${entry.label} makes 1 to ${caps.maxImages} images at a time.`,
      );
    }
    params = {
      n,
      ...(size ? { size } : {}),
      ...(quality ? { quality } : {}),
      ...(files.length ? { files: files.length } : {}),
    };
    // Models that bill input tokens (GPT Image) hold for the prompt and the pictures too.
    const inputFiles = files.map((file) => ({ mediaType: file.mediaType, size: file.bytes.byteLength }));
    held = estimateImages(entry.price, n, { size, quality }, { prompt: input.prompt, files: inputFiles, limits: caps });
  } else if (modality === "speech") {
    const characters = [...input.prompt].length;
    if (characters > caps.maxCharacters) {
      throw new GenerationRefused(
        "too_long",
        "prompt",
        `${entry.label} reads at most ${caps.maxCharacters.toLocaleString("en")} characters at a time.`,
      );
    }
    const voice = input.voice ?? caps.voices[0]?.id;
    if (caps.voices.length && (!voice || !caps.voices.some((option) => option.id === voice))) {
      throw new GenerationRefused("wrong_modality", "voice", `Choose one of the voices ${entry.label} offers.`);
    }
    params = { ...(voice ? { voice } : {}), characters };
    held = estimateSpeech(entry.price, input.prompt);
  } else {
    const seconds = input.seconds ?? caps.seconds[0] ?? 4;
    if (caps.seconds.length && !caps.seconds.includes(seconds)) {
      throw new GenerationRefused("wrong_modality", "seconds", `Choose one of the lengths ${entry.label} offers.`);
    }
    const aspectRatio = input.aspectRatio ?? caps.aspectRatios[0];
    if (caps.aspectRatios.length && (!aspectRatio || !caps.aspectRatios.includes(aspectRatio))) {
      throw new GenerationRefused("wrong_modality", "aspectRatio", `Choose one of the shapes ${entry.label} offers.`);
    }
    params = { seconds, ...(aspectRatio ? { aspectRatio } : {}) };
    held = estimateVideo(entry.price, seconds);
  }
  const cap = input.costCap ?? null;
  if (cap !== null && held > cap) throw capRefusal(held, cap);

  const created = await startGeneration(
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
  );
  if (created.replayed) return created;
  try {
    await storeInputs(input.userId, created.row.id, files);
    return created;
  } catch (error) {
    throw await undoStart(created.row, error);
  }
}

type MediaParams = {
  n?: number;
  size?: string;
  quality?: string;
  voice?: string;
  seconds?: number;
  aspectRatio?: string;
};

function mediaParams(row: Generation): MediaParams {
  const params = (row.params ?? {}) as Record<string, unknown>;
  const pick = <T>(key: string, type: "string" | "number") =>
    typeof params[key] === type ? (params[key] as T) : undefined;
  return {
    n: pick<number>("n", "number"),
    size: pick<string>("size", "string"),
    quality: pick<string>("quality", "string"),
    voice: pick<string>("voice", "string"),
    seconds: pick<number>("seconds", "number"),
    aspectRatio: pick<string>("aspectRatio", "string"),
  };
}

async function storeOutputs(row: Generation, outputs: Array<{ mediaType: string; data: Uint8Array }>) {
  for (const [position, output] of outputs.entries()) {
    const stored = await saveFile({
      ownerId: row.userId,
      purpose: OUTPUT_FILE_PURPOSE,
      bytes: output.data,
      mediaType: output.mediaType,
      originalName: null,
    });
    await prisma.generationFile.create({ data: { generationId: row.id, fileId: stored.id, role: "output", position } });
  }
}

/** The pictures given with an image request, in the order they were attached. */
async function inputImages(generationId: string) {
  const links = await prisma.generationFile.findMany({
    where: { generationId, role: "input" },
    include: { file: true },
    orderBy: { position: "asc" },
  });
  const images: Array<{ mediaType: string; data: Uint8Array }> = [];
  for (const link of links) {
    const data = await readAllBytes(link.file.storageKey);
    if (data) images.push({ mediaType: link.file.mediaType, data });
  }
  return images;
}

/** What the worker does next for a media generation. */
export type MediaStep = { next: "done" } | { next: "poll"; afterMs: number };

// How long one run may hold a generation: longer than pg-boss lets its job stay active (the timeout plus
// 60 s, app/jobs/generations.server.ts), so a slow run is never overlapped by its own retry. A run that
// crashed keeps the lease until then; the reconcile job re-queues its generation once it has passed.
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
  const heldNow = await prisma.ledgerHold.findUnique({ where: { id: row.holdId! }, select: { status: true } });
  // Charged by a run that stopped before it updated the row: the reconcile job records the charge.
  if (heldNow?.status === "posted") return { next: "done" };
  if (heldNow?.status !== "pending") {
    // The hold expired (the worker was down for a day): nothing can be charged, so nothing is run.
    await prisma.generation.update({
      where: { id: row.id },
      data: {
        status: "failed",
        errorKind: "expired",
        errorMessage: "The request waited too long to run.",
        cost: 0n,
        finishedAt: new Date(),
      },
    });
    return { next: "done" };
  }
  if (row.status === "queued") {
    row = await prisma.generation.update({
      where: { id: row.id },
      data: { status: "running", startedAt: new Date(), progress: 5 },
    });
  }
  const entry = await getCatalogEntry(row.modelId);
  if (!entry) {
    await fail(row, new ProviderError("invalid_request", row.modelId.split(":")[0] ?? "unknown"));
    return { next: "done" };
  }
  const params = mediaParams(row);
  const options = { signal, timeoutMs: timeoutMs() };
  try {
    const registry = getRegistry();
    if (row.modality === "image") {
      const model = registry.imageModel(row.modelId);
      const images = await inputImages(row.id);
      const result = await model.generate(
        {
          model: model.modelId,
          prompt: row.prompt,
          n: params.n ?? 1,
          size: params.size,
          quality: params.quality,
          ...(images.length ? { images } : {}),
        },
        options,
      );
      await storeOutputs(row, result.images);
      await settle(
        row,
        entry.price,
        { status: "succeeded", usage: result.usage },
        { size: params.size, quality: params.quality },
      );
      return { next: "done" };
    }
    if (row.modality === "speech") {
      const model = registry.speechModel(row.modelId);
      const result = await model.generate({ model: model.modelId, text: row.prompt, voice: params.voice }, options);
      await storeOutputs(row, [result.audio]);
      await settle(row, entry.price, { status: "succeeded", usage: result.usage });
      return { next: "done" };
    }
    const model = registry.videoModel(row.modelId);
    if (!row.upstreamJobId) {
      const { jobId } = await model.start(
        { model: model.modelId, prompt: row.prompt, seconds: params.seconds, aspectRatio: params.aspectRatio },
        options,
      );
      await prisma.generation.update({ where: { id: row.id }, data: { upstreamJobId: jobId, progress: 10 } });
      return { next: "poll", afterMs: 1_000 };
    }
    let poll;
    try {
      poll = await model.poll(row.upstreamJobId, options);
    } catch (error) {
      // A hiccup while asking (503, rate limit) says nothing about the job itself: ask again later.
      const age = Date.now() - (row.startedAt ?? row.createdAt).getTime();
      if (isProviderError(error) && error.retryable && age < timeoutMs() * 4) return { next: "poll", afterMs: 5_000 };
      throw error;
    }
    if (poll.status === "running") {
      const progress = Math.max(10, Math.min(95, Math.round(poll.progress ?? row.progress)));
      await prisma.generation.update({ where: { id: row.id }, data: { progress } });
      const age = Date.now() - (row.startedAt ?? row.createdAt).getTime();
      if (age > timeoutMs() * 4) throw new ProviderError("timeout", entry.provider);
      return { next: "poll", afterMs: 2_000 };
    }
    if (poll.status === "failed") throw poll.error;
    if (!poll.video.data) throw new ProviderError("upstream", entry.provider, { detail: "no video bytes" });
    await storeOutputs(row, [{ mediaType: poll.video.mediaType, data: poll.video.data }]);
    await settle(row, entry.price, { status: "succeeded", usage: poll.usage });
    return { next: "done" };
  } catch (error) {
    // Our own faults (database, disk) are thrown so the job is retried; the hold stays until then.
    if (!isProviderError(error) && !isRegistryError(error)) throw error;
    await fail(row, error);
    return { next: "done" };
  }
}

// ---------------------------------------------------------------------------------------------
// Conversations, as the chat page shows them.

export type ChatTurn = {
  id: string;
  prompt: string;
  outputText: string | null;
  modelId: string;
  modelLabel: string;
  status: Generation["status"];
  cost: bigint | null;
  message: string | null;
  files: Array<{ id: string; mediaType: string; name: string | null }>;
  createdAt: Date;
};

/** A member's conversation with its visible turns (a regenerated answer replaces the one before). */
export async function getConversation(userId: string, conversationId: string) {
  const conversation = await prisma.conversation.findFirst({ where: { id: conversationId, userId } });
  if (!conversation) return null;
  const rows = await prisma.generation.findMany({
    where: { userId, conversationId, deletedAt: null },
    orderBy: { createdAt: "asc" },
    include: { files: { where: { role: "input" }, include: { file: true }, orderBy: { position: "asc" } } },
  });
  const replaced = new Set(rows.map((row) => row.regeneratesId).filter(Boolean));
  const turns: ChatTurn[] = rows
    .filter((row) => !replaced.has(row.id))
    .map((row) => ({
      id: row.id,
      prompt: row.prompt,
      outputText: row.outputText,
      modelId: row.modelId,
      modelLabel: row.modelLabel,
      status: row.status,
      cost: row.cost,
      message: outcomeMessage(row),
      files: row.files.map((link) => ({
        id: link.file.id,
        mediaType: link.file.mediaType,
        name: link.file.originalName,
      })),
      createdAt: row.createdAt,
    }));
  const total = rows.reduce((sum, row) => sum + (row.cost ?? 0n), 0n);
  return { id: conversation.id, title: conversation.title, turns, total };
}
