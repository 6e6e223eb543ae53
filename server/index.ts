import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import { broadcastDevReady, installGlobals, type ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { env } from "../app/utils/env.server";
import { logger } from "../app/utils/logger.server";
import { isForbiddenCrossOrigin } from "../app/utils/origin.server";

installGlobals({ nativeFetch: true });

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const buildPath = path.join(root, "build", "index.js");
const build = (await import(pathToFileURL(buildPath).href)) as ServerBuild;
const appOrigin = new URL(env.APP_URL).origin;

const app = express();
app.disable("x-powered-by");
if (env.TRUST_PROXY) app.set("trust proxy", true);
app.use(compression());

app.use((req, res, next) => {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "strict-origin-when-cross-origin");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  res.setHeader(
    "Content-Security-Policy",
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
      "media-src 'self' blob:; connect-src 'self' ws://localhost:*; frame-src 'self'; frame-ancestors 'none'; object-src 'none'; " +
      "base-uri 'self'; form-action 'self' https://accounts.google.com https://checkout.stripe.com",
  );
  if (env.isProduction) res.setHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  next();
});

app.use((req, res, next) => {
  const forbidden = isForbiddenCrossOrigin(
    { method: req.method, path: req.path, origin: req.get("origin"), secFetchSite: req.get("sec-fetch-site") },
    [appOrigin],
  );
  if (forbidden) {
    logger.warn("http.cross_origin_refused", { method: req.method, path: req.path });
    res.status(403).type("text/plain").send("Cross-origin request refused");
    return;
  }
  next();
});

// Static files only for paths that name a file (an extension): page URLs skip the file-system look-ups.
const assets = express.Router();
assets.use("/build", express.static(path.join(root, "public", "build"), { immutable: true, maxAge: "1y" }));
assets.use(express.static(path.join(root, "public"), { maxAge: "1h" }));
const FILE_PATH = /\.[a-z0-9]+$/i;
app.use((req, res, next) => (FILE_PATH.test(req.path) ? assets(req, res, next) : next()));

app.all(
  "*",
  createRequestHandler({
    build,
    mode: build.mode,
    getLoadContext: (req) => ({ clientIp: (env.TRUST_PROXY ? req.ip : req.socket.remoteAddress) ?? "unknown" }),
  }),
);

type JobEntry = { startBackgroundJobs?: () => Promise<void>; stopBackgroundJobs?: () => Promise<void> };
const jobs = build.entry.module as unknown as JobEntry;

const server = app.listen(env.PORT, () => {
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
