import { createHash, randomBytes } from "node:crypto";
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
pool.on("error", (error) => logger.warn("db.idle_connection_error", { sqlState: (error as { code?: string }).code }));

// Error codes that mean "the database cannot be reached right now" rather than "this statement is wrong":
// sockets (refused, reset, timed out), PostgreSQL's connection and shutdown classes (08…, 57P01-57P03,
// too many connections), and Prisma's "can't reach / connection closed / pool timeout".
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "P1001",
  "P1002",
  "P1017",
  "P2024",
]);
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
// pg reports a connection lost mid-query with a plain Error and no code.
const UNAVAILABLE_MESSAGE =
  /Connection terminated|Connection ended|connection is closed|terminating connection|the database system is (starting up|shutting down|in recovery mode)|Can't reach database server|timeout exceeded when trying to connect/i;

/**
 * Whether an error (or one it wraps) says the database is unreachable for now: such a request answers
 * 503 and is worth retrying, rather than being our bug. Follows `cause`, Prisma's driver-adapter error
 * and AggregateError (a refused connection to both ::1 and 127.0.0.1).
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== "object" || depth > 6) return false;
  const value = error as {
    code?: unknown;
    kind?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
    meta?: { driverAdapterError?: unknown };
  };
  if (typeof value.code === "string" && UNAVAILABLE_CODES.has(value.code)) return true;
  if (typeof value.kind === "string" && UNAVAILABLE_KINDS.has(value.kind)) return true;
  if (typeof value.message === "string" && UNAVAILABLE_MESSAGE.test(value.message)) return true;
  const inner = [value.cause, value.meta?.driverAdapterError, ...(Array.isArray(value.errors) ? value.errors : [])];
  return inner.some((candidate) => isDatabaseUnavailable(candidate, depth + 1));
}

/** Closes the database connections (scripts and benchmarks, before their PostgreSQL stops). */
export async function closeDatabase() {
  await prisma.$disconnect();
  await pool.end();
}

// One client per process; in development the server restarts on rebuild, so no global cache is needed.
export const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });

// Rows from `sql` carry int8 columns as BigInt, as Prisma does (money is BigInt end to end).
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary"
      ? (value: string) => BigInt(value)
      : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
};

/**
 * A parameterised statement run straight on the pool, for the hot paths where Prisma's per-query
 * overhead shows in the benchmarks (the session check on every request, the ledger's SQL functions, the
 * start and settlement of a generation). Everything else uses Prisma. A `name` makes it a prepared
 * statement, parsed once per connection. Values are sent as parameters, never spliced into the text.
 * int8 comes back as BigInt, timestamptz as Date, json/jsonb parsed.
 */
export async function sql<Row extends Record<string, unknown>>(
  statement: { text: string; name?: string },
  values: unknown[] = [],
): Promise<Row[]> {
  const result = await pool.query<Row>({ text: statement.text, name: statement.name, values, types });
  return result.rows;
}

/**
 * The column list of a Prisma model for `sql` (e.g. `columnsOf(Prisma.GenerationScalarFieldEnum)`): exactly
 * the fields Prisma reads, never columns it does not know (such as a generated search vector).
 */
export function columnsOf(fields: Record<string, string>): string {
  return Object.values(fields)
    .map((field) => `"${field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)}"`)
    .join(", ");
}

/**
 * A row selected with `columnsOf` turned back into Prisma's field names (snake_case → camelCase), for
 * tables whose @map names are the snake_case of their fields (tests/db.test.ts compares the two).
 */
export function camelRow<Model>(row: Record<string, unknown>): Model {
  const result: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    result[column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())] = value;
  }
  return result as Model;
}

const ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
const idFrom = (bytes: Uint8Array) =>
  "c" + Array.from(bytes.subarray(0, 24), (byte) => ID_ALPHABET[byte % 36]).join("");

/** A new primary key shaped like Prisma's cuid() ids ("c" + 24 base-36 characters), for rows made by `sql`. */
export function newId(): string {
  return idFrom(randomBytes(24));
}

/** The same shape of key, derived from its parts: every caller with the same parts names the same row. */
export function stableId(...parts: string[]): string {
  return idFrom(createHash("sha256").update(parts.join("\u0000")).digest());
}
