import type { LoaderFunctionArgs } from "@remix-run/node";
import { audit } from "#app/models/audit.server";
import { findTopUpIdByReceipt, staffReceiptAccess } from "#app/models/manual-topups.server";
import { requireUser } from "#app/utils/auth.server";
import { storedFileResponse } from "#app/utils/file-response.server";
import { clientIp } from "#app/utils/request.server";
import { getStoredFile } from "#app/utils/storage.server";

// Serves a stored file to its owner. Receipts of manual top-ups also open for admins (who decide
// top-ups) and for support while the member's account-wide grant runs; each such view is written to the
// audit log. Anyone else gets the same 404 as for a file that does not exist.

const notFound = () => new Response("Not Found", { status: 404 });

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const id = params.id ?? "";
  if (!/^[a-z0-9]{1,40}$/i.test(id)) throw notFound();
  const file = await getStoredFile(id);
  if (!file) throw notFound();

  const isOwner = file.ownerId !== null && file.ownerId === user.id;
  const staff = isOwner ? null : await staffReceiptAccess(user, file);
  if (!isOwner && !staff?.allowed) throw notFound();

  return storedFileResponse(request, file, async () => {
    if (isOwner) return;
    const manualTopUpId = await findTopUpIdByReceipt(file.id);
    await audit({
      actorId: user.id,
      action: "receipt.view",
      targetType: "stored_file",
      targetId: file.id,
      ip: clientIp(context),
      after: {
        purpose: file.purpose,
        ownerId: file.ownerId,
        manualTopUpId,
        ...(staff?.allowed && staff.grantId ? { grantId: staff.grantId } : {}),
      },
    });
  });
}
