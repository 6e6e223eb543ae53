import type { StoredFile } from "@prisma/client";
import { extensionFor } from "./file-type.server";
import { logger } from "./logger.server";
import { getStorage } from "./storage.server";

// The one way a stored file's bytes leave the server (/files/:id for owners, /admin/support/files/:id for
// staff under a member's grant): byte ranges for video players, the sniffed type, and headers that keep
// anything in a file from running with the app's origin. Access is decided by the caller, before this.

type ServedFile = Pick<StoredFile, "id" | "purpose" | "mediaType" | "size" | "storageKey">;

const notFound = () => new Response("Not Found", { status: 404 });

/**
 * The file's bytes (or the range the request asks for) as a Response; `onServed` runs once the bytes are
 * known to exist (e.g. to write an audit entry). A missing object is a 404, a range outside the file 416.
 */
export async function storedFileResponse(
  request: Request,
  file: ServedFile,
  onServed?: () => Promise<void>,
): Promise<Response> {
  const range = parseRange(request.headers.get("range"), file.size);
  if (range === "unsatisfiable") {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${file.size}` } });
  }
  const object = await getStorage().get(file.storageKey, range ?? undefined);
  if (!object) {
    logger.error("file.missing_bytes", { fileId: file.id });
    throw notFound();
  }
  await onServed?.();

  const inline = file.mediaType.startsWith("image/") || file.mediaType === "application/pdf";
  const name = `${file.purpose}-${file.id}.${extensionFor(file.mediaType)}`;
  if (request.method === "HEAD") await object.stream.cancel();
  return new Response(request.method === "HEAD" ? null : object.stream, {
    status: range ? 206 : 200,
    headers: {
      "Accept-Ranges": "bytes",
      ...(range ? { "Content-Range": `bytes ${range.start}-${range.end}/${object.size}` } : {}),
      // The type was sniffed from the bytes when the file was stored; browsers must not guess another.
      "Content-Type": file.mediaType,
      "Content-Length": String(range ? range.end - range.start + 1 : object.size),
      "X-Content-Type-Options": "nosniff",
      "Content-Disposition": `${inline ? "inline" : "attachment"}; filename="${name}"`,
      // Nothing in a stored file may run scripts with the app's origin.
      "Content-Security-Policy": file.mediaType.startsWith("image/")
        ? "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
        : "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'",
      "Cache-Control": "private, no-store",
      "Cross-Origin-Resource-Policy": "same-origin",
    },
  });
}

/**
 * One byte range ("bytes=0-1023", "bytes=1024-", "bytes=-500"), as video players ask for; anything else
 * means the whole file (null). A range outside the file is "unsatisfiable".
 */
export function parseRange(
  header: string | null,
  size: number,
): { start: number; end: number } | "unsatisfiable" | null {
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
