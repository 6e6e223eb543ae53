import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import pg from "pg";
import { env } from "./env.server";
import { logger } from "./logger.server";

// One pg pool per process, shared by Prisma (through its driver adapter) and by the few hot paths that
// call SQL directly (see `sql` below). One pool means one connection budget for the whole process.
function createPool() {
  if (!env.DATABASE_URL) {
    throw new Error("DATABASE_URL is not set. `npm run dev` starts an embedded PostgreSQL and sets it for you.");
  }
  // allowExitOnIdle: scripts and tests end when their work is done, without having to close the pool.
  return new pg.Pool({ connectionString: env.DATABASE_URL, max: 10, allowExitOnIdle: true });
}

export const pool = createPool();
// An idle connection that the server drops (a restart, a failover) emits an error on the pool; without a
// listener that would crash the process. The pool replaces the connection on the next query.
pool.on("error", (error) => logger.warn("db.idle_connection_error", { code: (error as { code?: string }).code }));

/** Closes the database connections (scripts and benchmarks, before their PostgreSQL stops). */
export async function closeDatabase() {
  await prisma.$disconnect();
  await pool.end();
}

// One client per process; in development the server restarts on rebuild, so no global cache is needed.
export const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });

/**
 * A parameterised statement run straight on the pool, for the hot paths where Prisma's per-query
 * overhead shows in the benchmarks (the session check on every request, the ledger's SQL functions).
 * Everything else uses Prisma. A `name` makes it a prepared statement, parsed once per connection.
 * Values are sent as parameters, never spliced into the text. pg returns bigint columns as strings
 * and timestamptz as Date.
 */
export async function sql<Row extends Record<string, unknown>>(
  statement: { text: string; name?: string },
  values: unknown[] = [],
): Promise<Row[]> {
  const result = await pool.query<Row>({ text: statement.text, name: statement.name, values });
  return result.rows;
}
