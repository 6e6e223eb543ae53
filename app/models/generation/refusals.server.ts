import { money } from "./settings.server";

// Requests refused before the model was called, and the HTTP status of each: the only place that maps a
// refusal to a status, used by the streaming endpoint and the plain form alike.

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
export function notStarted(field: string | null) {
  return new GenerationRefused(
    "not_started",
    field,
    field === "files"
      ? "Your files could not be stored just now. You were not charged. Please try again in a moment."
      : "This request could not be started just now. You were not charged. Please try again in a moment.",
  );
}

export function capRefusal(maxCost: bigint, cap: bigint) {
  return new GenerationRefused(
    "over_cap",
    "costCap",
    `This request may cost up to ${money(maxCost)}, above your limit of ${money(cap)}. Raise the limit or ask for less.`,
  );
}

export function fundsRefusal(amount: bigint) {
  return new GenerationRefused(
    "insufficient_funds",
    null,
    `This request may cost up to ${money(amount)}, more than your available balance. Top up your wallet to continue.`,
  );
}

export const retryRefusal = () =>
  new GenerationRefused("retry", null, "This request could not be started. Please send it again.");
