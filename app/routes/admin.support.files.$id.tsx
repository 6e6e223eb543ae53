import type { LoaderFunctionArgs } from "@remix-run/node";
import { getFileForSupport } from "#app/models/support-access.server";
import { requireRole } from "#app/utils/auth.server";
import { storedFileResponse } from "#app/utils/file-response.server";
import { clientIp } from "#app/utils/request.server";

// A member's file, for staff, only while the member's support grant covers a live generation the file
// belongs to (see app/models/support-access.server.ts). /files/:id stays owner-only for members; this is
// the one other way in, and every view is audited (support.file_view). A video played in byte ranges is
// audited on its first request (no Range, or a range from byte 0), not on every chunk. Anything else is
// the same 404 as a file that does not exist. The bytes and headers are those of /files/:id
// (app/utils/file-response.server.ts). A resource route: no component and no ErrorBoundary (with one, Remix would treat
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

  return storedFileResponse(request, file);
}
