import type { Generation } from "@prisma/client";
import type { Usage } from "#providers/index";
import { isDatabaseUnavailable } from "#app/utils/db.server";
import type { TextStreamEvent } from "#app/utils/generation-stream";
import { logger } from "#app/utils/logger.server";
import { deliveredUsage, type Delivery } from "#app/utils/pricing";
import { getRegistry } from "#app/utils/providers.server";
import { outcomeMessage, UNRECORDED_MESSAGE } from "./lifecycle.server";
import type { PreparedText } from "./prepare-text.server";
import { describeFailure, fail, settle } from "./settle.server";
import { HOLD_GRACE_MS, timeoutMs } from "./settings.server";

// A prepared text generation streamed to the member, then settled by the rule of docs/decisions/0012.

/** An event of the text stream (the wire protocol: app/utils/generation-stream.ts). */
export type TextEvent = TextStreamEvent;

export type StartedText = Extract<PreparedText, { replayed: false }>;

type Finish = { usage: Usage; finishReason: string };

/**
 * Streams the answer to `emit`, then settles. Aborting `signal` (the browser went away, or pressed Stop)
 * cancels the upstream call. Output that reached the member is charged however the stream ended (stop,
 * timeout, upstream error): the input and the output delivered, capped at the hold, status "partial".
 * Only a stream that delivered nothing is free (docs/decisions/0012). Never rejects: when the charge
 * cannot be recorded (the database is away), the generation stays "running", recording is retried in
 * the background until the hold's expiry, and the sweeper releases the hold after that.
 */
export async function streamText(
  prepared: StartedText,
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
  let finish: Finish | undefined;
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
  const unrecorded = settled.status === "running";
  emit({
    type: "done",
    generationId: settled.id,
    status: settled.status,
    cost: settled.cost ?? 0n,
    text: unrecorded ? delivery.text : (settled.outputText ?? ""),
    message: unrecorded ? UNRECORDED_MESSAGE : outcomeMessage(settled),
  });
  return settled;
}

/**
 * Settles the generation from how its stream ended; never throws. When the database cannot take it,
 * the same settlement is retried in the background (it is idempotent: the hold posts or voids once, and
 * the lifecycle takes the same end twice as one).
 */
async function recordOutcome(
  prepared: StartedText,
  delivery: Delivery,
  finish: Finish | undefined,
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
