import { createHash } from "node:crypto";
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.WELCOME_CREDIT = "1.50";
  process.env.WALLET_CURRENCY = "USD";
  process.env.WELCOME_CREDITS_PER_IP_PER_DAY = "2";
});

import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { purgeExpiredJob } from "#app/jobs/maintenance.server";
import { canonicalMailbox, grantWelcomeCredit, WELCOME_CLAIM_RETENTION_DAYS } from "#app/models/wallet.server";
import { loader as privacyLoader } from "#app/routes/privacy";
import { action as privacyAction } from "#app/routes/settings.privacy";
import { action as signupAction } from "#app/routes/signup";
import { action as verifyAction, loader as verifyLoader } from "#app/routes/verify";
import { prisma } from "#app/utils/db.server";
import { env, parseEnv } from "#app/utils/env.server";
import { extractCode, extractLink } from "#tests/fakes/email-helpers";
import {
  BASE_URL,
  call,
  context,
  cookieFrom,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
  uniqueEmail,
} from "#tests/helpers";

const CREDIT = 1_500_000n;
const PASSWORD = "a long passphrase 123";
let ipCounter = 0;
/** A fresh address per sign-up, so the per-IP cap only bites where a test means it to. */
const freshIp = () => `198.18.${Math.floor((ipCounter += 1) / 250)}.${ipCounter % 250}`;

/** Signs up through the real routes and confirms the address with the emailed code, from `ip`. */
async function signUpAndVerify(email: string, ip = freshIp()) {
  const form = {
    email,
    password: PASSWORD,
    displayName: "Kofi",
    country: "GH",
    ageConfirmed: "on",
    termsAccepted: "on",
  };
  const signedUp = await call(signupAction, postRequest("/signup", form), {}, context(ip));
  expect(signedUp.status).toBe(302);
  const cookie = cookieFrom(signedUp.headers);
  const address = email.trim().toLowerCase();
  const user = await prisma.user.findUniqueOrThrow({ where: { email: address } });
  const code = extractCode((await latestOutboxEmail(address, "verification"))!.text)!;
  const verified = await call(
    verifyAction,
    postRequest("/verify", { intent: "verify", code }, { cookie }),
    {},
    context(ip),
  );
  expect(verified.status).toBe(302);
  expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).not.toBeNull();
  return { user };
}

const welcomeCredits = (userId: string) =>
  prisma.ledgerTransfer.count({ where: { idempotencyKey: `welcome:${userId}` } });
const balance = async (userId: string) => (await getWalletBalance(userId)).balance;

