import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// `env` is parsed when app modules are first imported. vi.hoisted runs before this file's (hoisted)
// imports, so the fake Stripe is listening and the Stripe keys are in process.env by then. Each test
// file has its own module graph, so other files still see Stripe as not configured.
const setup = await vi.hoisted(async () => {
  const { startFakeStripe } = await import("../fakes/stripe-server");
  const fake = await startFakeStripe();
  const secret = "whsec_test_0123456789abcdef0123456789abcdef";
  process.env.STRIPE_SECRET_KEY = "sk_test_fake_0123456789";
  process.env.STRIPE_WEBHOOK_SECRET = secret;
  process.env.STRIPE_API_BASE_URL = fake.url;
  process.env.WALLET_CURRENCY = "USD";
  process.env.TOPUP_MIN = "1";
  process.env.TOPUP_MAX = "500";
  process.env.TOPUP_PRESETS = "5,10,20,50";
  return { fake, secret };
});

import Stripe from "stripe";
import {
  checkInvariants,
  ensureWallet,
  getWalletBalance,
  hold,
  PLATFORM_ACCOUNTS,
  postHold,
  transfer,
  walletAccountId,
} from "#app/models/ledger.server";
import {
  checkoutSessionParams,
  checkoutTransferKey,
  disputeTransferKey,
  FLAG_KINDS,
  refundTransferKey,
} from "#app/models/stripe-topups.server";
import { loader as cancelLoader } from "#app/routes/wallet.top-up.cancel";
import { action as topUpAction, loader as topUpLoader } from "#app/routes/wallet.top-up._index";
import { loader as successLoader } from "#app/routes/wallet.top-up.success";
import { action as webhookAction, loader as webhookLoader } from "#app/routes/webhooks.stripe";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { fromStripeAmount, toStripeAmount } from "#app/utils/money";
import { getStripe, STRIPE_API_VERSION } from "#app/utils/stripe.server";
import {
  chargeObject,
  disputeObject,
  sessionObject,
  stripeEvent,
  type FakeCheckoutSession,
} from "#tests/fakes/stripe-server";
import {
  BASE_URL,
  call,
  createUser,
  deliverQueuedEmails,
  getRequest,
  postRequest,
  signedInCookie,
} from "#tests/helpers";

const { fake, secret } = setup;
/** Only used to sign test webhooks, exactly as Stripe's own SDK documents for tests. */
const signer = new Stripe("sk_test_signer_only");

const usd = (cents: number) => BigInt(cents) * 10_000n;

afterEach(async () => {
  const report = await checkInvariants();
  expect(report.problems).toEqual([]);
});

afterAll(async () => {
  await fake.close();
});

// ---------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------

async function member(options: { verified?: boolean } = {}) {
  const user = await createUser(options);
  const { cookie } = await signedInCookie(user.id);
  return { user, cookie };
}

function submitTopUp(cookie: string, form: Record<string, string>) {
  return call(topUpAction, postRequest("/wallet/top-up", form, { cookie }));
}

function sessionRequests() {
  return fake.requests.filter((request) => request.method === "POST" && request.path === "/v1/checkout/sessions");
}

/** Goes through the real page action → real SDK → fake Stripe; returns the fake's session. */
async function startTopUp(cookie: string, amount = "20"): Promise<FakeCheckoutSession> {
  const result = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount });
  expect(result.status).toBe(302);
  const id = result.location!.split("/").pop()!;
  return fake.sessions.get(id)!;
}

type Delivery = { secret?: string; timestamp?: number; header?: string | null; payload?: string };

async function deliver(event: object, options: Delivery = {}) {
  const payload = options.payload ?? JSON.stringify(event);
  const header =
    options.header !== undefined
      ? options.header
      : signer.webhooks.generateTestHeaderString({
          payload,
          secret: options.secret ?? secret,
          ...(options.timestamp ? { timestamp: options.timestamp } : {}),
        });
  const request = new Request(`${BASE_URL}/webhooks/stripe`, {
    method: "POST",
    body: payload,
    headers: { "content-type": "application/json", ...(header ? { "stripe-signature": header } : {}) },
  });
  const result = await call(webhookAction, request);
  return { status: result.status, body: JSON.parse(String(result.data)) as { outcome?: string; error?: string } };
}

function completedEvent(session: FakeCheckoutSession, paymentStatus: "paid" | "unpaid" = "paid") {
  return stripeEvent("checkout.session.completed", sessionObject(fake.completeSession(session.id, { paymentStatus })));
}

async function paidTopUp(cookie: string, amount = "20") {
  const session = await startTopUp(cookie, amount);
  const response = await deliver(completedEvent(session));
  expect(response).toEqual({ status: 200, body: { received: true, outcome: "credited" } });
  return session;
}

