import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.WELCOME_CREDIT = "1.50";
  process.env.WALLET_CURRENCY = "USD";
});

import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { grantWelcomeCredit } from "#app/models/wallet.server";
import { action as signupAction } from "#app/routes/signup";
import { action as verifyAction } from "#app/routes/verify";
import { prisma } from "#app/utils/db.server";
import { extractCode } from "#tests/fakes/email-helpers";
import { call, context, cookieFrom, latestOutboxEmail, postRequest, uniqueEmail } from "#tests/helpers";

// A new member gets WELCOME_CREDIT once, when their address is confirmed: enough to try the models.
describe("welcome credit", () => {
  it("is credited once on confirming the address, never before and never twice", async () => {
    const email = uniqueEmail("welcome");
    const form = {
      email,
      password: "a long passphrase 123",
      displayName: "Kofi",
      country: "GH",
      ageConfirmed: "on",
      termsAccepted: "on",
    };
    const signedUp = await call(signupAction, postRequest("/signup", form), {}, context("198.51.100.7"));
    const cookie = cookieFrom(signedUp.headers);
    const user = await prisma.user.findUniqueOrThrow({ where: { email } });
    expect((await getWalletBalance(user.id)).balance).toBe(0n);

    const code = extractCode((await latestOutboxEmail(email, "verification"))!.text)!;
    const verified = await call(verifyAction, postRequest("/verify", { intent: "verify", code }, { cookie }));
    expect(verified.status).toBe(302);
    expect((await getWalletBalance(user.id)).balance).toBe(1_500_000n);

    expect(await grantWelcomeCredit(user.id)).toBe(false); // keyed by the member: a replay credits nothing
    expect((await getWalletBalance(user.id)).balance).toBe(1_500_000n);
    const transfers = await prisma.ledgerTransfer.findMany({ where: { idempotencyKey: `welcome:${user.id}` } });
    expect(transfers).toHaveLength(1);
    expect((await checkInvariants()).problems).toEqual([]);
  });
});
