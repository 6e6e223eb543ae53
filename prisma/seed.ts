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

// Development payment methods for manual top-ups. Placeholder numbers: nothing here is a real account.
// Operators configure their own with `npm run payment-methods -- add …` (scripts/payment-methods.ts).
export const DEV_PAYMENT_METHODS = [
  {
    name: "MTN MoMo",
    instructions:
      "Dial *126# or open the MoMo app, choose Transfer money, and send to the number below.\nAfter paying, copy the transaction ID from the confirmation SMS.",
    accountNumber: "+237 670 000 000",
    accountName: "AI Wallet (development)",
    currencyNote: "Development placeholder: do not send real money.",
    sortOrder: 10,
  },
  {
    name: "Orange Money",
    instructions:
      "Dial #150# or open the Orange Money app, choose Transfer, and send to the number below.\nAfter paying, copy the transaction reference from the confirmation SMS.",
    accountNumber: "+237 690 000 000",
    accountName: "AI Wallet (development)",
    currencyNote: "Development placeholder: do not send real money.",
    sortOrder: 20,
  },
  {
    name: "M-Pesa",
    instructions:
      "In the M-Pesa menu choose Lipa na M-Pesa, then Pay Bill. Enter the business number below and your email as the account number.\nAfter paying, copy the transaction code from the confirmation SMS (e.g. QGH12ABC34).",
    accountNumber: "000000",
    accountName: "AI Wallet (development)",
    currencyNote: "Development placeholder: do not send real money.",
    sortOrder: 30,
  },
  {
    name: "Bank transfer",
    instructions:
      "Make a transfer to the account below and put your email in the payment description.\nAfter paying, copy the transfer reference from your bank's confirmation.",
    accountNumber: "CM21 0000 0000 0000 0000 0000 000",
    accountName: "AI Wallet (development)",
    currencyNote: "Development placeholder: do not send real money. Transfers can take 1 to 3 working days.",
    sortOrder: 40,
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
    // Added once by name; a method the developer edited or disabled is left as it is.
    for (const method of DEV_PAYMENT_METHODS) {
      const existing = await prisma.manualPaymentMethod.findFirst({
        where: { name: method.name },
        select: { id: true },
      });
      if (!existing) await prisma.manualPaymentMethod.create({ data: { ...method } });
    }
  } finally {
    await prisma.$disconnect();
  }
}

/**
 * Demo credit for the development member, once: a promotional grant through the ledger with a fixed
 * idempotency key per member, so running `npm run dev` again never adds more. Called by scripts/dev.ts.
 */
export async function seedDemoCredit(databaseUrl: string): Promise<{ credited: boolean; amount: bigint } | null> {
  if (process.env.NODE_ENV === "production") throw new Error("Refusing to seed demo credit in production.");
  // The app's modules read DATABASE_URL when first imported.
  process.env.DATABASE_URL = databaseUrl;
  const { env } = await import("../app/utils/env.server");
  if (env.DATABASE_URL !== databaseUrl) throw new Error("seedDemoCredit: the app is already connected elsewhere.");
  const { prisma } = await import("../app/utils/db.server");
  const ledger = await import("../app/models/ledger.server");
  const { currencyDecimals, MICROS_PER_UNIT } = await import("../app/utils/money");
  try {
    const member = await prisma.user.findUnique({ where: { email: DEV_ACCOUNTS[1].email }, select: { id: true } });
    if (!member) return null;
    // 5.00 in two-decimal currencies; 5,000 in zero-decimal ones (XAF, JPY…), where 5 buys nothing.
    const amount = (currencyDecimals(env.WALLET_CURRENCY) === 0 ? 5_000n : 5n) * MICROS_PER_UNIT;
    const wallet = await ledger.ensureWallet(member.id);
    const { replayed } = await ledger.transfer({
      key: `seed:demo-credit:${member.id}`,
      kind: "grant",
      description: "Promotional credit",
      metadata: { reason: "Demo credit for development", source: "seed" },
      postings: [
        { accountId: ledger.PLATFORM_ACCOUNTS.promotions, amount: -amount },
        { accountId: wallet, amount },
      ],
    });
    return { credited: !replayed, amount };
  } finally {
    await prisma.$disconnect();
  }
}
