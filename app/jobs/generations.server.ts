import {
  enqueueGeneration,
  GENERATION_QUEUE,
  generationQueue,
  runMedia,
  type GenerationJob,
} from "#app/models/generation.server";
import { logger } from "#app/utils/logger.server";

// Images, speech and video run here, not in the request: the member's page shows progress from the
// database, so a reload or a server restart loses nothing. A video is one job to start it upstream and
// then one job per poll, each scheduled a little later, so no worker sleeps while a vendor renders.
// The queue itself belongs to the generation module (a submit adds its job in the same transaction as
// its row); this file only drains it.

export { enqueueGeneration, GENERATION_QUEUE };

const WORKERS = 4;

/** Runs one step of a generation; schedules the next poll when a video is still rendering. */
export async function runGenerationJob(generationId: string) {
  const step = await runMedia(generationId);
  if (step.next === "poll") await enqueueGeneration(generationId, Math.max(1, Math.round(step.afterMs / 1000)));
  return step;
}

export async function startGenerationWorker() {
  const boss = await generationQueue();
  // Several workers of one job each: a failing job is retried alone, never with its neighbours.
  for (let worker = 0; worker < WORKERS; worker++) {
    await boss.work<GenerationJob>(GENERATION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 0.5 }, async ([job]) => {
      if (!job) return;
      const started = Date.now();
      const step = await runGenerationJob(job.data.generationId);
      logger.info("generation.job", { generationId: job.data.generationId, next: step.next, ms: Date.now() - started });
    });
  }
}
