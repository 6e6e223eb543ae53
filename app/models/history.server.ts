import { Prisma, type GenerationStatus, type Modality } from "@prisma/client";
import { prisma } from "#app/utils/db.server";
import { logger } from "#app/utils/logger.server";
import { getStorage } from "#app/utils/storage.server";
import { IN_FLIGHT_STATUSES, outcomeMessage, titleFrom } from "./generation.server";

// History: the member's own generations, listed, searched, opened and deleted. Every query names the
// member's id. Searching uses the generated `search` tsvector column (prompt + output, 'simple'
// configuration, see the generations migration), which Prisma cannot describe, so lists are raw SQL
// built from Prisma.sql fragments: user input only ever travels as a bound parameter.
// Prompts and outputs are never logged: only ids and counts.

export const HISTORY_PAGE_SIZE = 20;

const MAX_QUERY_WORDS = 12;
const MAX_WORD_LENGTH = 64;
const PROMPT_PREVIEW = 160;
const OUTPUT_PREVIEW = 200;

// ---------------------------------------------------------------------------------------------
// Search query

const LETTER_OR_DIGIT = /[\p{L}\p{N}\p{M}]/u;
/** Characters kept inside a word: they join the parts of hosts, numbers, versions, paths and emails. */
const JOINER = /[.@/_-]/;

/** `'term':*`; safe because a word only ever holds letters, digits, marks and the joiners above. */
const prefixTerm = (word: string) => `'${word}':*`;

/**
 * A prefix tsquery in which every word must match ("wal pay" → 'wal':* & 'pay':*), or null when the text
 * has no word at all. Everything but letters, digits and a few joiners (. @ / _ -) is treated as a space,
 * so no tsquery operator (& | ! : * ( ) < > ' \) survives. A word with joiners ("gpt-4", "example.com",
 * "3.12") matches either as one token, as Postgres' parser indexes hosts, numbers and paths, or as all its
 * parts, as it indexes hyphenated words: ('3.12':* | '3':* & '12':*).
 * Case is left to the text-search dictionary, which lower-cases the query exactly as it did the text.
 */
export function toPrefixTsquery(text: string): string | null {
  const words = text
    .normalize("NFC")
    .split(/[^\p{L}\p{N}\p{M}.@/_-]+/u)
    .map((word) => trimJoiners(word.slice(0, MAX_WORD_LENGTH)))
    .filter((word) => LETTER_OR_DIGIT.test(word))
    .slice(0, MAX_QUERY_WORDS);
  if (words.length === 0) return null;
  const terms = words.map((word) => {
    if (!JOINER.test(word)) return prefixTerm(word);
    const parts = word.split(/[.@/_-]+/).filter((part) => LETTER_OR_DIGIT.test(part));
    return `(${prefixTerm(word)} | ${parts.map(prefixTerm).join(" & ")})`;
  });
  return [...new Set(terms)].join(" & ");
}

function trimJoiners(word: string) {
  return word.replace(/^[.@/_-]+|[.@/_-]+$/g, "");
}

// ---------------------------------------------------------------------------------------------
// List

export type HistoryFilters = {
  /** Free text: every word must start a word of the prompt or the output. */
  q?: string | null;
  modality?: Modality | null;
  /** A catalog model id, e.g. "openai:gpt-4o". */
  model?: string | null;
  status?: GenerationStatus | null;
  /** Created at or after this instant. */
  from?: Date | null;
  /** Created strictly before this instant. */
  to?: Date | null;
  /** 1-based; a page past the end shows the last page. */
  page?: number;
  pageSize?: number;
};

export type HistoryItem = {
  id: string;
  modality: Modality;
  modelId: string;
  modelLabel: string;
  status: GenerationStatus;
  /** The start of the prompt, on one line. */
  promptPreview: string;
  /** Text outputs: the start of the answer, on one line. */
  outputPreview: string | null;
  /** Media outputs: the first file (served by /files/<id>). */
  outputFile: { id: string; mediaType: string } | null;
  outputCount: number;
  progress: number;
  /** Charged, in micro-units; null while in flight. */
  cost: bigint | null;
  heldAmount: bigint;
  createdAt: Date;
  /** From start (or creation) to finish; null while in flight. */
  durationMs: number | null;
};

export type HistoryModel = { id: string; label: string };

