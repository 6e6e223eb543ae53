import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { freePort, startEmbeddedPostgres } from "./lib/postgres";

// `npm run db:new-migration -- <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql with the
// SQL that takes the committed prisma/schema.prisma (HEAD) to the working copy. A scratch embedded
// Postgres only satisfies the driver adapter; nothing is read from it.
// (`prisma migrate dev` needs a shadow database, which the driver-adapter setup cannot make offline;
// see docs/decisions/0001-prisma-offline-migrations.md.) Review the SQL; add plain statements (CHECKs,
// indexes) below the generated part, but no comment or statement may hide a semicolon inside a string
// or a function body: PL/pgSQL functions go to prisma/sql/*.sql instead.
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("Usage: npm run db:new-migration -- <snake_case_name>");
  process.exit(1);
}

const dir = await mkdtemp(path.join(os.tmpdir(), "ai-wallet-migration-"));
const server = await startEmbeddedPostgres({ dir: path.join(dir, "data"), port: await freePort(), persistent: false });
try {
  const url = server.url("postgres");
  // The schema as last committed is the schema of the last migration (commit them together).
  const pulled = path.join(dir, "committed.prisma");
  await writeFile(pulled, execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { encoding: "utf8" }));
  const sql = execFileSync(
    "npx",
    [
      "prisma",
      "migrate",
      "diff",
      "--from-schema-datamodel",
      pulled,
      "--to-schema-datamodel",
      "prisma/schema.prisma",
      "--script",
    ],
    { env: { ...process.env, DATABASE_URL: url }, encoding: "utf8" },
  );
  if (/^-- This is an empty migration/m.test(sql)) {
    console.log("The schema matches the migrations: nothing to write.");
  } else {
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    const target = path.join("prisma", "migrations", `${stamp}_${name}`);
    await mkdir(target, { recursive: true });
    await writeFile(path.join(target, "migration.sql"), sql);
    console.log(`Wrote ${target}/migration.sql (${(await readdir(target)).length} file). Review it before committing.`);
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
