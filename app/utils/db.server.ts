import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import { env } from "./env.server";

function createClient() {
  if (!env.DATABASE_URL) {
    throw new Error("DATABASE_URL is not set. `npm run dev` starts an embedded PostgreSQL and sets it for you.");
  }
  const adapter = new PrismaPg({ connectionString: env.DATABASE_URL, max: 10 });
  return new PrismaClient({ adapter });
}

// One client per process; in development the server restarts on rebuild, so no global cache is needed.
export const prisma = createClient();