describe("welcome credit", () => {
  it("is credited once on confirming the address, never before and never twice", async () => {
    const email = uniqueEmail("welcome");
    const form = {
      email,
      password: PASSWORD,
      displayName: "Kofi",
      country: "GH",
      ageConfirmed: "on",
      termsAccepted: "on",
    };
    const signedUp = await call(signupAction, postRequest("/signup", form), {}, context("198.51.100.7"));
    const cookie = cookieFrom(signedUp.headers);
    const user = await prisma.user.findUniqueOrThrow({ where: { email } });
    expect(await balance(user.id)).toBe(0n);

    const code = extractCode((await latestOutboxEmail(email, "verification"))!.text)!;
    const verified = await call(verifyAction, postRequest("/verify", { intent: "verify", code }, { cookie }));
    expect(verified.status).toBe(302);
    expect(await balance(user.id)).toBe(CREDIT);

    expect(await grantWelcomeCredit(user.id, { ip: "198.51.100.7" })).toBe("replayed"); // keyed by the member
    expect(await balance(user.id)).toBe(CREDIT);
    expect(await welcomeCredits(user.id)).toBe(1);
    expect((await checkInvariants()).problems).toEqual([]);
  });

  it("canonicalises the mailbox: lower case, no +tag, and for Gmail no dots and gmail.com for googlemail.com", () => {
    const cases: Array<[string, string]> = [
      ["Kofi.Mensah+ai@Gmail.com", "kofimensah@gmail.com"],
      ["k.o.f.i.mensah@googlemail.com", "kofimensah@gmail.com"],
      ["KOFIMENSAH@GMAIL.COM", "kofimensah@gmail.com"],
      ["ama+shop+more@example.com", "ama@example.com"],
      ["a.ma@example.com", "a.ma@example.com"],
      ["  ama@Example.COM ", "ama@example.com"],
      ["+x@example.com", "+x@example.com"],
    ];
    for (const [input, canonical] of cases) expect(canonicalMailbox(input), input).toBe(canonical);
  });

  it("deleting the account and signing up again with the same mailbox gives no new credit", async () => {
    const email = uniqueEmail("again");
    const first = await signUpAndVerify(email);
    expect(await balance(first.user.id)).toBe(CREDIT);

    // Only a keyed hash is kept, never the address.
    const claims = await prisma.welcomeCreditClaim.findMany();
    const unkeyed = createHash("sha256").update(canonicalMailbox(email)).digest("hex");
    expect(claims.map((claim) => claim.mailboxHash)).not.toContain(unkeyed); // keyed: HMAC, not a plain hash
    expect(claims.every((claim) => /^[0-9a-f]{64}$/.test(claim.mailboxHash))).toBe(true);
    expect(JSON.stringify(claims)).not.toContain(email.split("@")[0]!);

    const { cookie } = await signedInCookie(first.user.id);
    const form = { intent: "delete", password: PASSWORD, confirm: "on" };
    const deleted = await call(privacyAction, postRequest("/settings/privacy", form, { cookie }));
    expect(deleted.status).toBe(302);
    // The claim outlives the account (that is its purpose).
    expect(await prisma.welcomeCreditClaim.count()).toBe(claims.length);

    const second = await signUpAndVerify(email);
    expect(second.user.id).not.toBe(first.user.id);
    expect(await balance(second.user.id)).toBe(0n);
    expect(await welcomeCredits(second.user.id)).toBe(0);
    expect((await checkInvariants()).problems).toEqual([]);
  });

  it("+tags and Gmail dots are the same person; dots elsewhere are not", async () => {
    const local = `kofi${process.pid}${Math.random().toString(36).slice(2, 6)}`;
    const gmail = await signUpAndVerify(`${local.slice(0, 3)}.${local.slice(3)}+ai@gmail.com`);
    expect(await balance(gmail.user.id)).toBe(CREDIT);
    for (const again of [`${local}@googlemail.com`, `${local}+other@gmail.com`, `${local.toUpperCase()}@GMAIL.com`]) {
      const { user } = await signUpAndVerify(again);
      expect(await balance(user.id), again).toBe(0n);
    }

    const tagged = await signUpAndVerify(`${local}+shop@example.com`);
    expect(await balance(tagged.user.id)).toBe(CREDIT);
    expect(await balance((await signUpAndVerify(`${local}@example.com`)).user.id)).toBe(0n);
    // Outside Gmail a dot makes another mailbox.
    const dotted = await signUpAndVerify(`${local.slice(0, 2)}.${local.slice(2)}@example.com`);
    expect(await balance(dotted.user.id)).toBe(CREDIT);
    expect((await checkInvariants()).problems).toEqual([]);
  });

  it("at most WELCOME_CREDITS_PER_IP_PER_DAY credits per IP address (IPv6 counted per /64); the sign-up still works", async () => {
    expect(env.WELCOME_CREDITS_PER_IP_PER_DAY).toBe(2);
    const ip = "203.0.113.77";
    const credited: bigint[] = [];
    for (let index = 0; index < 3; index += 1) {
      const { user } = await signUpAndVerify(uniqueEmail("sameip"), ip);
      credited.push(await balance(user.id));
    }
    expect(credited).toEqual([CREDIT, CREDIT, 0n]);
    // Another address is not held back by this one.
    expect(await balance((await signUpAndVerify(uniqueEmail("otherip"), "203.0.113.78")).user.id)).toBe(CREDIT);

    // IPv6: the same /64 is one place; a person refused here was not recorded, so another IP could still
    // credit them later (their claim was not kept).
    const v6 = ["2001:db8:1:2::10", "2001:db8:1:2:ffff::1", "2001:0db8:0001:0002:abcd::9"];
    const v6Credits: bigint[] = [];
    for (const address of v6)
      v6Credits.push(await balance((await signUpAndVerify(uniqueEmail("v6"), address)).user.id));
    expect(v6Credits).toEqual([CREDIT, CREDIT, 0n]);
    expect(await balance((await signUpAndVerify(uniqueEmail("v6"), "2001:db8:1:3::10")).user.id)).toBe(CREDIT);
    expect((await checkInvariants()).problems).toEqual([]);
  });

  it("the link in the email counts the IP the same way", async () => {
    const ip = "203.0.113.90";
    const balances: bigint[] = [];
    for (let index = 0; index < 3; index += 1) {
      const email = uniqueEmail("link");
      const form = {
        email,
        password: PASSWORD,
        displayName: "Ama",
        country: "GH",
        ageConfirmed: "on",
        termsAccepted: "on",
      };
      await call(signupAction, postRequest("/signup", form), {}, context(freshIp()));
      const link = extractLink((await latestOutboxEmail(email, "verification"))!.text)!;
      const token = new URL(link).searchParams.get("token")!;
      // Opening the link only shows the confirm button (ADR 0015); its POST verifies and credits.
      const opened = await call(verifyLoader, new Request(link), {}, context(ip));
      expect(opened.status).toBe(200);
      const result = await call(verifyAction, postRequest("/verify", { intent: "link", token }), {}, context(ip));
      expect(result.status).toBe(302);
      const user = await prisma.user.findUniqueOrThrow({ where: { email } });
      balances.push(await balance(user.id));
    }
    expect(balances).toEqual([CREDIT, CREDIT, 0n]);
  });

  it("needs APP_SECRET in production with a welcome credit (a long random value) and reads the per-IP cap strictly", () => {
    const production = {
      NODE_ENV: "production",
      DATABASE_URL: "postgres://db/app",
      APP_URL: "https://wallet.example.com",
      RESEND_API_KEY: "re_123",
      WELCOME_CREDIT: "1",
    };
    expect(() => parseEnv(production)).toThrowError(/APP_SECRET: is required in production when WELCOME_CREDIT/);
    expect(parseEnv({ ...production, WELCOME_CREDIT: "0" }).isProduction).toBe(true);
    expect(() => parseEnv({ ...production, APP_SECRET: "short" })).toThrowError(/APP_SECRET: .*at least 32/);
    expect(parseEnv({ ...production, APP_SECRET: "x".repeat(40) }).isProduction).toBe(true);
    expect(parseEnv({}).WELCOME_CREDITS_PER_IP_PER_DAY).toBe(3);
    expect(parseEnv({ WELCOME_CREDITS_PER_IP_PER_DAY: "" }).WELCOME_CREDITS_PER_IP_PER_DAY).toBe(3);
    for (const bad of ["0x10", "1e3", "2.5", "-1", "1 0"]) {
      expect(() => parseEnv({ WELCOME_CREDITS_PER_IP_PER_DAY: bad }), bad).toThrowError(
        /WELCOME_CREDITS_PER_IP_PER_DAY/,
      );
    }
  });

  it("the privacy page names the hash's retention; the clean-up job deletes hashes older than that", async () => {
    const facts = (await call(privacyLoader, new Request(`${BASE_URL}/privacy`))).data as Record<string, unknown>;
    expect(facts).toMatchObject({ welcomeClaimDays: WELCOME_CLAIM_RETENTION_DAYS, welcomeIpHours: 24 });
    expect(WELCOME_CLAIM_RETENTION_DAYS).toBe(730);

    const now = new Date();
    const day = 86_400_000;
    await prisma.welcomeCreditClaim.createMany({
      data: [
        { mailboxHash: "a".repeat(64), grantedAt: new Date(now.getTime() - 731 * day) },
        { mailboxHash: "b".repeat(64), grantedAt: new Date(now.getTime() - 729 * day) },
      ],
    });
    const purged = await purgeExpiredJob(now);
    expect(purged.welcomeClaims).toBe(1);
    const left = await prisma.welcomeCreditClaim.findMany({
      where: { mailboxHash: { in: ["a".repeat(64), "b".repeat(64)] } },
    });
    expect(left.map((claim) => claim.mailboxHash)).toEqual(["b".repeat(64)]);
  });
});
