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

  const object = await getStorage().get(file.storageKey);
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
    status: 200,
    headers: {
      // The type was sniffed from the bytes when the file was stored; browsers must not guess another.
      "Content-Type": file.mediaType,
      "Content-Length": String(object.size),
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
