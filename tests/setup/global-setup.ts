import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { ensureDatabase, freePort, migrate, startEmbeddedPostgres, withClient } from "../../scripts/lib/postgres";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplateDatabase: string;
  }
}

export const TEMPLATE_DATABASE = "template_app";

/**
 * One real PostgreSQL for the whole run. The schema is migrated once into a template database;
 * each test file then gets its own copy (CREATE DATABASE … TEMPLATE), which takes milliseconds.
 * Set TEST_DATABASE_ADMIN_URL to use an existing server instead of the embedded one.
 */
export default async function setup(project: TestProject) {
  let adminUrl = process.env.TEST_DATABASE_ADMIN_URL;
  let stop = async () => undefined as void;
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(os.tmpdir(), "ai-wallet-test-pg-"));
    const server = await startEmbeddedPostgres({
      dir: path.join(dir, "data"),
      port: await freePort(),
      persistent: false,
    });
    adminUrl = server.url("postgres");
    stop = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`));
  await ensureDatabase(adminUrl, TEMPLATE_DATABASE);
  await migrate(adminUrl.replace(/\/[^/]*$/, `/${TEMPLATE_DATABASE}`), { force: true });
  project.provide("pgAdminUrl", adminUrl);
  project.provide("pgTemplateDatabase", TEMPLATE_DATABASE);
  return stop;
}
