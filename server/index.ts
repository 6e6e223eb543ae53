import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { broadcastDevReady, createRequestHandler, installGlobals, type ServerBuild } from "@remix-run/node";
import { unavailableWhileDatabaseIsDown } from "../app/utils/database-outage.server";
import { env } from "../app/utils/env.server";
import { logger } from "../app/utils/logger.server";
import { createRequestListener } from "./http";

installGlobals({ nativeFetch: true });

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const buildPath = path.join(root, "build", "index.js");
const build = (await import(pathToFileURL(buildPath).href)) as ServerBuild;

const server = createServer(
  createRequestListener({
    // While the database is away, pages and APIs answer 503 with Retry-After rather than 500.
    handle: unavailableWhileDatabaseIsDown(createRequestHandler(build, build.mode), env.DATABASE_URL),
    publicDir: path.join(root, "public"),
    appOrigin: new URL(env.APP_URL).origin,
    trustProxy: env.TRUST_PROXY,
    production: env.isProduction,
    liveReload: build.mode === "development",
    acceptRequestHost: build.mode === "development",
    onCrossOriginRefused: (request) =>
      request.misconfiguredAppUrl
        ? logger.warn("http.cross_origin_refused.app_url_mismatch", {
            ...request,
            appUrl: env.APP_URL,
            hint: "the browser used another address than APP_URL: set APP_URL to the address members use",
          })
        : logger.warn("http.cross_origin_refused", request),
    onError: (error) => logger.error("http.request_failed", { error }),
  }),
);

type JobEntry = { startBackgroundJobs?: () => Promise<void>; stopBackgroundJobs?: () => Promise<void> };
const jobs = build.entry.module as unknown as JobEntry;

server.listen(env.PORT, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : env.PORT;
  logger.info("http.listening", { port, mode: build.mode });
  // The test harness and dev script read this line to find the port.
  process.stdout.write(`READY http://localhost:${port}\n`);
  if (build.mode === "development") void broadcastDevReady(build);
  if (env.BACKGROUND_JOBS) {
    jobs.startBackgroundJobs?.().catch((error: unknown) => logger.error("jobs.start_failed", { error }));
  }
});

function shutdown() {
  server.close(() => {
    void (jobs.stopBackgroundJobs?.() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(0), 8000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
