import type { LoaderFunctionArgs } from "@remix-run/node";
import { getFileForSupport } from "#app/models/support-access.server";
import { requireRole } from "#app/utils/auth.server";
import { extensionFor } from "#app/utils/file-type.server";
import { logger } from "#app/utils/logger.server";
import { clientIp } from "#app/utils/request.server";
import { getStorage } from "#app/utils/storage.server";

// A member's file, for staff, only while the member's support grant covers a live generation the file
// belongs to (see app/models/support-access.server.ts). /files/:id stays owner-only for members; this is
// the one other way in, and every view is audited (support.file_view). A video played in byte ranges is
// audited on its first request (no Range, or a range from byte 0), not on every chunk. Anything else is
// the same 404 as a file that does not exist. Headers mirror /files/:id: nothing in a stored file may run
// with the app's origin. A resource route: no component and no ErrorBoundary (with one, Remix would treat
// it as a page and render the bytes as loader data).

const notFound = () => new Response("Not Found", { status: 404 });

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const staff = await requireRole(request, ["admin", "support"]);
  const id = params.id ?? "";
  if (!/^[a-z0-9]{1,40}$/i.test(id)) throw notFound();
  const rangeHeader = request.headers.get("range");
  const firstRequest = request.method !== "HEAD" && (!rangeHeader || /^bytes=0-/.test(rangeHeader.trim()));
  const file = await getFileForSupport(staff, id, { ip: clientIp(context), audited: firstRequest });
  if (!file) throw notFound();

  const range = parseRange(rangeHeader, file.size);
  if (range === "unsatisfiable") {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${file.size}` } });
  }
  const object = await getStorage().get(file.storageKey, range ?? undefined);
  if (!object) {
    logger.error("file.missing_bytes", { fileId: file.id });
    throw notFound();
  }
  const inline = file.mediaType.startsWith("image/") || file.mediaType === "application/pdf";
  const name = `${file.purpose}-${file.id}.${extensionFor(file.mediaType)}`;
  if (request.method === "HEAD") await object.stream.cancel();
  return new Response(request.method === "HEAD" ? null : object.stream, {
    status: range ? 206 : 200,
    headers: {
      "Accept-Ranges": "bytes",
      ...(range ? { "Content-Range": `bytes ${range.start}-${range.end}/${object.size}` } : {}),
      "Content-Type": file.mediaType,
      "Content-Length": String(range ? range.end - range.start + 1 : object.size),
      "X-Content-Type-Options": "nosniff",
      "Content-Disposition": `${inline ? "inline" : "attachment"}; filename="${name}"`,
      "Content-Security-Policy": file.mediaType.startsWith("image/")
        ? "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
        : "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'",
      "Cache-Control": "private, no-store",
      "Cross-Origin-Resource-Policy": "same-origin",
    },
  });
}

/** One byte range, as /files/:id reads it: "bytes=0-1023", "bytes=1024-", "bytes=-500". */
function parseRange(header: string | null, size: number): { start: number; end: number } | "unsatisfiable" | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === "" && match[2] === "")) return null;
  let start: number;
  let end: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return "unsatisfiable";
  return { start, end };
}
