import type { LoaderFunctionArgs } from "@remix-run/node";
import { downloadExport } from "#app/models/data-rights.server";
import { requireUser } from "#app/utils/auth.server";
import { clientIp } from "#app/utils/request.server";

// The one-time download of a data export, from the link in the "export ready" email. Only the member who
// asked for it, signed in, can use it (anyone else: the same 404 as for a token that never existed); it
// works once, and not after it expires (410 with a page that says what to do).

const gonePage = (reason: "expired" | "downloaded") => {
  const text =
    reason === "downloaded"
      ? "This download link has already been used. For your safety each link works only once."
      : "This download link has expired.";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link no longer valid · AI Wallet</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>This link no longer works</h1>
<p>${text}</p>
<p>You can ask for a new export in <a href="/settings/privacy">Settings → Privacy &amp; data</a>.</p>
</body></html>`;
};

const headers = { "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer" };

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  // A HEAD (link checkers, some download managers) must not use up the one download.
  if (request.method === "HEAD") return new Response(null, { status: 204, headers });
  const result = await downloadExport(user.id, params.token ?? "", clientIp(context));
  if (result.status === "not_found") throw new Response("Not Found", { status: 404, headers });
  if (result.status === "gone") {
    return new Response(gonePage(result.reason), {
      status: 410,
      headers: { ...headers, "Content-Type": "text/html; charset=utf-8" },
    });
  }
  return new Response(result.stream, {
    status: 200,
    headers: {
      ...headers,
      "Content-Type": "application/zip",
      "Content-Length": String(result.size),
      "Content-Disposition": `attachment; filename="${result.filename}"`,
      "X-Content-Type-Options": "nosniff",
    },
  });
}
