import PgBoss from "pg-boss";
import { env } from "./env.server";
import { logger } from "./logger.server";

// Background jobs live in PostgreSQL (pg-boss), so any app instance can run them and a restart
// loses nothing. One boss per process, started by the HTTP server (or a test).
let boss: PgBoss | null = null;

export function getBoss(): PgBoss {
  if (!boss) {
    if (!env.DATABASE_URL) throw new Error("DATABASE_URL is not set");
    boss = new PgBoss({ connectionString: env.DATABASE_URL, schema: "pgboss", max: 4 });
    boss.on("error", (error) => logger.error("jobs.error", { error }));
  }
  return boss;
}

let started: Promise<PgBoss> | null = null;

/** The boss, started once per process (sending a job needs a started boss, even on web-only instances). */
export function startedBoss(): Promise<PgBoss> {
  started ??= getBoss()
    .start()
    .catch((error: unknown) => {
      started = null;
      throw error;
    });
  return started;
}

export async function stopBoss() {
  if (!boss) return;
  const stopping = boss;
  boss = null;
  started = null;
  await stopping.stop({ graceful: true, wait: true, timeout: 10_000 });
}
