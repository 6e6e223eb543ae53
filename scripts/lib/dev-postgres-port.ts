import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";

// `npm run dev` used to die with "triggerUncaughtException undefined" when the embedded PostgreSQL's port
// was taken. These checks turn that into the next free port, or into one line that says what to do.

export const DEFAULT_EMBEDDED_PG_PORT = 54329;
const PORTS_TO_TRY = 20;

export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export class DevPostgresError extends Error {}

/**
 * The port for the embedded cluster: EMBEDDED_PG_PORT when set (and free), else the default or the next
 * free port after it. `note` says what was chosen when it is not the default.
 */
export async function chooseEmbeddedPostgresPort(
  configured: string | undefined,
  firstPort = DEFAULT_EMBEDDED_PG_PORT,
): Promise<{ port: number; note: string | null }> {
  if (configured !== undefined && configured !== "") {
    const port = Number(configured);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new DevPostgresError(`EMBEDDED_PG_PORT must be a port number from 1 to 65535, not "${configured}".`);
    }
    if (!(await isPortFree(port))) {
      throw new DevPostgresError(
        `Port ${port} (EMBEDDED_PG_PORT) is already in use: stop what listens there, or set EMBEDDED_PG_PORT to a free port.`,
      );
    }
    return { port, note: null };
  }
  for (let port = firstPort; port < firstPort + PORTS_TO_TRY; port++) {
    if (await isPortFree(port)) {
      const note =
        port === firstPort
          ? null
          : `Port ${firstPort} is in use; the embedded PostgreSQL takes ${port} (set EMBEDDED_PG_PORT to choose).`;
      return { port, note };
    }
  }
  throw new DevPostgresError(
    `Ports ${firstPort}–${firstPort + PORTS_TO_TRY - 1} are all in use: set EMBEDDED_PG_PORT to a free port.`,
  );
}

/** The pid of a PostgreSQL still running on this data folder (another `npm run dev`), if any. */
export async function runningClusterPid(dataDir: string): Promise<number | null> {
  const lock = await readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => null);
  const pid = Number(lock?.split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    // EPERM: the process exists but belongs to another user (the `postgres` user when run as root).
    return (error as NodeJS.ErrnoException).code === "EPERM" ? pid : null;
  }
}