function refundEvent(session: FakeCheckoutSession, from: number, to: number, chargeId = `ch_for_${session.id}`) {
  return stripeEvent(
    "charge.refunded",
    chargeObject({
      id: chargeId,
      paymentIntentId: session.payment_intent,
      amount: session.amount_total,
      amountRefunded: to,
      currency: session.currency,
      metadata: session.payment_intent_metadata,
    }),
    { previousAttributes: { amount_refunded: from, refunded: from >= session.amount_total } },
  );
}

/** Spends from the wallet the way a generation does (hold, then post). */
async function spend(userId: string, amount: bigint) {
  const { holdId } = await hold({
    key: `test:spend:${crypto.randomUUID()}`,
    userId,
    amount,
    expiresAt: new Date(Date.now() + 60_000),
  });
  await postHold({ holdId, amount, kind: "generation", description: "Test generation" });
}

async function state(userId: string) {
  const [balance, checkouts, transfers, events, flags] = await Promise.all([
    getWalletBalance(userId),
    prisma.stripeCheckout.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    prisma.ledgerTransfer.count(),
    prisma.stripeEvent.count(),
    prisma.moneyFlag.count(),
  ]);
  return { balance, checkouts, transfers, events, flags };
}

async function receipts(email: string) {
  await deliverQueuedEmails();
  return prisma.outboxEmail.findMany({ where: { to: email, tag: "topup-receipt" } });
}

function shuffle<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------------
// The top-up page
// ---------------------------------------------------------------------------------------------------

