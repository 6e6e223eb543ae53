import { prisma } from "#app/utils/db.server";
import { logger } from "#app/utils/logger.server";

// For load balancers: 200 when this instance can reach its database, 503 otherwise.
export async function loader() {
  try {
    await prisma.$queryRaw`SELECT 1`;
    return new Response("ok", { headers: { "Cache-Control": "no-store", "Content-Type": "text/plain" } });
  } catch (error) {
    logger.error("healthz.database_unreachable", { error });
    return new Response("database unreachable", { status: 503, headers: { "Cache-Control": "no-store" } });
  }
}