export type HistoryPage = {
  items: HistoryItem[];
  total: number;
  page: number;
  pageSize: number;
  pageCount: number;
  /** True when `q` held at least one word: results are ranked by relevance. */
  searching: boolean;
  /** For the filter selects: the models this member has used (deleted generations left out). */
  models: HistoryModel[];
};

type ListRow = {
  id: string;
  modality: Modality;
  modelId: string;
  modelLabel: string;
  status: GenerationStatus;
  prompt: string;
  outputText: string | null;
  cost: string | null;
  heldAmount: string;
  progress: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  fileId: string | null;
  fileMediaType: string | null;
  outputCount: number;
};

/** One line of plain text: whitespace collapsed, the most common Markdown markers dropped. */
function preview(text: string | null, length: number, { markdown = false } = {}): string {
  if (!text) return "";
  let line = text;
  if (markdown) line = line.replace(/```[\w-]*|[*_`#>]+/g, " ");
  line = line.replace(/\s+/g, " ").trim();
  return line.length > length ? `${line.slice(0, length - 1).trimEnd()}…` : line;
}

export async function listHistory(userId: string, filters: HistoryFilters = {}): Promise<HistoryPage> {
  const size = Math.min(Math.max(Math.trunc(filters.pageSize ?? HISTORY_PAGE_SIZE) || HISTORY_PAGE_SIZE, 1), 100);
  const tsquery = filters.q ? toPrefixTsquery(filters.q) : null;

  const conditions: Prisma.Sql[] = [Prisma.sql`g.user_id = ${userId}`, Prisma.sql`g.deleted_at IS NULL`];
  if (filters.modality) conditions.push(Prisma.sql`g.modality::text = ${filters.modality}`);
  if (filters.model) conditions.push(Prisma.sql`g.model_id = ${filters.model}`);
  if (filters.status) conditions.push(Prisma.sql`g.status::text = ${filters.status}`);
  if (filters.from) conditions.push(Prisma.sql`g.created_at >= ${filters.from}::timestamptz`);
  if (filters.to) conditions.push(Prisma.sql`g.created_at < ${filters.to}::timestamptz`);
  if (tsquery) conditions.push(Prisma.sql`g.search @@ to_tsquery('simple', ${tsquery})`);
  const where = Prisma.join(conditions, " AND ");

  const [counted, models] = await Promise.all([
    prisma.$queryRaw<{ total: number }[]>`SELECT count(*)::int AS total FROM generations g WHERE ${where}`,
    listHistoryModels(userId),
  ]);
  const total = Number(counted[0]?.total ?? 0);
  const pageCount = Math.max(1, Math.ceil(total / size));
  const page = Math.min(Math.max(Math.trunc(filters.page ?? 1) || 1, 1), pageCount);

  const order = tsquery
    ? Prisma.sql`ts_rank(g.search, to_tsquery('simple', ${tsquery})) DESC, g.created_at DESC, g.id DESC`
    : Prisma.sql`g.created_at DESC, g.id DESC`;
  const rows =
    total === 0
      ? []
      : await prisma.$queryRaw<ListRow[]>`
    SELECT g.id, g.modality::text AS modality, g.model_id AS "modelId", g.model_label AS "modelLabel",
      g.status::text AS status, left(g.prompt, ${PROMPT_PREVIEW * 3}) AS prompt,
      left(g.output_text, ${OUTPUT_PREVIEW * 3}) AS "outputText", g.cost::text AS cost,
      g.held_amount::text AS "heldAmount", g.progress, g.created_at AS "createdAt", g.started_at AS "startedAt",
      g.finished_at AS "finishedAt", o.id AS "fileId", o.media_type AS "fileMediaType",
      (SELECT count(*)::int FROM generation_files c WHERE c.generation_id = g.id AND c.role = 'output')
        AS "outputCount"
    FROM generations g
    LEFT JOIN LATERAL (
      SELECT f.id, f.media_type FROM generation_files gf JOIN stored_files f ON f.id = gf.file_id
      WHERE gf.generation_id = g.id AND gf.role = 'output' AND f.owner_id = ${userId}
      ORDER BY gf.position, f.id LIMIT 1
    ) o ON true
    WHERE ${where}
    ORDER BY ${order}
    LIMIT ${size} OFFSET ${(page - 1) * size}`;

  return {
    items: rows.map((row) => ({
      id: row.id,
      modality: row.modality,
      modelId: row.modelId,
      modelLabel: row.modelLabel,
      status: row.status,
      promptPreview: preview(row.prompt, PROMPT_PREVIEW),
      outputPreview: row.outputText ? preview(row.outputText, OUTPUT_PREVIEW, { markdown: true }) || null : null,
      outputFile: row.fileId && row.fileMediaType ? { id: row.fileId, mediaType: row.fileMediaType } : null,
      outputCount: Number(row.outputCount),
      progress: Number(row.progress),
      cost: row.cost === null ? null : BigInt(row.cost),
      heldAmount: BigInt(row.heldAmount),
      createdAt: row.createdAt,
      durationMs: row.finishedAt ? row.finishedAt.getTime() - (row.startedAt ?? row.createdAt).getTime() : null,
    })),
    total,
    page,
    pageSize: size,
    pageCount,
    searching: tsquery !== null,
    models,
  };
}

/** The models the member has used, each once, with its latest label, by label. */
export async function listHistoryModels(userId: string): Promise<HistoryModel[]> {
  const rows = await prisma.$queryRaw<HistoryModel[]>`
    SELECT DISTINCT ON (model_id) model_id AS id, model_label AS label
    FROM generations
    WHERE user_id = ${userId} AND deleted_at IS NULL
    ORDER BY model_id, created_at DESC`;
  return rows.sort((a, b) => a.label.localeCompare(b.label, "en") || a.id.localeCompare(b.id, "en"));
}

// ---------------------------------------------------------------------------------------------
// Detail

export type GenerationFileInfo = { id: string; mediaType: string; size: number; originalName: string | null };

export type GenerationDetail = {
  id: string;
  modality: Modality;
  modelId: string;
  modelLabel: string;
  status: GenerationStatus;
  prompt: string;
  params: Record<string, unknown>;
  usage: Record<string, unknown>;
  /** Part of the usage is our upper bound: the provider did not report it all. */
  usageEstimated: boolean;
  outputText: string | null;
  finishReason: string | null;
  progress: number;
  errorKind: string | null;
  errorMessage: string | null;
  /** What the member is told about a failed or stopped generation ("… You were not charged."). */
  outcome: string | null;
  heldAmount: bigint;
  cost: bigint | null;
  costCap: bigint | null;
  createdAt: Date;
  startedAt: Date | null;
  firstOutputAt: Date | null;
  finishedAt: Date | null;
  conversationId: string | null;
  compareGroup: string | null;
  regeneratesId: string | null;
  inputs: GenerationFileInfo[];
  outputs: GenerationFileInfo[];
};

const asRecord = (value: Prisma.JsonValue): Record<string, unknown> =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** Everything the detail page shows, or null when the id is not one of the member's live generations. */
export async function getGenerationDetail(userId: string, id: string): Promise<GenerationDetail | null> {
  const row = await prisma.generation.findFirst({
    where: { id, userId, deletedAt: null },
    include: {
      files: {
        where: { file: { ownerId: userId } },
        orderBy: [{ position: "asc" }, { fileId: "asc" }],
        include: { file: { select: { id: true, mediaType: true, size: true, originalName: true } } },
      },
    },
  });
  if (!row) return null;
  const files = (role: "input" | "output") => row.files.filter((link) => link.role === role).map((link) => link.file);
  return {
    id: row.id,
    modality: row.modality,
    modelId: row.modelId,
    modelLabel: row.modelLabel,
    status: row.status,
    prompt: row.prompt,
    params: asRecord(row.params),
    usage: asRecord(row.usage),
    usageEstimated: row.usageEstimated,
    outputText: row.outputText,
    finishReason: row.finishReason,
    progress: row.progress,
    errorKind: row.errorKind,
    errorMessage: row.errorMessage,
    outcome: outcomeMessage(row),
    heldAmount: row.heldAmount,
    cost: row.cost,
    costCap: row.costCap,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    firstOutputAt: row.firstOutputAt,
    finishedAt: row.finishedAt,
    conversationId: row.conversationId,
    compareGroup: row.compareGroup,
    regeneratesId: row.regeneratesId,
    inputs: files("input"),
    outputs: files("output"),
  };
}

// ---------------------------------------------------------------------------------------------
// Delete

export type DeleteOutcome =
  | { status: "deleted"; filesDeleted: number }
  /** Deleted before: nothing left to do (a repeated or double-clicked delete). */
  | { status: "already_deleted" }
  | { status: "not_found" }
  | { status: "in_progress"; message: string };

type RemovedFile = { id: string; storageKey: string };

const IN_FLIGHT_MESSAGE = "This generation is still running. Wait until it has finished (or stop it), then delete it.";

/**
 * Deletes a generation's content for good: prompt, output, parameters, usage and error text are wiped,
 * its input and output files are unlinked and, unless another generation or a top-up still uses them,
 * their rows and bytes removed. The row itself stays (deletedAt set) with its model, amounts and ledger
 * references, because the wallet statement and the ledger point at it. A generation still in flight is
 * refused: its worker or stream would write to it again. Safe to repeat.
 */
export async function deleteGeneration(userId: string, id: string): Promise<DeleteOutcome> {
  const result = await prisma.$transaction(async (tx): Promise<{ outcome: DeleteOutcome; keys: RemovedFile[] }> => {
    // Lock the row: a concurrent delete waits, then finds it already deleted.
    const [row] = await tx.$queryRaw<{ status: GenerationStatus; deletedAt: Date | null }[]>`
      SELECT status::text AS status, deleted_at AS "deletedAt" FROM generations
      WHERE id = ${id} AND user_id = ${userId} FOR UPDATE`;
    if (!row) return { outcome: { status: "not_found" }, keys: [] };
    // Still in flight: the worker or stream would write to it again.
    if (IN_FLIGHT_STATUSES.includes(row.status)) {
      return { outcome: { status: "in_progress", message: IN_FLIGHT_MESSAGE }, keys: [] };
    }

    const links = await tx.generationFile.findMany({
      where: { generationId: id, generation: { userId } },
      select: { fileId: true },
    });
    await tx.generationFile.deleteMany({ where: { generationId: id, generation: { userId } } });
    // Only the member's own files, and only those nothing else refers to any more.
    const removed =
      links.length === 0
        ? []
        : await tx.$queryRaw<RemovedFile[]>`
      DELETE FROM stored_files f
      WHERE f.id IN (${Prisma.join(links.map((link) => link.fileId))}) AND f.owner_id = ${userId}
        AND NOT EXISTS (SELECT 1 FROM generation_files other WHERE other.file_id = f.id)
        AND NOT EXISTS (SELECT 1 FROM manual_top_ups m WHERE m.receipt_file_id = f.id)
      RETURNING f.id, f.storage_key AS "storageKey"`;

    await tx.generation.updateMany({
      where: { id, userId },
      data: {
        prompt: "",
        outputText: null,
        params: {},
        usage: {},
        errorMessage: null,
        deletedAt: row.deletedAt ?? new Date(),
      },
    });
    await retitleConversation(tx, userId, id);
    return {
      outcome: row.deletedAt ? { status: "already_deleted" } : { status: "deleted", filesDeleted: removed.length },
      keys: removed,
    };
  });

  // The rows are gone for good; now the bytes. A failure leaves unreachable bytes (logged by key for an
  // operator), never a file row whose bytes are missing.
  const storage = getStorage();
  for (const file of result.keys) {
    await storage.delete(file.storageKey).catch((error: unknown) =>
      logger.error("history.file_bytes_delete_failed", {
        fileId: file.id,
        storageKey: file.storageKey,
        errorName: error instanceof Error ? error.name : "unknown",
      }),
    );
  }
  if (result.outcome.status === "deleted") {
    logger.info("history.generation_deleted", { generationId: id, userId, files: result.keys.length });
  }
  return result.outcome;
}

/**
 * A chat is titled after its first prompt: when that prompt is deleted, the title follows the next turn
 * still kept, and a chat with no turns left goes.
 */
async function retitleConversation(tx: Prisma.TransactionClient, userId: string, generationId: string) {
  const { conversationId } = (await tx.generation.findFirst({
    where: { id: generationId, userId },
    select: { conversationId: true },
  })) ?? { conversationId: null };
  if (!conversationId) return;
  const first = await tx.generation.findFirst({
    where: { userId, conversationId, deletedAt: null },
    orderBy: { createdAt: "asc" },
    select: { prompt: true },
  });
  if (first)
    await tx.conversation.updateMany({
      where: { id: conversationId, userId },
      data: { title: titleFrom(first.prompt) },
    });
  else await tx.conversation.deleteMany({ where: { id: conversationId, userId } });
}
