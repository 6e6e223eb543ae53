import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@prisma/client";
import { hashPassword } from "../app/utils/password.server";

// Development seed: an admin and a member with known passwords, both verified. Idempotent.
// Never run against production (the dev script is its only caller; it refuses NODE_ENV=production).
export const DEV_ACCOUNTS = [
  {
    email: "admin@example.com",
    password: "admin-dev-password",
    displayName: "Ada Admin",
    role: "admin",
    country: "CM",
  },
  {
    email: "member@example.com",
    password: "member-dev-password",
    displayName: "Moses Member",
    role: "member",
    country: "KE",
  },
] as const;

export async function seed(databaseUrl: string) {
  if (process.env.NODE_ENV === "production") throw new Error("Refusing to seed development accounts in production.");
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
  try {
    for (const account of DEV_ACCOUNTS) {
      const now = new Date();
      const existing = await prisma.user.findUnique({ where: { email: account.email }, select: { id: true } });
      if (existing) continue;
      await prisma.user.create({
        data: {
          email: account.email,
          displayName: account.displayName,
          role: account.role,
          country: account.country,
          emailVerifiedAt: now,
          ageConfirmedAt: now,
          termsAcceptedAt: now,
          password: { create: { hash: await hashPassword(account.password) } },
        },
      });
    }
  } finally {
    await prisma.$disconnect();
  }
}
