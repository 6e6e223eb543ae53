import type { LoaderFunctionArgs } from "@remix-run/node";
import { audit } from "#app/models/audit.server";
import { findTopUpIdByReceipt, RECEIPT_PURPOSE } from "#app/models/manual-topups.server";
import { requireUser } from "#app/utils/auth.server";
import { extensionFor } from "#app/utils/file-type.server";
import { logger } from "#app/utils/logger.server";
import { clientIp } from "#app/utils/request.server";
import { getStorage, getStoredFile } from "#app/utils/storage.server";

// Serves a stored file to its owner. Admins and support may also open receipts of manual top-ups
// (to check a payment); each such view is written to the audit log. Anyone else gets the same 404
// as for a file that does not exist.
const STAFF_READABLE_PURPOSES = new Set([RECEIPT_PURPOSE]);

const notFound = () => new Response("Not Found", { status: 404 });

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const id = params.id ?? "";
  if (!/^[a-z0-9]{1,40}$/i.test(id)) throw notFound();
  const file = await getStoredFile(id);
  if (!file) throw notFound();

  const isOwner = file.ownerId !== null && file.ownerId === user.id;
  const isStaff = (user.role === "admin" || user.role === "support") && STAFF_READABLE_PURPOSES.has(file.purpose);
  if (!isOwner && !isStaff) throw notFound();

  // One byte range ("bytes=0-1023", "bytes=1024-", "bytes=-500"), as video players ask for; anything
  // else gets the whole file. A range outside the file is 416.
  const range = parseRange(request.headers.get("range"), file.size);
  if (range === "unsatisfiable") {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${file.size}` } });
  }
  const object = await getStorage().get(file.storageKey, range ?? undefined);
  if (!object) {
    logger.error("file.missing_bytes", { fileId: file.id });
    throw notFound();
  }
  if (!isOwner) {
    const manualTopUpId = await findTopUpIdByReceipt(file.id);
    await audit({
      actorId: user.id,
      action: "receipt.view",
      targetType: "stored_file",
      targetId: file.id,
      ip: clientIp(context),
      after: { purpose: file.purpose, ownerId: file.ownerId, manualTopUpId },
    });
  }

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
