import type PgBoss from "pg-boss";
import { runMedia } from "#app/models/generation.server";
import { env } from "#app/utils/env.server";
import { startedBoss } from "#app/utils/jobs.server";
import { logger } from "#app/utils/logger.server";

// Images, speech and video run here, not in the request: the member's page shows progress from the
// database, so a reload or a server restart loses nothing. A video is one job to start it upstream and
// then one job per poll, each scheduled a little later, so no worker sleeps while a vendor renders.

export const GENERATION_QUEUE = "generation-run";

type Payload = { generationId: string };

const WORKERS = 4;

let queueReady: Promise<void> | null = null;

async function queue(): Promise<PgBoss> {
  const boss = await startedBoss();
  queueReady ??= boss.createQueue(GENERATION_QUEUE, {
    name: GENERATION_QUEUE,
    retryLimit: 3,
    retryDelay: 5,
    retryBackoff: true,
    // A job still active after this is presumed lost with its worker, and retried.
    expireInSeconds: env.GENERATION_TIMEOUT_SECONDS + 60,
  });
  await queueReady;
  return boss;
}

/** Queues (or re-queues, after `afterSeconds`) the work for one generation. */
export async function enqueueGeneration(generationId: string, afterSeconds = 0) {
  const boss = await queue();
  await boss.send(
    GENERATION_QUEUE,
    { generationId } satisfies Payload,
    afterSeconds > 0 ? { startAfter: afterSeconds } : {},
  );
}

/** Runs one step of a generation; schedules the next poll when a video is still rendering. */
export async function runGenerationJob(generationId: string) {
  const step = await runMedia(generationId);
  if (step.next === "poll") await enqueueGeneration(generationId, Math.max(1, Math.round(step.afterMs / 1000)));
  return step;
}

export async function startGenerationWorker() {
  const boss = await queue();
  // Several workers of one job each: a failing job is retried alone, never with its neighbours.
  for (let worker = 0; worker < WORKERS; worker++) {
    await boss.work<Payload>(GENERATION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
      if (!job) return;
      const started = Date.now();
      const step = await runGenerationJob(job.data.generationId);
      logger.info("generation.job", { generationId: job.data.generationId, next: step.next, ms: Date.now() - started });
    });
  }
}
