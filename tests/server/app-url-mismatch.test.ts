import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createRequestListener, type CrossOriginRefusal, type ListenerOptions } from "../../server/http";

// `npm run dev` opened at http://127.0.0.1:3000 or a LAN address refused every form (403 cross-origin,
// APP_URL defaulting to localhost) and the member saw only "Something went wrong".
let server: http.Server | null = null;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(options: Partial<ListenerOptions>) {
  const refusals: CrossOriginRefusal[] = [];
  let reached = 0;
  server = http.createServer(
    createRequestListener({
      handle: async () => {
        reached += 1;
        return new Response("saved");
      },
      publicDir: "/nonexistent",
      appOrigin: "http://localhost:3000",
      trustProxy: false,
      production: false,
      onCrossOriginRefused: (refusal) => refusals.push(refusal),
      ...options,
    }),
  );
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { port, refusals, reached: () => reached };
}

function post(port: number, headers: Record<string, string>) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path: "/login", method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    request.on("error", reject);
    request.end("email=a");
  });
}

describe("forms posted from another address of the same server", () => {
  it("are accepted in development from 127.0.0.1, a LAN address or a .local name", async () => {
    const app = await serve({ acceptRequestHost: true });
    for (const host of [
      `127.0.0.1:${app.port}`,
      `192.168.1.20:${app.port}`,
      `[::1]:${app.port}`,
      "laptop.local:3000",
    ]) {
      const answer = await post(app.port, { host, origin: `http://${host}` });
      expect(answer, host).toEqual({ status: 200, body: "saved" });
    }
    expect(app.reached()).toBe(4);
  });

  it("stay refused in development for a domain name (DNS rebinding) and for another site", async () => {
    const app = await serve({ acceptRequestHost: true });
    expect((await post(app.port, { host: "rebind.example:3000", origin: "http://rebind.example:3000" })).status).toBe(
      403,
    );
    const crossSite = await post(app.port, { host: `127.0.0.1:${app.port}`, origin: "http://evil.example" });
    expect(crossSite).toEqual({ status: 403, body: "Cross-origin request refused" });
    expect(app.reached()).toBe(0);
  });

  it("are refused in production with the mismatch named in the answer and the log", async () => {
    const app = await serve({ production: true, appOrigin: "https://wallet.example" });
    const answer = await post(app.port, { host: "10.0.0.5:3000", origin: "http://10.0.0.5:3000" });
    expect(answer.status).toBe(403);
    expect(answer.body).toBe(
      "Cross-origin request refused: this page was opened at http://10.0.0.5:3000, but the app's APP_URL is " +
        "https://wallet.example. Open the app at https://wallet.example, or set APP_URL to the address members use.",
    );
    expect(app.refusals).toEqual([
      { method: "POST", path: "/login", origin: "http://10.0.0.5:3000", misconfiguredAppUrl: true },
    ]);
    // A real cross-site post learns nothing about the configuration.
    const crossSite = await post(app.port, { host: "10.0.0.5:3000", origin: "https://evil.example" });
    expect(crossSite.body).toBe("Cross-origin request refused");
    expect(app.refusals[1]).toMatchObject({ origin: "https://evil.example", misconfiguredAppUrl: false });
    expect(app.reached()).toBe(0);
  });
});
