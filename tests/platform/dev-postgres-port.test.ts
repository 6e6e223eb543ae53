import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  chooseEmbeddedPostgresPort,
  DevPostgresError,
  isPortFree,
  runningClusterPid,
} from "../../scripts/lib/dev-postgres-port";

// `npm run dev` with the embedded PostgreSQL's port taken died with "triggerUncaughtException undefined".
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

function occupy(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    servers.push(server);
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

describe("the embedded PostgreSQL's port in development", () => {
  it("takes the next free port when the usual one is taken, and says so", async () => {
    const taken = await occupy();
    expect(await isPortFree(taken)).toBe(false);
    const chosen = await chooseEmbeddedPostgresPort(undefined, taken);
    expect(chosen.port).toBeGreaterThan(taken);
    expect(await isPortFree(chosen.port)).toBe(true);
    expect(chosen.note).toBe(
      `Port ${taken} is in use; the embedded PostgreSQL takes ${chosen.port} (set EMBEDDED_PG_PORT to choose).`,
    );
  });

  it("keeps the usual port silently when it is free", async () => {
    const free = await occupy();
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect(await chooseEmbeddedPostgresPort("", free)).toEqual({ port: free, note: null });
  });

  it("names the port and EMBEDDED_PG_PORT in one line when the configured port is taken", async () => {
    const taken = await occupy();
    const attempt = chooseEmbeddedPostgresPort(String(taken));
    await expect(attempt).rejects.toBeInstanceOf(DevPostgresError);
    await expect(attempt).rejects.toThrow(
      `Port ${taken} (EMBEDDED_PG_PORT) is already in use: stop what listens there, or set EMBEDDED_PG_PORT to a free port.`,
    );
  });

  it("refuses a configured port that is not a port number", async () => {
    for (const value of ["abc", "0", "70000", "5432.5"]) {
      await expect(chooseEmbeddedPostgresPort(value)).rejects.toThrow(/EMBEDDED_PG_PORT must be a port number/);
    }
  });

  it("recognises a data folder held by a running PostgreSQL, and ignores a stale lock", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "pg-lock-"));
    try {
      expect(await runningClusterPid(dir)).toBeNull();
      await writeFile(path.join(dir, "postmaster.pid"), `${process.pid}\n${dir}\n`);
      expect(await runningClusterPid(dir)).toBe(process.pid);
      await writeFile(path.join(dir, "postmaster.pid"), "2147483646\n");
      expect(await runningClusterPid(dir)).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
