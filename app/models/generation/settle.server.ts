import type { Generation } from "@prisma/client";
import {
  InvalidModelIdError,
  isProviderError,
  NoSuchModelError,
  NoSuchProviderError,
  ProviderError,
  ProviderNotConfiguredError,
} from "#providers/index";
import { logger } from "#app/utils/logger.server";
import { priceOf, type Price } from "#app/utils/pricing";
import { postHold, voidHold } from "../ledger.server";
import { checkLowBalance, GENERATION_KIND } from "../wallet.server";
import { failGeneration, FAILURE_TEXT, settleGeneration, type SettledOutcome } from "./lifecycle.server";

// The money at a generation's end: post what its usage costs (never more than the hold) or void the hold,
// then record the end through the lifecycle. Both ledger calls are idempotent, so settling again after a
// lost answer is harmless. Prompts and outputs are never logged: ids, model, status, amounts and timings.

export type Settlement = Pick<
  SettledOutcome,
  "status" | "usage" | "outputText" | "finishReason" | "firstOutputAt" | "errorKind" | "errorMessage"
> & {
  usageEstimated?: boolean;
};

/** Posts the hold at the price of `outcome.usage`, capped at the hold, then records the end. */
export async function settle(
  row: Generation,
  price: Price,
  outcome: Settlement,
  image?: { size?: string; quality?: string },
) {
  const full = priceOf(price, outcome.usage, image);
  const charged = full > row.heldAmount ? row.heldAmount : full;
  // What the vendor bills us for the same usage: the price without our markup (admin revenue figures).
  const providerCost = priceOf({ ...price, markupBps: 0 }, outcome.usage, image);
  const { transferId } = await postHold({
    holdId: row.holdId!,
    amount: charged,
    kind: GENERATION_KIND,
    description: `Generation · ${row.modelId}`,
    // The outcome travels with the charge: if the row cannot be written after this (a crash), the
    // reconcile job still knows whether the member was charged for a whole answer or a partial one.
    metadata: { model: row.modelId, generationId: row.id, status: outcome.status },
  });
  const updated = await settleGeneration(row.id, {
    ...outcome,
    usageEstimated: outcome.usageEstimated ?? false,
    cost: charged,
    uncappedCost: full > charged ? full : null,
    providerCost,
    transferId,
  });
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

export function isRegistryError(error: unknown): boolean {
  return (
    error instanceof NoSuchModelError ||
    error instanceof NoSuchProviderError ||
    error instanceof ProviderNotConfiguredError ||
    error instanceof InvalidModelIdError
  );
}

/** A failure as the member may read it: a provider's own typed error, or a fixed sentence for ours. */
export function describeFailure(row: Generation, error: unknown) {
  const providerError = isProviderError(error)
    ? error
    : isRegistryError(error)
      ? new ProviderError("invalid_request", row.modelId.split(":")[0]!, {
          detail: "model no longer available",
          userMessage: FAILURE_TEXT.modelGone,
        })
      : null;
  if (!providerError) logger.error("generation.error", { generationId: row.id, model: row.modelId, error });
  return {
    kind: providerError?.kind ?? "internal",
    message: providerError?.userMessage ?? FAILURE_TEXT.internal,
    status: providerError?.status,
    code: providerError?.code,
  };
}

/** Releases the hold and records why: the member pays nothing (nothing reached them). */
export async function fail(row: Generation, error: unknown) {
  if (row.holdId) await voidHold(row.holdId);
  const failure = describeFailure(row, error);
  const updated = await failGeneration(row.id, {
    status: failure.kind === "aborted" ? "cancelled" : "failed",
    errorKind: failure.kind,
    errorMessage: failure.message,
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
