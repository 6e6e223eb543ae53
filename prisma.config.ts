import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

// Migrations run on Prisma's JS engine through the pg driver adapter, so no native
// engine is downloaded (see docs/decisions/0001-prisma-offline.md).
export default defineConfig({
  schema: "prisma/schema.prisma",
  experimental: { adapter: true },
  engine: "js",
  adapter: async () =>
    new PrismaPg({
      connectionString: process.env.DATABASE_URL,
      allowExitOnIdle: true,
    }),
});
