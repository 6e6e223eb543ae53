import { startedBoss } from "#app/utils/jobs.server";
import { logger } from "#app/utils/logger.server";
import { startExportWorker } from "./exports.server";
import { startGenerationWorker } from "./generations.server";
import { purgeExpiredJob, reconcileGenerationsJob, voidExpiredHoldsJob } from "./maintenance.server";
import { startNotificationWorker, sweepNotificationsJob } from "./notifications.server";

// Every background job, its schedule, and its handler. pg-boss guarantees a scheduled job runs once
// per tick across all instances.
export const JOBS = {
  voidExpiredHolds: { name: "ledger-void-expired-holds", cron: "* * * * *", run: voidExpiredHoldsJob },
  purgeExpired: { name: "maintenance-purge-expired", cron: "17 * * * *", run: purgeExpiredJob },
  reconcileGenerations: { name: "generations-reconcile", cron: "*/5 * * * *", run: reconcileGenerationsJob },
  sweepNotifications: { name: "notifications-sweep", cron: "* * * * *", run: sweepNotificationsJob },
} as const;

export async function startBackgroundJobs() {
  const boss = await startedBoss();
  for (const job of Object.values(JOBS)) {
    await boss.createQueue(job.name);
    await boss.schedule(job.name, job.cron);
    await boss.work(job.name, async () => {
      const started = Date.now();
      const result = await job.run();
      logger.info("job.done", { job: job.name, ms: Date.now() - started, result });
    });
  }
  await startGenerationWorker();
  await startNotificationWorker();
  await startExportWorker();
  logger.info("jobs.started", { jobs: Object.values(JOBS).map((job) => job.name) });
}