describe("top-up page", () => {
  it("shows presets, limits, the balance and a fresh request id", async () => {
    const { cookie } = await member();
    const first = await call(topUpLoader, getRequest("/wallet/top-up", { cookie }));
    const second = await call(topUpLoader, getRequest("/wallet/top-up", { cookie }));
    expect(first.status).toBe(200);
    expect(first.data).toMatchObject({
      cardAvailable: true,
      presets: [
        { value: "5", label: "$5.00" },
        { value: "10", label: "$10.00" },
        { value: "20", label: "$20.00" },
        { value: "50", label: "$50.00" },
      ],
      minLabel: "$1.00",
      maxLabel: "$500.00",
      balance: "$0.00",
    });
    const ids = [first.data, second.data].map((value) => (value as { requestId: string }).requestId);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it.each([
    ["0", "The amount must be more than zero"],
    ["-5", "The amount must be positive, like 10 or 10.50"],
    ["10.555", "Use at most 2 decimals"],
    ["ten", "Enter an amount, like 10 or 10.50 (digits, with a dot for decimals)"],
    ["1,5", "Use a dot for decimals, e.g. 1.5"],
    ["0x10", "Enter an amount, like 10 or 10.50 (digits, with a dot for decimals)"],
    ["0.50", "The smallest top-up is $1.00"],
    ["500.01", "The largest top-up is $500.00"],
    ["", "Choose an amount or type one"],
  ])("refuses %j with a clear field error and creates nothing", async (amount, message) => {
    const { user, cookie } = await member();
    const before = sessionRequests().length;
    const result = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount });
    expect(result.status).toBe(400);
    expect((result.data as { result: { error: Record<string, string[]> } }).result.error).toEqual({
      amount: [message],
    });
    expect(sessionRequests()).toHaveLength(before);
    expect(await prisma.stripeCheckout.count({ where: { userId: user.id } })).toBe(0);
  });

  it("refuses a form without its request id", async () => {
    const { cookie } = await member();
    const result = await submitTopUp(cookie, { amount: "10" });
    expect(result.status).toBe(400);
    expect((result.data as { result: { error: Record<string, string[]> } }).result.error).toEqual({
      "": ["This form has expired. Reload the page and try again."],
    });
  });

  it("sends an unverified member to /verify and a signed-out visitor to sign in; Stripe is not called", async () => {
    const { cookie } = await member({ verified: false });
    const before = sessionRequests().length;
    const page = await call(topUpLoader, getRequest("/wallet/top-up", { cookie }));
    const submit = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount: "10" });
    expect([page.status, page.location]).toEqual([302, "/verify"]);
    expect([submit.status, submit.location]).toEqual([302, "/verify"]);
    const anonymous = await call(topUpLoader, getRequest("/wallet/top-up"));
    expect(anonymous.location).toBe("/login?redirectTo=%2Fwallet%2Ftop-up");
    expect(sessionRequests()).toHaveLength(before);
  });

  it("sends Stripe exactly what it needs: amount in minor units, currency, member id, metadata, no email", async () => {
    const { user, cookie } = await member();
    const requestId = crypto.randomUUID();
    const result = await submitTopUp(cookie, { requestId, amount: "12.50" });
    expect(result.status).toBe(302);

    const sent = sessionRequests().at(-1)!;
    expect(sent.headers.authorization).toBe("Bearer sk_test_fake_0123456789");
    expect(sent.headers["stripe-version"]).toBe(STRIPE_API_VERSION);
    expect(sent.headers["idempotency-key"]).toBe(`topup:${user.id}:${requestId}:12500000`);
    expect(sent.params).toEqual({
      mode: "payment",
      submit_type: "pay",
      line_items: [
        {
          quantity: "1",
          price_data: { currency: "usd", unit_amount: "1250", product_data: { name: "Wallet top-up" } },
        },
      ],
      client_reference_id: user.id,
      metadata: { userId: user.id, amountMicros: "12500000", purpose: "wallet_top_up" },
      payment_intent_data: { metadata: { userId: user.id, purpose: "wallet_top_up" } },
      success_url: "http://localhost:3000/wallet/top-up/success?session_id={CHECKOUT_SESSION_ID}",
      cancel_url: "http://localhost:3000/wallet/top-up/cancel",
    });
    expect(sent.rawBody).not.toContain(encodeURIComponent(user.email));
    expect(sent.rawBody).not.toContain(user.email);
    expect(sent.rawBody).not.toMatch(/email|Test%20Member|Test\+Member/i);

    const session = [...fake.sessions.values()].find((candidate) => candidate.url === result.location)!;
    expect(result.location).toBe(`${fake.url}/c/pay/${session.id}`);
    const row = await prisma.stripeCheckout.findUniqueOrThrow({ where: { id: session.id } });
    expect(row).toMatchObject({
      userId: user.id,
      amount: 12_500_000n,
      currency: "USD",
      status: "open",
      transferId: null,
    });
  });

  it("a preset button submits its amount", async () => {
    const { cookie } = await member();
    const result = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount: "50" });
    expect(result.status).toBe(302);
    expect(sessionRequests().at(-1)!.params).toMatchObject({
      line_items: [{ price_data: { unit_amount: "5000" } }],
    });
  });

  it("a double submit with the same request id makes one session; a new request id makes another", async () => {
    const { user, cookie } = await member();
    const requestId = crypto.randomUUID();
    const before = fake.sessions.size;
    const [first, second] = await Promise.all([
      submitTopUp(cookie, { requestId, amount: "20" }),
      submitTopUp(cookie, { requestId, amount: "20" }),
    ]);
    const third = await submitTopUp(cookie, { requestId, amount: "20" });
    expect([first.status, second.status, third.status]).toEqual([302, 302, 302]);
    expect(new Set([first.location, second.location, third.location]).size).toBe(1);
    expect(fake.sessions.size).toBe(before + 1);
    expect(await prisma.stripeCheckout.count({ where: { userId: user.id } })).toBe(1);

    const another = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount: "20" });
    expect(another.location).not.toBe(first.location);
    expect(await prisma.stripeCheckout.count({ where: { userId: user.id } })).toBe(2);
  });

  it("retries a failed Stripe call with the same idempotency key, and says so clearly when Stripe stays down", async () => {
    const { user, cookie } = await member();
    fake.failNext(500);
    const recovered = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount: "7" });
    expect(recovered.status).toBe(302);
    const [failedTry, retry] = sessionRequests().slice(-2);
    expect(retry!.headers["idempotency-key"]).toBe(failedTry!.headers["idempotency-key"]);

    const before = sessionRequests().length;
    fake.failNext(503, { times: 3 });
    const down = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount: "8" });
    expect(down.status).toBe(502);
    expect((down.data as { result: { error: Record<string, string[]> } }).result.error[""]).toEqual([
      "We could not reach the card payment service. Nothing was charged. Please try again in a moment.",
    ]);
    expect(sessionRequests()).toHaveLength(before + 3);
    expect(await prisma.stripeCheckout.count({ where: { userId: user.id } })).toBe(1);
  });

  it("when Stripe is not configured, says card payment is unavailable and creates nothing", async () => {
    const { user, cookie } = await member();
    const before = sessionRequests().length;
    env.stripeEnabled = false;
    try {
      const page = await call(topUpLoader, getRequest("/wallet/top-up", { cookie }));
      expect(page.data).toMatchObject({ cardAvailable: false });
      const submit = await submitTopUp(cookie, { requestId: crypto.randomUUID(), amount: "10" });
      expect(submit.status).toBe(503);
      expect((submit.data as { result: { error: Record<string, string[]> } }).result.error[""]).toEqual([
        "Card payment is unavailable right now. You can pay by mobile money or bank transfer.",
      ]);
      const webhook = await deliver(stripeEvent("checkout.session.completed", { id: "cs_test_x" }));
      expect(webhook.status).toBe(404);
    } finally {
      env.stripeEnabled = true;
    }
    expect(sessionRequests()).toHaveLength(before);
    expect(await prisma.stripeCheckout.count({ where: { userId: user.id } })).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// Amount conversion
// ---------------------------------------------------------------------------------------------------

describe("zero-decimal currencies", () => {
  it("converts XAF in whole francs, and the SDK sends them as such", async () => {
    const francs = 5_000n * 1_000_000n;
    expect(toStripeAmount(francs, "XAF")).toBe(5000);
    expect(fromStripeAmount(5000, "xaf")).toBe(francs);
    expect(() => toStripeAmount(2_500_500_000n, "XAF")).toThrow(/not a whole Stripe amount/);
    expect(toStripeAmount(12_500_000n, "USD")).toBe(1250);

    const params = checkoutSessionParams({ userId: "member_1", amount: francs, currency: "XAF", appUrl: BASE_URL });
    expect(params.line_items![0]!.price_data).toMatchObject({ currency: "xaf", unit_amount: 5000 });
    await getStripe().checkout.sessions.create(params, { idempotencyKey: `test:xaf:${crypto.randomUUID()}` });
    expect(sessionRequests().at(-1)!.params).toMatchObject({
      line_items: [{ price_data: { currency: "xaf", unit_amount: "5000" } }],
      metadata: { amountMicros: "5000000000" },
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// The webhook
// ---------------------------------------------------------------------------------------------------

describe("webhook signature", () => {
  it("answers GET with 405", async () => {
    const result = await call(webhookLoader, getRequest("/webhooks/stripe"));
    expect(result.status).toBe(405);
    expect(result.headers.get("allow")).toBe("POST");
  });

  it("refuses bad, stale, missing, tampered and malformed deliveries with 400, changing nothing", async () => {
    const { user, cookie } = await member();
    const session = await startTopUp(cookie);
    const event = completedEvent(session);
    const payload = JSON.stringify(event);
    const before = await state(user.id);

    const now = Math.floor(Date.now() / 1000);
    const tampered = JSON.stringify({
      ...event,
      data: { object: { ...event.data.object, amount_total: 999_999 } },
    });
    const cases: Array<[string, Delivery, string]> = [
      ["wrong secret", { secret: "whsec_not_ours" }, "bad_signature"],
      ["stale timestamp", { timestamp: now - 301 }, "bad_signature"],
      ["timestamp from the future", { timestamp: now + 600 }, "bad_signature"],
      ["missing header", { header: null }, "missing_signature"],
      ["garbage header", { header: "t=1,v1=deadbeef" }, "bad_signature"],
      [
        "body changed after signing",
        { header: signer.webhooks.generateTestHeaderString({ payload, secret }), payload: tampered },
        "bad_signature",
      ],
      ["signed, but not JSON", { payload: "{not json" }, "bad_payload"],
      ["signed JSON that is not an event", { payload: JSON.stringify({ hello: "world" }) }, "bad_payload"],
    ];
    for (const [label, options, reason] of cases) {
      const response = await deliver(event, options);
      expect({ label, ...response }).toEqual({ label, status: 400, body: { error: reason } });
    }
    expect(await state(user.id)).toEqual(before);
    expect(before.checkouts[0]).toMatchObject({ status: "open", transferId: null });
  });
});

describe("crediting", () => {
  it("credits a paid checkout once, records the event, emails one receipt, and ignores a redelivery", async () => {
    const { user, cookie } = await member();
    const session = await startTopUp(cookie, "20");
    const event = completedEvent(session);

    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, outcome: "credited" } });
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, outcome: "duplicate" } });

    expect(await getWalletBalance(user.id)).toMatchObject({ balance: usd(2000), available: usd(2000) });
    const transfer = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { idempotencyKey: checkoutTransferKey(session.id) },
      include: { entries: true },
    });
    expect(transfer.kind).toBe("topup_card");
    expect(transfer.entries.map((entry) => [entry.accountId, entry.amount]).sort()).toEqual(
      [
        ["platform:stripe_clearing", -usd(2000)],
        [walletAccountId(user.id), usd(2000)],
      ].sort(),
    );
    expect(await prisma.stripeCheckout.findUniqueOrThrow({ where: { id: session.id } })).toMatchObject({
      status: "paid",
      transferId: transfer.id,
      paymentIntentId: session.payment_intent,
    });
    expect(await prisma.stripeEvent.findUnique({ where: { id: event.id } })).toMatchObject({
      type: "checkout.session.completed",
    });

    const emails = await receipts(user.email);
    expect(emails).toHaveLength(1);
    expect(emails[0]!.subject).toBe("Receipt: $20.00 added to your AI Wallet wallet");
    expect(emails[0]!.text).toContain("Amount: $20.00");
    expect(emails[0]!.text).toContain("New balance: $20.00");
    expect(emails[0]!.text).toContain(`Reference: ${session.id}`);
    expect(emails[0]!.html).toContain("Top-up received");
  });

  it("the same event 10 times at once, mixed with async_payment_succeeded in any order: exactly one credit", async () => {
    const { user, cookie } = await member();
    const session = await startTopUp(cookie, "35");
    const completed = completedEvent(session);
    const succeeded = stripeEvent("checkout.session.async_payment_succeeded", sessionObject(session));
    const deliveries = shuffle([
      ...Array.from({ length: 10 }, () => completed),
      ...Array.from({ length: 3 }, () => succeeded),
    ]);

    const responses = await Promise.all(deliveries.map((event) => deliver(event)));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(responses.filter((response) => response.body.outcome === "credited")).toHaveLength(1);

    expect((await getWalletBalance(user.id)).balance).toBe(usd(3500));
    expect(
      await prisma.ledgerEntry.count({
        where: { accountId: walletAccountId(user.id), transfer: { kind: "topup_card" } },
      }),
    ).toBe(1);
    expect(await prisma.stripeEvent.count({ where: { id: { in: [completed.id, succeeded.id] } } })).toBe(2);
    expect(await receipts(user.email)).toHaveLength(1);

    // Later redeliveries of either event change nothing.
    expect((await deliver(succeeded)).body.outcome).toBe("duplicate");
    expect((await getWalletBalance(user.id)).balance).toBe(usd(3500));
  });

  it("a completed but unpaid session (bank debit) credits nothing until async_payment_succeeded", async () => {
    const { user, cookie } = await member();
    const session = await startTopUp(cookie, "15");
    const success = () =>
      call(successLoader, getRequest(`/wallet/top-up/success?session_id=${session.id}`, { cookie }));

    expect((await deliver(completedEvent(session, "unpaid"))).body.outcome).toBe("awaiting_payment");
    expect((await getWalletBalance(user.id)).balance).toBe(0n);
    expect((await success()).data).toMatchObject({ state: "pending_payment" });
    expect(await receipts(user.email)).toHaveLength(0);

    session.payment_status = "paid";
    const succeeded = stripeEvent("checkout.session.async_payment_succeeded", sessionObject(session));
    expect((await deliver(succeeded)).body.outcome).toBe("credited");
    expect((await getWalletBalance(user.id)).balance).toBe(usd(1500));
    expect((await success()).data).toMatchObject({ state: "paid", balance: "$15.00" });
    expect(await receipts(user.email)).toHaveLength(1);
  });

  it("async_payment_failed and expired close the checkout, and never undo a credit", async () => {
    const { user, cookie } = await member();
    const failing = await startTopUp(cookie, "10");
    await deliver(completedEvent(failing, "unpaid"));
    const failed = stripeEvent("checkout.session.async_payment_failed", sessionObject(failing));
    expect((await deliver(failed)).body.outcome).toBe("closed");

    const abandoned = await startTopUp(cookie, "11");
    const expired = stripeEvent("checkout.session.expired", sessionObject(abandoned, { status: "expired", url: null }));
    expect((await deliver(expired)).body.outcome).toBe("closed");

    const paid = await paidTopUp(cookie, "12");
    const lateExpiry = stripeEvent("checkout.session.expired", sessionObject(paid, { status: "expired" }));
    expect((await deliver(lateExpiry)).body.outcome).toBe("unchanged");

    const rows = await prisma.stripeCheckout.findMany({ where: { userId: user.id } });
    expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({
      [failing.id]: "failed",
      [abandoned.id]: "expired",
      [paid.id]: "paid",
    });
    expect((await getWalletBalance(user.id)).balance).toBe(usd(1200));
    const page = await call(successLoader, getRequest(`/wallet/top-up/success?session_id=${abandoned.id}`, { cookie }));
    expect(page.data).toMatchObject({ state: "expired" });
  });

  it("flags a session we do not know, or one whose amount, currency or member does not match; credits nothing", async () => {
    const { user, cookie } = await member();
    const unknown = stripeEvent(
      "checkout.session.completed",
      sessionObject(fake.completeSession((await startTopUp(cookie, "9")).id), {
        id: "cs_test_unknown0000000000000000000",
      }),
    );
    expect((await deliver(unknown)).body.outcome).toBe("flagged");
    expect(
      await prisma.moneyFlag.findFirst({ where: { reference: "cs_test_unknown0000000000000000000" } }),
    ).toMatchObject({ kind: FLAG_KINDS.unknownCheckout, userId: user.id, amount: usd(900) });

    const cheaper = await startTopUp(cookie, "30");
    const underpaid = stripeEvent(
      "checkout.session.completed",
      sessionObject(fake.completeSession(cheaper.id), { amount_total: 100 }),
    );
    expect((await deliver(underpaid)).body.outcome).toBe("flagged");

    const francs = await startTopUp(cookie, "31");
    const otherCurrency = stripeEvent(
      "checkout.session.completed",
      sessionObject(fake.completeSession(francs.id), { currency: "xaf", amount_total: 3100 }),
    );
    expect((await deliver(otherCurrency)).body.outcome).toBe("flagged");

    const someoneElse = await startTopUp(cookie, "32");
    const wrongMember = stripeEvent(
      "checkout.session.completed",
      sessionObject(fake.completeSession(someoneElse.id), { client_reference_id: "somebody_else" }),
    );
    expect((await deliver(wrongMember)).body.outcome).toBe("flagged");

    const flags = await prisma.moneyFlag.findMany({
      where: { reference: { in: [cheaper.id, francs.id, someoneElse.id] } },
      orderBy: { createdAt: "asc" },
    });
    expect(flags.map((flag) => flag.kind)).toEqual(Array(3).fill(FLAG_KINDS.checkoutMismatch));
    expect(flags[0]!.note).toContain("Paid $1.00, expected $30.00");
    expect(flags[1]!.note).toContain("Paid in XAF, expected USD");
    expect((await getWalletBalance(user.id)).balance).toBe(0n);
    expect(
      await prisma.ledgerTransfer.count({ where: { kind: "topup_card", idempotencyKey: { contains: cheaper.id } } }),
    ).toBe(0);

    const page = await call(successLoader, getRequest(`/wallet/top-up/success?session_id=${cheaper.id}`, { cookie }));
    expect(page.data).toMatchObject({ state: "review" });
    // Redelivery with a new event id does not flag twice.
    const again = stripeEvent("checkout.session.completed", underpaid.data.object);
    expect((await deliver(again)).body.outcome).toBe("flagged");
    expect(await prisma.moneyFlag.count({ where: { reference: cheaper.id } })).toBe(1);
  });

  it("the fake's payment page pays, delivers its own signed webhook, and returns to the success page", async () => {
    // A tiny HTTP front for the webhook route, so the fake's independently computed signature is checked
    // by the real route over a real socket.
    const front = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const request = new Request(`${BASE_URL}${req.url}`, {
          method: req.method,
          headers: req.headers as Record<string, string>,
          body: Buffer.concat(chunks),
        });
        void call(webhookAction, request).then((result) => {
          res.writeHead(result.status, { "content-type": "application/json" });
          res.end(String(result.data));
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
    fake.setWebhook({ url: `http://127.0.0.1:${(front.address() as AddressInfo).port}/webhooks/stripe`, secret });
    try {
      const { user, cookie } = await member();
      const session = await startTopUp(cookie, "6");
      const page = await fetch(session.url!);
      expect(await page.text()).toContain("Fake Stripe Checkout");
      const paid = await fetch(session.url!, { method: "POST", redirect: "manual" });
      expect(paid.status).toBe(303);
      expect(paid.headers.get("location")).toBe(`http://localhost:3000/wallet/top-up/success?session_id=${session.id}`);
      expect((await getWalletBalance(user.id)).balance).toBe(usd(600));
    } finally {
      fake.setWebhook(undefined);
      await new Promise((resolve) => front.close(resolve));
    }
  });

  it("a crash between the credit and marking the checkout is finished by the redelivery (one receipt)", async () => {
    const { user, cookie } = await member();
    const session = await startTopUp(cookie, "18");
    fake.completeSession(session.id);
    // What a crash right after the ledger transfer leaves behind: money moved, checkout still open.
    await ensureWallet(user.id);
    await transfer({
      key: checkoutTransferKey(session.id),
      kind: "topup_card",
      description: "Card top-up",
      postings: [
        { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: -usd(1800) },
        { accountId: walletAccountId(user.id), amount: usd(1800) },
      ],
    });
    const event = stripeEvent("checkout.session.completed", sessionObject(session));
    expect((await deliver(event)).body.outcome).toBe("credited");
    expect((await deliver(stripeEvent("checkout.session.completed", sessionObject(session)))).body.outcome).toBe(
      "already_credited",
    );
    expect((await getWalletBalance(user.id)).balance).toBe(usd(1800));
    expect(await prisma.stripeCheckout.findUniqueOrThrow({ where: { id: session.id } })).toMatchObject({
      status: "paid",
    });
    expect(await receipts(user.email)).toHaveLength(1);
  });

  it("acknowledges unknown event types without recording them", async () => {
    const event = stripeEvent("customer.created", { id: "cus_test_1", object: "customer" });
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, outcome: "ignored" } });
    expect(await prisma.stripeEvent.findUnique({ where: { id: event.id } })).toBeNull();
  });
});

