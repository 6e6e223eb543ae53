// Remix's Node entry (one render path for bots and browsers; the abort timer is cleared when a render
// ends), plus the background-job starter the HTTP server calls through the build (build.entry.module), so
// jobs share this bundle's database client.
export { startBackgroundJobs } from "#app/jobs/index.server";
export { stopBoss as stopBackgroundJobs } from "#app/utils/jobs.server";

import { PassThrough } from "node:stream";

import type { AppLoadContext, EntryContext, HandleErrorFunction } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { NonceProvider } from "#app/utils/csp-nonce";
import { logger } from "#app/utils/logger.server";

const ABORT_DELAY = 5_000;

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
) {
  // Bots (and SPA mode) get the whole document at once; browsers get the shell as soon as it is ready.
  const waitForAll = isBotRequest(request.headers.get("user-agent")) || remixContext.isSpaMode;
  return render(request, responseStatusCode, responseHeaders, remixContext, waitForAll, loadContext.cspNonce);
}

/**
 * Errors thrown by loaders and actions, through the logger instead of Remix's `console.error` (which
 * prints whole messages, and those can quote a prompt). The path is cut to its first segment: some paths
 * carry tokens (`/exports/<token>`). Nothing is logged for requests the client gave up on.
 */
export const handleError: HandleErrorFunction = (error, { request }) => {
  if (request.signal.aborted) return;
  const fields = { method: request.method, area: `/${new URL(request.url).pathname.split("/")[1] ?? ""}` };
  // Remix wraps "no route matches" and "method not allowed" in a route error response.
  if (isRouteErrorResponse(error) && error.status < 500) {
    logger.info("http.route_error", { ...fields, status: error.status });
    return;
  }
  logger.error("http.unhandled_error", { ...fields, error: error instanceof Error ? error : new Error(String(error)) });
};

function isBotRequest(userAgent: string | null) {
  return userAgent ? isbot(userAgent) : false;
}

function render(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  waitForAll: boolean,
  nonce: string | undefined,
) {
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const start = () => {
      const body = new PassThrough();
      responseHeaders.set("Content-Type", "text/html");
      resolve(
        new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }),
      );
      pipe(body);
    };
    // The nonce goes to every inline script: Remix's (root.tsx, through the provider), its streamed
    // data (RemixServer) and React's own for streamed Suspense boundaries (the render option).
    const { pipe, abort } = renderToPipeableStream(
      <NonceProvider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
      </NonceProvider>,
      {
        nonce,
        onShellReady() {
          shellRendered = true;
          if (!waitForAll) start();
        },
        onAllReady() {
          clearTimeout(abortTimer);
          if (waitForAll) start();
        },
        onShellError(error: unknown) {
          clearTimeout(abortTimer);
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors while rendering the shell reject above and Remix logs them; these come later, in the
          // streamed part. Only the error's name and message are logged, never the page; nothing when the
          // client went away (React then reports the closed destination).
          if (shellRendered && !request.signal.aborted) logger.error("render.stream_failed", { error });
        },
      },
    );
    // Cleared when the render ends: an armed timer would keep the whole render alive for 5 s and then fire
    // for nothing.
    const abortTimer = setTimeout(abort, ABORT_DELAY);
  });
}
