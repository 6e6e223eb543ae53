import type PgBoss from "pg-boss";
import { sendDecisionEmail } from "#app/models/manual-topups.server";
import { sendCardReceipt } from "#app/models/stripe-topups.server";
import { startedBoss } from "#app/utils/jobs.server";
import { logger } from "#app/utils/logger.server";

// Emails about money that could not be sent at the moment it moved (the email provider was down) are
// retried from here, with growing pauses, for about a day. Each job re-reads what to say from the database,
// so a retry sends the facts as they are, and carries nothing but ids.

export const EMAIL_RETRY_QUEUE = "email-retry";

export type EmailRetry =
  { kind: "card-receipt"; checkoutSessionId: string } | { kind: "manual-topup-decision"; topUpId: string };

let queueReady: Promise<void> | null = null;

async function queue(): Promise<PgBoss> {
  const boss = await startedBoss();
  // 60 s, then doubling: the last of 10 tries comes about 17 hours after the first.
  queueReady ??= boss.createQueue(EMAIL_RETRY_QUEUE, {
    name: EMAIL_RETRY_QUEUE,
    retryLimit: 10,
    retryDelay: 60,
    retryBackoff: true,
  });
  await queueReady;
  return boss;
}

/** Queues a retry; if even that fails (the database is down too), the loss is logged. */
export async function enqueueEmailRetry(email: EmailRetry, options: { startAfterSeconds?: number } = {}) {
  try {
    const boss = await queue();
    await boss.send(EMAIL_RETRY_QUEUE, email, { startAfter: options.startAfterSeconds ?? 60 });
  } catch (error) {
    logger.error("email.retry_enqueue_failed", { kind: email.kind, error });
  }
}

/** Sends the email again; throws when it still cannot (pg-boss then tries later). */
export async function runEmailRetry(email: EmailRetry) {
  if (email.kind === "card-receipt") await sendCardReceipt(email.checkoutSessionId);
  else await sendDecisionEmail(email.topUpId);
}

export async function startEmailWorker() {
  const boss = await queue();
  await boss.work<EmailRetry>(EMAIL_RETRY_QUEUE, { batchSize: 1 }, async ([job]) => {
    if (!job) return;
    await runEmailRetry(job.data);
    logger.info("email.retry_sent", { kind: job.data.kind });
  });
}
