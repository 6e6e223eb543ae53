import type { LoaderFunctionArgs } from "@remix-run/node";
import { statementCsv } from "#app/models/wallet.server";
import { requireUser } from "#app/utils/auth.server";

// GET /wallet/statement.csv: the signed-in member's whole statement, streamed as it is read.
export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const today = new Date().toISOString().slice(0, 10);
  return new Response(statementCsv(user.id), {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="wallet-statement-${today}.csv"`,
      "Cache-Control": "private, no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}
