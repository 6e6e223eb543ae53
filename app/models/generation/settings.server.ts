import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";

// Constants and small helpers every part of the generation module shares.

export const INPUT_FILE_PURPOSE = "generation-input";
export const OUTPUT_FILE_PURPOSE = "generation-output";

/** How long a text hold outlives the generation's timeout: time to record the outcome after an outage. */
export const HOLD_GRACE_MS = 2 * 60_000;
/** Media may wait in the queue (a worker down, a long video queue): its hold lasts a day. */
export const MEDIA_HOLD_MS = 24 * 60 * 60_000;

export const timeoutMs = () => env.GENERATION_TIMEOUT_SECONDS * 1000;

export const money = (amount: bigint) => formatMoney(amount, env.WALLET_CURRENCY);
