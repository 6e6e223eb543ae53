import type { LoaderFunctionArgs } from "@remix-run/node";
import { findGeneration, outcomeMessage } from "#app/models/generation.server";
import { requireUser } from "#app/utils/auth.server";
import { encodeGenerationState } from "#app/utils/generation-stream";

// A generation's state for the page that started it (after Stop, or while media renders). The member's
// own generations only: any other id is a 404.
export async function loader({ request, params }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const row = await findGeneration(user.id, params.id ?? "");
  if (!row || row.deletedAt) throw new Response("Not Found", { status: 404 });
  return Response.json(
    encodeGenerationState({
      id: row.id,
      status: row.status,
      progress: row.progress,
      cost: row.cost,
      held: row.heldAmount,
      message: outcomeMessage(row),
    }),
    { headers: { "Cache-Control": "no-store" } },
  );
}
