import { randomUUID } from "node:crypto";
import type { WalletBalance } from "#app/models/ledger.server";
import { formatMoney, MICROS_PER_UNIT, microsToDecimalString, parseAmount } from "#app/utils/money";
import { runIfScript, startCommand } from "./lib/cli";

// `npm run wallet:grant -- --email member@example.com --amount 5 --reason "Welcome credit" [--key welcome-2026]`
// Credits a member's wallet from the promotions account through the ledger. With --key, running the
// same command again changes nothing (the ledger's idempotency key is "grant:<key>"); without it, every
// run is a new grant. Reads DATABASE_URL (`npm run dev` prints the development one).

export const USAGE = `Usage: npm run wallet:grant -- --email <address> --amount <amount> --reason <text> [--key <id>]

  --email    the member's email address
  --amount   in the wallet currency, e.g. 5 or 2.50
  --reason   why (kept in the ledger and the audit log), e.g. "Welcome credit"
  --key      optional id that makes the grant happen at most once, e.g. welcome-2026

Needs DATABASE_URL (for development, \`npm run dev\` prints it).`;

/** Most an operator can grant in one go, in units of the wallet currency (guards against typos). */
export const MAX_GRANT_UNITS = 100_000n;

export type GrantInput = { email?: string; amount?: string; reason?: string; key?: string };
export type ValidGrant = { email: string; amount: bigint; reason: string; key: string };

export type GrantResult =
  | {
      ok: true;
      userId: string;
      email: string;
      amount: bigint;
      transferId: string;
      /** The key had been used for this very grant already: nothing changed. */
      replayed: boolean;
      balance: WalletBalance;
    }
  | { ok: false; errors: string[] };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const KEY = /^[A-Za-z0-9._:@-]{1,200}$/;

/** Checks the command-line values; every problem is reported at once, each naming its option. */
export function validateGrant(
  input: GrantInput,
  currency: string,
): { ok: true; value: ValidGrant } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const email = input.email?.trim().toLowerCase() ?? "";
  if (!email) errors.push("--email is missing: the member's email address, e.g. --email member@example.com");
  else if (!EMAIL.test(email) || email.length > 254) errors.push(`--email: "${input.email}" is not an email address`);

  let amount = 0n;
  if (!input.amount?.trim()) errors.push(`--amount is missing: how much to credit in ${currency}, e.g. --amount 5`);
  else {
    const parsed = parseAmount(input.amount, currency);
    if (!parsed.ok) errors.push(`--amount: ${parsed.error} (got "${input.amount}")`);
    else if (parsed.micros > MAX_GRANT_UNITS * MICROS_PER_UNIT)
      errors.push(`--amount: at most ${formatMoney(MAX_GRANT_UNITS * MICROS_PER_UNIT, currency)} per grant`);
    else amount = parsed.micros;
  }

  const reason = input.reason?.trim().replace(/\s+/g, " ") ?? "";
  if (!reason) errors.push('--reason is missing: say why, e.g. --reason "Welcome credit"');
  else if (reason.length < 3 || reason.length > 200) errors.push("--reason: use 3 to 200 characters");

  const key = input.key?.trim();
  if (key !== undefined && !KEY.test(key)) {
    errors.push("--key: use 1 to 200 letters, digits or . _ : @ - (no spaces)");
  }
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: { email, amount, reason, key: `grant:${key ?? randomUUID()}` } };
}

/** The command's work, without the command line (the script and the tests call it). */
export async function grantCredit(input: GrantInput): Promise<GrantResult> {
  const { env } = await import("#app/utils/env.server");
  const valid = validateGrant(input, env.WALLET_CURRENCY);
  if (!valid.ok) return valid;
  const { email, amount, reason, key } = valid.value;

  const { prisma } = await import("#app/utils/db.server");
  const ledger = await import("#app/models/ledger.server");
  const { audit } = await import("#app/models/audit.server");
  const { checkLowBalance } = await import("#app/models/wallet.server");

  const user = await prisma.user.findUnique({ where: { email }, select: { id: true, email: true } });
  if (!user) return { ok: false, errors: [`--email: no member has the address ${email}`] };

  const wallet = await ledger.ensureWallet(user.id);
  const { transferId, replayed } = await ledger.transfer({
    key,
    kind: "grant",
    description: "Promotional credit",
    metadata: { reason, source: "wallet:grant" },
    postings: [
      { accountId: ledger.PLATFORM_ACCOUNTS.promotions, amount: -amount },
      { accountId: wallet, amount },
    ],
  });
  if (replayed) {
    // The same key must mean the same grant: refuse to pretend a different one happened.
    const same = await prisma.ledgerEntry.findFirst({ where: { transferId, accountId: wallet, amount } });
    if (!same) {
      return {
        ok: false,
        errors: [`--key: ${key.slice("grant:".length)} was already used for another grant (transfer ${transferId})`],
      };
    }
  } else {
    await audit({
      actorId: null,
      action: "wallet.grant",
      targetType: "user",
      targetId: user.id,
      after: { amount: microsToDecimalString(amount), currency: env.WALLET_CURRENCY, reason, transferId, via: "cli" },
    });
    await checkLowBalance(user.id);
  }
  return {
    ok: true,
    userId: user.id,
    email: user.email,
    amount,
    transferId,
    replayed,
    balance: await ledger.getWalletBalance(user.id),
  };
}

/** Runs the command; returns the exit code (0 done, 1 refused or failed, 2 unknown option or no DATABASE_URL). */
export async function main(argv: string[], out = console.log, err = console.error): Promise<number> {
  const started = startCommand<GrantInput>(
    argv,
    {
      email: { type: "string" },
      amount: { type: "string" },
      reason: { type: "string" },
      key: { type: "string" },
    },
    { usage: USAGE, database: "the database to credit", out, err },
  );
  if ("exitCode" in started) return started.exitCode;
  const { values } = started;
  const result = await grantCredit(values);
  if (!result.ok) {
    err(result.errors.map((line) => `error: ${line}`).join("\n"));
    return 1;
  }
  const money = (micros: bigint) => formatMoney(micros, result.balance.currency);
  out(
    result.replayed
      ? `Already granted with this key (transfer ${result.transferId}): nothing changed.`
      : `Credited ${money(result.amount)} to ${result.email} (transfer ${result.transferId}).`,
  );
  out(`New balance: ${money(result.balance.available)} available, ${money(result.balance.held)} held.`);
  return 0;
}

await runIfScript(import.meta.url, "wallet:grant", main);
