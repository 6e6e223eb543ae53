import type { Prisma } from "@prisma/client";
import { pool } from "#app/utils/db.server";
import { getBoss } from "#app/utils/jobs.server";
import { logger } from "#app/utils/logger.server";
import type { NotificationKind, NotificationProps } from "./registry.server";

// The transactional outbox for email (ADR 0022). A model writes the notification with queueNotification
// INSIDE the transaction of the change it tells about, so the two commit or roll back together; after the
// commit it nudges the sender. The email itself goes out later, from a background job with retries
// (delivery.server.ts), so a member's action never waits for, or fails with, the email provider.

/** The pg-boss queue whose jobs say "send notification <id> now" (ids only, never content). */
export const NOTIFICATION_QUEUE = "notification-send";

export type NotificationInput<Kind extends NotificationKind> = {
  kind: Kind;
  to: string;
  /** The member it concerns (their account), or null for a visitor or an address no longer theirs. */
  userId: string | null;
  props: NotificationProps<Kind>;
  /** For a change that may run twice (a redelivered webhook): a second notification with this key is skipped. */
  dedupeKey?: string;
};

/**
 * Writes one email to send, with the caller's transaction client (or the plain client when the change is a
 * single statement of its own). Returns the notification's id, or null when the dedupe key was used before.
 */
export async function queueNotification<Kind extends NotificationKind>(
  db: Prisma.TransactionClient,
  input: NotificationInput<Kind>,
): Promise<string | null> {
  const [row] = await db.notification.createManyAndReturn({
    data: [
      {
        kind: input.kind,
        recipient: input.to,
        userId: input.userId,
        payload: input.props as Prisma.InputJsonObject,
        dedupeKey: input.dedupeKey ?? null,
      },
    ],
    skipDuplicates: true,
    select: { id: true },
  });
  return row?.id ?? null;
}

/**
 * After the commit: asks a worker to send these notifications now. Best effort and never throws: when the
 * nudge is lost (the database blinked, or no worker ever created the queue), the once-a-minute sweep sends
 * them. The job is written through the app's own pool, so a web process need not start pg-boss for it.
 */
export async function nudgeNotifications(ids: Array<string | null | undefined>): Promise<void> {
  const wanted = ids.filter((id): id is string => typeof id === "string");
  if (wanted.length === 0) return;
  try {
    await getBoss().insert(
      wanted.map((id) => ({ name: NOTIFICATION_QUEUE, data: { id } })),
      { db: { executeSql: (text, values) => pool.query(text, values) } },
    );
  } catch (error) {
    logger.warn("notification.nudge_failed", {
      count: wanted.length,
      errorName: error instanceof Error ? error.name : "unknown",
      sqlState: (error as { code?: string }).code ?? null,
    });
  }
}
