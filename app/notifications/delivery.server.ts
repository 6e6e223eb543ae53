import { Prisma } from "@prisma/client";
import { prisma } from "#app/utils/db.server";
import {
  EmailSendError,
  type EmailTransport,
  getEmailTransport,
  renderEmail,
  sendRenderedEmail,
} from "#app/utils/email.server";
import { logger } from "#app/utils/logger.server";
import { composeNotification, isNotificationKind } from "./registry.server";

// Sends queued notifications (ADR 0022). One attempt = claim the row (a short lease, so the nudge job and
// the sweep never send one email twice at the same time), render its template, hand it to the transport
// with the row id as idempotency key, then mark the row. A failed attempt is scheduled again with growing
// pauses for about a day; the once-a-minute sweep picks up what is due (and any row whose nudge was lost).

/** 1, 2, 4 … minutes, at most 4 hours apart: the 14th and last attempt comes about a day after the first. */
export const MAX_ATTEMPTS = 14;
const FIRST_RETRY_MS = 60_000;
const LONGEST_PAUSE_MS = 4 * 60 * 60_000;
/** Longer than one attempt can take (the transport gives up after SEND_TIMEOUT_MS). */
const LEASE_MS = 2 * 60_000;
/** Sent and given-up rows (already without address and content) are deleted this long after they were written. */
export const NOTIFICATION_RETENTION_DAYS = 7;
const DAY_MS = 86_400_000;

/** The pause after the given number of failed attempts. */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(attempts - 1, 0), LONGEST_PAUSE_MS);
}

/** From the first attempt to the last (the privacy page states it). */
export const RETRY_WINDOW_MS = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, index) => retryDelayMs(index + 1)).reduce(
  (total, pause) => total + pause,
  0,
);

export type DeliveryOutcome =
  /** Handed to the provider. */
  | "sent"
  /** Failed for now; tried again later. */
  | "retry"
  /** Given up (too many attempts, or refused for good). */
  | "failed"
  /** Not due, already sent, or being sent by someone else. */
  | "skipped";

type Options = { now?: Date; transport?: EmailTransport };

/** One attempt at one notification. Never throws for a provider failure: the row records it. */
export async function deliverNotification(id: string, { now = new Date(), transport }: Options = {}) {
  const [row] = await prisma.notification.updateManyAndReturn({
    where: {
      id,
      status: "pending",
      nextAttemptAt: { lte: now },
      OR: [{ lockedUntil: null }, { lockedUntil: { lte: now } }],
    },
    data: { attempts: { increment: 1 }, lockedUntil: new Date(now.getTime() + LEASE_MS) },
  });
  if (!row) return "skipped" satisfies DeliveryOutcome;

  let failure: { error: string; final: boolean };
  try {
    if (!isNotificationKind(row.kind) || !row.recipient) {
      // A kind this version does not know (a newer instance wrote it during a deploy): leave it to one that does.
      failure = { error: row.recipient ? "unknown_kind" : "no_recipient", final: !row.recipient };
    } else {
      const rendered = await render(row.kind, row.payload);
      if (!rendered) {
        failure = { error: "render_failed", final: true };
      } else {
        const result = await sendRenderedEmail(
          { to: row.recipient, tag: row.kind, ...rendered },
          { transport: transport ?? getEmailTransport(), idempotencyKey: row.id },
        );
        await finish(row.id, { status: "sent", providerId: result.id, lastError: null }, now);
        logger.info("notification.sent", { notificationId: row.id, kind: row.kind, attempts: row.attempts });
        return "sent" satisfies DeliveryOutcome;
      }
    }
  } catch (error) {
    failure = describeFailure(error);
  }

  if (failure.final || row.attempts >= MAX_ATTEMPTS) {
    await finish(row.id, { status: "failed", providerId: null, lastError: failure.error }, now);
    logger.error("notification.given_up", {
      notificationId: row.id,
      kind: row.kind,
      attempts: row.attempts,
      error: failure.error,
    });
    return "failed" satisfies DeliveryOutcome;
  }
  await prisma.notification.updateMany({
    where: { id: row.id, status: "pending" },
    data: {
      lastError: failure.error,
      lockedUntil: null,
      nextAttemptAt: new Date(now.getTime() + retryDelayMs(row.attempts)),
    },
  });
  logger.warn("notification.retry_later", {
    notificationId: row.id,
    kind: row.kind,
    attempts: row.attempts,
    error: failure.error,
  });
  return "retry" satisfies DeliveryOutcome;
}

async function render(kind: Parameters<typeof composeNotification>[0], payload: unknown) {
  try {
    const { subject, react } = composeNotification(kind, payload);
    return { subject, ...(await renderEmail(react)) };
  } catch (error) {
    logger.error("notification.render_failed", { kind, errorName: error instanceof Error ? error.name : "unknown" });
    return null;
  }
}

/** What to record about a failed send: its status and error name (never the provider's message). */
function describeFailure(error: unknown): { error: string; final: boolean } {
  if (error instanceof EmailSendError) {
    // The provider refused this email itself (a malformed address): sending it again cannot help.
    const final = error.status === 400 || error.status === 422;
    return { error: `status ${error.status ?? "none"} ${error.code ?? "no_code"}`.slice(0, 200), final };
  }
  return { error: error instanceof Error ? error.name : "unknown", final: false };
}

/** Sent or given up: the address and content go at once; the row (kind, times, status) stays a few days. */
async function finish(
  id: string,
  outcome: { status: "sent" | "failed"; providerId: string | null; lastError: string | null },
  now: Date,
) {
  await prisma.notification.updateMany({
    where: { id, status: "pending" },
    data: {
      ...outcome,
      recipient: null,
      payload: Prisma.DbNull,
      lockedUntil: null,
      finishedAt: now,
    },
  });
}

export type SweepResult = { sent: number; retry: number; failed: number; skipped: number };

/**
 * Sends every due notification, oldest due first, one at a time (what the once-a-minute job runs, and what
 * tests call to deliver what an action queued). Stops early at a failure that calls for a retry (the provider
 * is probably down: the next sweep tries again) and after `budgetMs`, so one sweep never runs into the next.
 */
export async function deliverDueNotifications({
  now = new Date(),
  limit = 100,
  budgetMs = 45_000,
  transport,
}: Options & { limit?: number; budgetMs?: number } = {}): Promise<SweepResult> {
  const started = Date.now();
  const due = await prisma.notification.findMany({
    where: {
      status: "pending",
      nextAttemptAt: { lte: now },
      OR: [{ lockedUntil: null }, { lockedUntil: { lte: now } }],
    },
    orderBy: [{ nextAttemptAt: "asc" }, { id: "asc" }],
    select: { id: true },
    take: limit,
  });
  const result: SweepResult = { sent: 0, retry: 0, failed: 0, skipped: 0 };
  for (const { id } of due) {
    const outcome = await deliverNotification(id, { now, transport });
    result[outcome] += 1;
    if (outcome === "retry" || Date.now() - started > budgetMs) break;
  }
  return result;
}

/** How many emails are waiting to be sent (the dev outbox page shows it). */
export function countPendingNotifications(): Promise<number> {
  return prisma.notification.count({ where: { status: "pending" } });
}

/** Retention: every notification row goes NOTIFICATION_RETENTION_DAYS after it was written. */
export async function purgeNotifications(now = new Date()): Promise<number> {
  const { count } = await prisma.notification.deleteMany({
    where: { createdAt: { lt: new Date(now.getTime() - NOTIFICATION_RETENTION_DAYS * DAY_MS) } },
  });
  return count;
}
