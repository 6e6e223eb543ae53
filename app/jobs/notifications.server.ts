import type PgBoss from "pg-boss";
import { deliverDueNotifications, deliverNotification } from "#app/notifications/delivery.server";
import { NOTIFICATION_QUEUE } from "#app/notifications/outbox.server";
import { startedBoss } from "#app/utils/jobs.server";
import { logger } from "#app/utils/logger.server";

// Sends queued emails: a job per nudge (written right after the change committed), and the sweep that JOBS
// schedules every minute for retries and lost nudges. Retries are the notification row's own schedule
// (app/notifications/delivery.server.ts), so a nudge job is never retried by pg-boss.

type Payload = { id: string };

const WORKERS = 2;

async function queue(): Promise<PgBoss> {
  const boss = await startedBoss();
  await boss.createQueue(NOTIFICATION_QUEUE, {
    name: NOTIFICATION_QUEUE,
    retryLimit: 0,
    // An attempt gives up on the provider after 10 s; the row's lease frees it for the sweep after 2 min.
    expireInSeconds: 5 * 60,
  });
  return boss;
}

/** The scheduled sweep: sends what is due (retries, and rows whose nudge was lost). */
export function sweepNotificationsJob() {
  return deliverDueNotifications();
}

export async function startNotificationWorker() {
  const boss = await queue();
  // Polling every second: an email (a verification code) arrives a second or so after the action.
  for (let worker = 0; worker < WORKERS; worker++) {
    await boss.work<Payload>(NOTIFICATION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, async ([job]) => {
      if (!job) return;
      const outcome = await deliverNotification(job.data.id);
      logger.debug("notification.job", { notificationId: job.data.id, outcome });
    });
  }
}
