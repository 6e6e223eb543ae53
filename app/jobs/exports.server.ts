import type PgBoss from "pg-boss";
import { type BuildExportOptions, buildExport, markExportFailed } from "#app/models/data-rights.server";
import { startedBoss } from "#app/utils/jobs.server";
import { logger } from "#app/utils/logger.server";

// Data exports are built here, not in the request: collecting a member's files and zipping them can take
// a while (the archive streams from storage to storage, so a big one costs time, not memory). The job
// carries only the export id; everything else is read from the database when it runs.

export const EXPORT_QUEUE = "data-export";

type Payload = { exportId: string };

const RETRY_LIMIT = 3;

let queueReady: Promise<void> | null = null;

async function queue(): Promise<PgBoss> {
  const boss = await startedBoss();
  queueReady ??= boss.createQueue(EXPORT_QUEUE, {
    name: EXPORT_QUEUE,
    retryLimit: RETRY_LIMIT,
    retryDelay: 30,
    retryBackoff: true,
    expireInSeconds: 15 * 60,
  });
  await queueReady;
  return boss;
}

export async function enqueueExport(exportId: string) {
  const boss = await queue();
  await boss.send(EXPORT_QUEUE, { exportId } satisfies Payload);
}

/**
 * One attempt; on the last failed attempt the export is marked failed so the member can ask again. A
 * failed attempt leaves no archive behind (storage's putStream removes or aborts a partial write).
 */
export async function runExportJob(
  exportId: string,
  { lastAttempt = false, ...options }: { lastAttempt?: boolean } & BuildExportOptions = {},
) {
  try {
    return await buildExport(exportId, new Date(), options);
  } catch (error) {
    if (lastAttempt) await markExportFailed(exportId);
    throw error;
  }
}

export async function startExportWorker() {
  const boss = await queue();
  await boss.work<Payload>(EXPORT_QUEUE, { batchSize: 1, includeMetadata: true }, async ([job]) => {
    if (!job) return;
    const started = Date.now();
    const outcome = await runExportJob(job.data.exportId, { lastAttempt: job.retryCount >= RETRY_LIMIT });
    logger.info("data_export.job", { exportId: job.data.exportId, outcome, ms: Date.now() - started });
  });
}
