import type { Generation, GenerationStatus, Prisma } from "@prisma/client";
import type { Usage } from "#providers/index";
import { camelRow, prisma, sql } from "#app/utils/db.server";
import { GENERATION_STATUSES } from "#app/utils/generation-stream";
import { GENERATION_COLUMNS } from "./queries.server";
import { money } from "./settings.server";

// A generation's status, from its creation to its end. This file is the only writer of
// `generations.status` (tests/generation/lifecycle.test.ts checks the rest of app/ for writes): every
// change goes through the table below, as an UPDATE that only matches a row in an allowed previous status.
// A change that finds its row already in the target status is a retry and changes nothing; any other
// mismatch is refused with IllegalTransition, so a finished generation can never be reopened or
// re-finished differently. Money moves elsewhere (settle.server.ts); the words the member reads about
// an outcome are here, in one place.

/** What may follow each status. A finished generation (succeeded, failed, cancelled, partial) never changes. */
export const TRANSITIONS: { readonly [From in GenerationStatus]: readonly GenerationStatus[] } = {
  // Media waits for a worker; it runs, or fails without running (its hold expired, or was lost in a crash).
  queued: ["running", "failed"],
  // Text starts here; media once a run takes it. "partial": ended early after output reached the member
  // (docs/decisions/0012); "cancelled": stopped before any output.
  running: ["succeeded", "partial", "failed", "cancelled"],
  succeeded: [],
  failed: [],
  cancelled: [],
  partial: [],
};

/** What a new generation starts as: media is queued for a worker, text runs at once. */
export type InitialStatus = "queued" | "running";

/** Still in flight: its worker or stream will write to it again (it cannot be deleted yet). */
export const IN_FLIGHT_STATUSES: readonly GenerationStatus[] = ["queued", "running"];