describe("refunds", () => {
  it("debits each refunded slice once, whatever the order, and ignores replays", async () => {
    const { user, cookie } = await member();
    const session = await paidTopUp(cookie, "20");
    const partial = refundEvent(session, 0, 500);
    const rest = refundEvent(session, 500, 2000);

    // The second refund arrives first.
    expect((await deliver(rest)).body.outcome).toBe("debited");
    expect((await getWalletBalance(user.id)).balance).toBe(usd(500));
    expect((await deliver(partial)).body.outcome).toBe("debited");
    expect((await getWalletBalance(user.id)).balance).toBe(0n);

    // Replays: the same event, and the same refund under a new event id.
    expect((await deliver(partial)).body.outcome).toBe("duplicate");
    const resent = stripeEvent("charge.refunded", rest.data.object, {
      previousAttributes: rest.data.previous_attributes,
    });
    expect((await deliver(resent)).body.outcome).toBe("already_applied");
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () =>
        deliver(stripeEvent("charge.refunded", partial.data.object, { previousAttributes: { amount_refunded: 0 } })),
      ),
    );
    expect(concurrent.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);

    expect((await getWalletBalance(user.id)).balance).toBe(0n);
    const refunds = await prisma.ledgerTransfer.findMany({
      where: { kind: "topup_card_refund" },
      include: { entries: true },
    });
    const mine = refunds.filter((transfer) =>
      transfer.entries.some((entry) => entry.accountId === walletAccountId(user.id)),
    );
    expect(mine).toHaveLength(2);
    const credit = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { idempotencyKey: checkoutTransferKey(session.id) },
    });
    expect(mine.every((transfer) => transfer.reversesId === credit.id)).toBe(true);
  });

  it("takes what is available and flags the rest when the money was already spent; never below zero", async () => {
    const { user, cookie } = await member();
    const session = await paidTopUp(cookie, "20");
    await spend(user.id, usd(1600));

    expect((await deliver(refundEvent(session, 0, 2000))).body.outcome).toBe("partially_debited");
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: 0n, available: 0n });
    expect(
      await prisma.moneyFlag.findFirst({ where: { userId: user.id, kind: FLAG_KINDS.refundShortfall } }),
    ).toMatchObject({
      amount: usd(1600),
      resolvedAt: null,
    });
    // A replay decides nothing new.
    const replay = stripeEvent("charge.refunded", refundEvent(session, 0, 2000).data.object, {
      previousAttributes: { amount_refunded: 0 },
    });
    expect((await deliver(replay)).body.outcome).toBe("already_applied");
    expect(await prisma.moneyFlag.count({ where: { userId: user.id } })).toBe(1);
  });

  it("a crash between a partial debit and its shortfall flag is finished by the redelivery", async () => {
    const { user, cookie } = await member();
    const session = await paidTopUp(cookie, "20");
    await spend(user.id, usd(1600));
    const event = refundEvent(session, 0, 2000);
    const charge = event.data.object as { id: string };
    // What a crash right after the debit leaves behind: $4 taken back, the $16 shortfall not yet flagged.
    await transfer({
      key: refundTransferKey(charge.id, 2000),
      kind: "topup_card_refund",
      description: "Card top-up refunded",
      postings: [
        { accountId: walletAccountId(user.id), amount: -usd(400) },
        { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: usd(400) },
      ],
      metadata: { requested: usd(2000).toString(), debited: usd(400).toString() },
    });
    expect((await deliver(event)).body.outcome).toBe("already_applied");
    expect(
      await prisma.moneyFlag.findFirst({ where: { userId: user.id, kind: FLAG_KINDS.refundShortfall } }),
    ).toMatchObject({
      amount: usd(1600),
    });
    expect((await getWalletBalance(user.id)).balance).toBe(0n);
  });

  it("a refund that arrives before its credit is refused with 503 (Stripe retries) and applied afterwards", async () => {
    const { user, cookie } = await member();
    const session = await startTopUp(cookie, "25");
    fake.completeSession(session.id);
    const refund = refundEvent(session, 0, 2500);

    const early = await deliver(refund);
    expect(early).toEqual({ status: 503, body: { error: "retry_later" } });
    expect(await prisma.stripeEvent.findUnique({ where: { id: refund.id } })).toBeNull();

    expect((await deliver(stripeEvent("checkout.session.completed", sessionObject(session)))).body.outcome).toBe(
      "credited",
    );
    expect((await deliver(refund)).body.outcome).toBe("debited");
    expect((await getWalletBalance(user.id)).balance).toBe(0n);
  });

  it("ignores refunds of charges this app did not create", async () => {
    const foreign = stripeEvent(
      "charge.refunded",
      chargeObject({ paymentIntentId: "pi_test_foreign", amount: 1000, amountRefunded: 1000, currency: "usd" }),
      { previousAttributes: { amount_refunded: 0 } },
    );
    expect(await deliver(foreign)).toEqual({ status: 200, body: { received: true, outcome: "ignored" } });
  });
});

