import { migrate } from "./lib/postgres";

// `npm run db:migrate`: brings the database at DATABASE_URL up to date (Prisma migrations, then the
// ledger's SQL functions). Safe to run on every deploy.
const url = process.env.DATABASE_URL;
if (!url) {
  console.error("Set DATABASE_URL to the database to migrate.");
  process.exit(1);
}
const ran = await migrate(url);
console.log(ran ? "Migrations applied; SQL functions up to date." : "No pending migrations; SQL functions up to date.");