export function canTransition(from: GenerationStatus, to: GenerationStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

const sourcesOf = (to: GenerationStatus): GenerationStatus[] =>
  GENERATION_STATUSES.filter((from) => canTransition(from, to));

export class IllegalTransition extends Error {
  constructor(
    readonly generationId: string,
    readonly from: GenerationStatus,
    readonly to: GenerationStatus,
  ) {
    super(`generation ${generationId} cannot go from ${from} to ${to}`);
    this.name = "IllegalTransition";
  }
}

/** Every sentence we write into a generation's error message ourselves (providers bring their own). */
export const FAILURE_TEXT = {
  internal: "Something went wrong on our side while running this request.",
  modelGone: "This model is no longer available on this server.",
  expired: "The request waited too long to run.",
  interrupted: "The server stopped before this finished.",
  unsaved: "The server stopped before this answer was saved.",
} as const;

/** The "done" event's message when the charge could not be recorded yet (the database is away). */
export const UNRECORDED_MESSAGE =
  "We could not record this answer yet. It will appear in your history with its charge once recorded.";

/** The transition did not match its row: a retry of the same change returns the row, anything else is refused. */
async function unchanged(id: string, to: GenerationStatus): Promise<Generation> {
  const row = await prisma.generation.findUnique({ where: { id } });
  if (!row) throw new Error(`generation ${id} does not exist`);
  if (row.status === to) return row;
  throw new IllegalTransition(id, row.status, to);
}

async function transition(
  id: string,
  to: GenerationStatus,
  data: Omit<Prisma.GenerationUpdateManyMutationInput, "status">,
): Promise<Generation> {
  const [row] = await prisma.generation.updateManyAndReturn({
    where: { id, status: { in: sourcesOf(to) } },
    data: { ...data, status: to },
  });
  return row ?? unchanged(id, to);
}

// ---------------------------------------------------------------------------------------------
// Creation

export type NewGeneration = {
  userId: string;
  requestId: string;
  conversationId?: string | null;
  regeneratesId?: string | null;
  compareGroup?: string | null;
  modelId: string;
  modelLabel: string;
  modality: Generation["modality"];
  status: InitialStatus;
  prompt: string;
  params: Record<string, unknown>;
  costCap: bigint | null;
  heldAmount: bigint;
  startedAt?: Date | null;
  /** Starts a new conversation (with this title) whose id is conversationId, if the row is created. */
  newConversationTitle?: string | null;
};

/** Runs one statement: on the pool (`sql`, the default) or inside a caller's transaction. */
export type SqlRunner = (statement: { text: string; name?: string }, values: unknown[]) => Promise<unknown[]>;

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

/** Writes a new generation with its hold; null when its request id has a row already (a replay). */
export async function createGeneration(
  id: string,
  data: NewGeneration,
  holdId: string,
  run: SqlRunner = sql,
): Promise<Generation | null> {
  const [row] = await run(INSERT_GENERATION, [
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
    data.startedAt?.toISOString() ?? null,
    data.newConversationTitle ?? null,
    holdId,
  ]);
  return row ? camelRow<Generation>(row as Record<string, unknown>) : null;
}

// ---------------------------------------------------------------------------------------------
// Running and ending

/** A worker takes a queued media generation. */
export function beginRun(id: string): Promise<Generation> {
  return transition(id, "running", { startedAt: new Date(), progress: 5 });
}

export type SettledOutcome = {
  /** "partial": ended early after output reached the member (docs/decisions/0012). */
  status: "succeeded" | "partial";
  usage: Usage;
  /** Part of `usage` is our upper bound: the provider did not report it all. */
  usageEstimated: boolean;
  outputText?: string;
  finishReason?: string;
  firstOutputAt?: Date;
  /** Why a partial generation ended early. */
  errorKind?: string;
  errorMessage?: string;
  cost: bigint;
  /** The usage-based price when it exceeded the hold. */
  uncappedCost: bigint | null;
  providerCost: bigint;
  transferId: string | null;
};

// Settling runs for every generation, so it is a prepared statement on the pool (docs/decisions/0008).
const SETTLE = {
  name: "generation_settle",
  text: `UPDATE generations SET status = $2::"GenerationStatus", usage = $3::jsonb, output_text = $4, finish_reason = $5,
      cost = $6::bigint, uncapped_cost = $7::bigint, provider_cost = $8::bigint, transfer_id = $9, progress = 100,
      first_output_at = coalesce($10::timestamptz, first_output_at), usage_estimated = $11, error_kind = $12,
      error_message = $13, finished_at = now()
    WHERE id = $1 AND status = ANY($14::"GenerationStatus"[])
    RETURNING ${GENERATION_COLUMNS}`,
};

/** Records a charged end: the answer or files are there, the hold is posted (settle.server.ts). */
export async function settleGeneration(id: string, outcome: SettledOutcome): Promise<Generation> {
  const [row] = await sql(SETTLE, [
    id,
    outcome.status,
    JSON.stringify(outcome.usage),
    outcome.outputText ?? null,
    outcome.finishReason ?? null,
    outcome.cost.toString(),
    outcome.uncappedCost?.toString() ?? null,
    outcome.providerCost.toString(),
    outcome.transferId,
    outcome.firstOutputAt ?? null,
    outcome.usageEstimated,
    outcome.errorKind ?? null,
    outcome.errorMessage ?? null,
    sourcesOf(outcome.status),
  ]);
  return row ? camelRow<Generation>(row) : unchanged(id, outcome.status);
}

/** Records an end that cost the member nothing: failed, or cancelled before any output. */
export function failGeneration(
  id: string,
  failure: { status: "failed" | "cancelled"; errorKind: string; errorMessage: string },
): Promise<Generation> {
  return transition(id, failure.status, {
    errorKind: failure.errorKind,
    errorMessage: failure.errorMessage,
    cost: 0n,
    finishedAt: new Date(),
  });
}

/**
 * Records a charge the ledger made for a generation whose own record of it was lost (the process stopped
 * between posting the hold and writing the row): what is known is the amount and the transfer.
 */
export function recordLostSettlement(
  id: string,
  charge: {
    status: "succeeded" | "partial";
    cost: bigint;
    transferId: string | null;
    errorKind?: string;
    errorMessage?: string;
  },
): Promise<Generation> {
  return transition(id, charge.status, {
    cost: charge.cost,
    transferId: charge.transferId,
    errorKind: charge.errorKind ?? null,
    errorMessage: charge.errorMessage ?? null,
    finishedAt: new Date(),
  });
}

// ---------------------------------------------------------------------------------------------
// What the member reads

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
