import type { Prisma } from "@prisma/client";
import type PgBoss from "pg-boss";
import { env } from "#app/utils/env.server";
import { startedBoss } from "#app/utils/jobs.server";

// The queue of media generations' work (pg-boss, in PostgreSQL). The worker that drains it is
// app/jobs/generations.server.ts; the module owns the queue so that a submit can add its job in the same
// transaction as its row (docs/decisions/0021).

export const GENERATION_QUEUE = "generation-run";

export type GenerationJob = { generationId: string };

let queueReady: Promise<void> | null = null;

/** The started boss, with the generation queue created (once per process). */
export async function generationQueue(): Promise<PgBoss> {
  const boss = await startedBoss();
  queueReady ??= boss
    .createQueue(GENERATION_QUEUE, {
      name: GENERATION_QUEUE,
      retryLimit: 3,
      retryDelay: 5,
      retryBackoff: true,
      // A job still active after this is presumed lost with its worker, and retried.
      expireInSeconds: env.GENERATION_TIMEOUT_SECONDS + 60,
    })
    .catch((error: unknown) => {
      queueReady = null;
      throw error;
    });
  await queueReady;
  return boss;
}

/**
 * Queues (or re-queues, after `afterSeconds`) the work for one generation; inside `tx` when given, so the
 * job exists exactly when the transaction that wrote its generation commits.
 */
export async function enqueueGeneration(generationId: string, afterSeconds = 0, tx?: Prisma.TransactionClient) {
  const boss = await generationQueue();
  await boss.send(GENERATION_QUEUE, { generationId } satisfies GenerationJob, {
    ...(afterSeconds > 0 ? { startAfter: afterSeconds } : {}),
    ...(tx ? { db: onTransaction(tx) } : {}),
  });
}

/** pg-boss's statements run on a Prisma transaction's connection (its `db` option). */
function onTransaction(tx: Prisma.TransactionClient): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      // Prisma takes null, not undefined, for a parameter pg-boss leaves unset.
      const rows = await tx.$queryRawUnsafe<unknown[]>(text, ...values.map((value) => value ?? null));
      return { rows };
    },
  };
}