describe("disputes", () => {
  it("a dispute larger than the balance debits what is available, flags the rest, and a won dispute gives it back", async () => {
    const { user, cookie } = await member();
    const session = await paidTopUp(cookie, "20");
    await spend(user.id, usd(1500));
    const chargeId = `ch_for_${session.id}`;
    const dispute = disputeObject({ chargeId, paymentIntentId: session.payment_intent, amount: 2000, currency: "usd" });
    const created = stripeEvent("charge.dispute.created", dispute);

    expect((await deliver(created)).body.outcome).toBe("partially_debited");
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: 0n, available: 0n });
    const flag = await prisma.moneyFlag.findUniqueOrThrow({
      where: { kind_reference: { kind: FLAG_KINDS.disputeShortfall, reference: dispute.id } },
    });
    expect(flag).toMatchObject({ userId: user.id, amount: usd(1500), resolvedAt: null });
    expect(flag.note).toContain("$20.00 to take back, $5.00 was available");

    // Replays, including under a new event id, change nothing.
    expect((await deliver(created)).body.outcome).toBe("duplicate");
    expect((await deliver(stripeEvent("charge.dispute.created", dispute))).body.outcome).toBe("already_applied");
    expect(await prisma.moneyFlag.count({ where: { userId: user.id } })).toBe(1);
    const debit = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { idempotencyKey: disputeTransferKey(dispute.id) },
      include: { entries: true },
    });
    expect(debit.entries.find((entry) => entry.accountId === walletAccountId(user.id))?.amount).toBe(-usd(500));

    const won = stripeEvent("charge.dispute.closed", { ...dispute, status: "won" });
    expect((await deliver(won)).body.outcome).toBe("reinstated");
    expect((await getWalletBalance(user.id)).balance).toBe(usd(500));
    expect((await prisma.moneyFlag.findUniqueOrThrow({ where: { id: flag.id } })).resolvedAt).toBeInstanceOf(Date);
    expect((await deliver(stripeEvent("charge.dispute.closed", { ...dispute, status: "won" }))).body.outcome).toBe(
      "already_applied",
    );
    expect((await getWalletBalance(user.id)).balance).toBe(usd(500));
  });

  it("an inquiry takes no money; a dispute on an unknown payment is flagged", async () => {
    const { user, cookie } = await member();
    const session = await paidTopUp(cookie, "10");
    const inquiry = disputeObject({
      chargeId: "ch_test_x",
      paymentIntentId: session.payment_intent,
      amount: 1000,
      currency: "usd",
      status: "warning_needs_response",
    });
    expect((await deliver(stripeEvent("charge.dispute.created", inquiry))).body.outcome).toBe("ignored");
    expect((await getWalletBalance(user.id)).balance).toBe(usd(1000));

    const stray = disputeObject({
      chargeId: "ch_test_y",
      paymentIntentId: "pi_test_stray",
      amount: 700,
      currency: "usd",
    });
    expect((await deliver(stripeEvent("charge.dispute.created", stray))).body.outcome).toBe("flagged");
    expect(await prisma.moneyFlag.findFirst({ where: { reference: stray.id } })).toMatchObject({
      kind: FLAG_KINDS.disputeUnmatched,
      userId: null,
      amount: usd(700),
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// Success and cancel pages
// ---------------------------------------------------------------------------------------------------

describe("success and cancel pages", () => {
  it("shows processing until the webhook credits, then the new balance; only to the session's owner", async () => {
    const { user, cookie } = await member();
    await ensureWallet(user.id);
    const session = await startTopUp(cookie, "40");
    const path = `/wallet/top-up/success?session_id=${session.id}`;

    const waiting = await call(successLoader, getRequest(path, { cookie }));
    expect(waiting.status).toBe(200);
    expect(waiting.data).toEqual({ state: "processing", amount: "$40.00", balance: null, reference: session.id });
    expect(waiting.headers.get("cache-control")).toBe("no-store");

    await deliver(completedEvent(session));
    const done = await call(successLoader, getRequest(path, { cookie }));
    expect(done.data).toEqual({ state: "paid", amount: "$40.00", balance: "$40.00", reference: session.id });

    const other = await member();
    expect((await call(successLoader, getRequest(path, { cookie: other.cookie }))).status).toBe(404);
    expect((await call(successLoader, getRequest("/wallet/top-up/success", { cookie }))).status).toBe(404);
    expect(
      (await call(successLoader, getRequest("/wallet/top-up/success?session_id=cs_test_nope", { cookie }))).status,
    ).toBe(404);
    expect(
      (await call(successLoader, getRequest("/wallet/top-up/success?session_id=../../etc", { cookie }))).status,
    ).toBe(404);
  });

  it("the cancel page needs a signed-in member and changes nothing", async () => {
    const { user, cookie } = await member();
    const before = await state(user.id);
    expect((await call(cancelLoader, getRequest("/wallet/top-up/cancel", { cookie }))).status).toBe(200);
    expect((await call(cancelLoader, getRequest("/wallet/top-up/cancel"))).status).toBe(302);
    expect(await state(user.id)).toEqual(before);
  });
});
