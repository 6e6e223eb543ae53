import pg from "pg";

// While the database is away, every page and API answers 503 with Retry-After instead of a 500: the
// member is told to come back shortly, a load balancer knows to try another instance, and nothing about
// the failure reads as our bug. The HTTP server wraps Remix's handler with `unavailableWhileDatabaseIsDown`:
// when an answer is a 500, one short probe (its own connection, not the app's pool) says whether the
// database was the cause. Probes are shared for a second, so an outage under load costs a probe a second.
// The app's pool needs no help to recover: pg replaces broken connections on the next query.

export const RETRY_AFTER_SECONDS = 5;
const PROBE_TIMEOUT_MS = 2_000;
const PROBE_SHARED_MS = 1_000;

/** One connection, `SELECT 1`, closed again; false when any step fails or takes longer than the timeout. */
export async function databaseReachable(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  // A connection dropped mid-probe emits "error": the probe's answer is false, never a crash.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The 503 a page or an API call gets while the database is away. */
export function databaseUnavailableResponse(request: Request): Response {
  const headers = { "Retry-After": String(RETRY_AFTER_SECONDS), "Cache-Control": "no-store" };
  const message = "The service is briefly unavailable. Please try again in a few seconds.";
  const accept = request.headers.get("accept") ?? "";
  if (accept.includes("text/html")) {
    const html = `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Back in a moment</title><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem"><h1>Back in a moment</h1><p>${message}</p></body></html>`;
    return new Response(html, { status: 503, headers: { ...headers, "Content-Type": "text/html; charset=utf-8" } });
  }
  return Response.json({ error: message, field: null, code: "unavailable" }, { status: 503, headers });
}

/** Wraps a request handler: a 500 answered while the database cannot be reached becomes a 503. */
export function unavailableWhileDatabaseIsDown<Rest extends unknown[]>(
  handle: (request: Request, ...rest: Rest) => Promise<Response>,
  databaseUrl: string | undefined,
): (request: Request, ...rest: Rest) => Promise<Response> {
  let probe: { at: number; result: Promise<boolean> } | null = null;
  const reachable = () => {
    if (!databaseUrl) return Promise.resolve(true);
    if (!probe || Date.now() - probe.at > PROBE_SHARED_MS) {
      probe = { at: Date.now(), result: databaseReachable(databaseUrl) };
    }
    return probe.result;
  };
  return async (request, ...rest) => {
    const response = await handle(request, ...rest);
    if (response.status !== 500 || (await reachable())) return response;
    await response.body?.cancel().catch(() => undefined);
    return databaseUnavailableResponse(request);
  };
}
