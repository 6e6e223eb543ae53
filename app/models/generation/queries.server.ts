import { Prisma, type Generation } from "@prisma/client";
import { camelRow, columnsOf, prisma, sql } from "#app/utils/db.server";

// Reading generations. Ownership is always in the where: every lookup by a member names the member.
// Looking a request up runs on every submit, so it goes straight to the pool as a prepared statement
// (`sql`, docs/decisions/0008) rather than through Prisma.

export const GENERATION_COLUMNS = columnsOf(Prisma.GenerationScalarFieldEnum);

export function findGeneration(userId: string, id: string) {
  return prisma.generation.findFirst({ where: { id, userId } });
}

const BY_REQUEST_ID = {
  name: "generation_by_request_id",
  text: `SELECT ${GENERATION_COLUMNS} FROM generations WHERE user_id = $1 AND request_id = $2`,
};

export async function findByRequestId(userId: string, requestId: string): Promise<Generation | null> {
  const [row] = await sql(BY_REQUEST_ID, [userId, requestId]);
  return row ? camelRow<Generation>(row) : null;
}
