import { afterAll, inject } from "vitest";
import { withClient } from "../../scripts/lib/postgres";

// Each test file gets a fresh database cloned from the migrated template, named after its worker,
// and process.env.DATABASE_URL points at it before any app module is imported.
const adminUrl = inject("pgAdminUrl");
const template = inject("pgTemplateDatabase");
const database = `test_${process.env.VITEST_POOL_ID ?? "0"}_${process.pid}`;

await withClient(adminUrl, async (client) => {
  await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await client.query(`CREATE DATABASE "${database}" TEMPLATE "${template}"`);
});
process.env.DATABASE_URL = adminUrl.replace(/\/[^/]*$/, `/${database}`);

afterAll(async () => {
  const { closeDatabase } = await import("#app/utils/db.server");
  await closeDatabase();
});
