import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// Money emails while the email provider is down. Approving or rejecting a manual top-up, and crediting a card
// top-up from Stripe's webhook, only queue the email: the request never calls the provider, so it succeeds
// whatever the provider does. The queued email is retried later and arrives once the provider is back. The
// fake Resend and the fake Stripe speak their vendors' APIs to the real SDKs.
const setup = await vi.hoisted(async () => {
  const { startFakeResend } = await import("../fakes/resend-server");
  const { startFakeStripe } = await import("../fakes/stripe-server");
  const resend = await startFakeResend();
  const stripe = await startFakeStripe();
  const webhookSecret = "whsec_test_email_retry_0123456789abcdef";
  process.env.RESEND_API_KEY = "re_test_retry";
  process.env.RESEND_BASE_URL = resend.url;
  process.env.STRIPE_SECRET_KEY = "sk_test_fake_email_retry";
  process.env.STRIPE_WEBHOOK_SECRET = webhookSecret;
  process.env.STRIPE_API_BASE_URL = stripe.url;
  process.env.WALLET_CURRENCY = "USD";
  return { resend, stripe, webhookSecret };
});

import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { approveManualTopUp, rejectManualTopUp, requestManualTopUp } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { action as topUpAction } from "#app/routes/wallet.top-up._index";
import { action as webhookAction } from "#app/routes/webhooks.stripe";
import { prisma } from "#app/utils/db.server";
import { createResendTransport } from "#app/utils/email.server";
import { sessionObject, signStripePayload, stripeEvent } from "#tests/fakes/stripe-server";
import {
  BASE_URL,
  call,
  createUser,
  deliverQueuedEmails,
  postRequest,
  signedInCookie,
  uniqueEmail,
} from "#tests/helpers";

const { resend, stripe, webhookSecret } = setup;

afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});

afterAll(async () => {
  await resend.close();
  await stripe.close();
});

const sentTo = (address: string) =>
  resend.requests.filter((request) => request.path === "/emails" && [request.body?.to].flat().includes(address));

const minutesLater = (minutes: number) => new Date(Date.now() + minutes * 60_000);

async function pendingTopUp(amount: bigint) {
  const method = await addMethod(
    {
      name: `MTN MoMo ${crypto.randomUUID().slice(0, 6)}`,
      instructions: "Send it to the number below.",
      accountNumber: "+237 670 000 000",
    },
    { actorId: null, via: "cli" },
  );
  const member = await createUser({ email: uniqueEmail("retry") });
  const requested = await requestManualTopUp({
    userId: member.id,
    methodId: method.id,
    amount,
    senderNumber: "670123456",
    reference: `RETRY${crypto.randomUUID().slice(0, 8)}`,
  });
  if (!requested.ok) throw new Error(requested.error);
  return { member, topUp: requested.topUp };
}

describe("money emails during an email outage", () => {
  it("an approval credits at once without calling the provider; its email is retried and arrives later", async () => {
    const { member, topUp } = await pendingTopUp(5_000_000n);
    const admin = await createUser({ role: "admin" });
    const before = resend.requests.length;

    const approved = await approveManualTopUp({ id: topUp.id, actorId: admin.id, ip: null });
    expect(approved.ok).toBe(true);
    expect((await getWalletBalance(member.id)).balance).toBe(5_000_000n);
    expect(resend.requests.length).toBe(before); // the approval did not wait for the provider

    // The provider is down at the first attempt: the email stays queued, with the status and no content.
    resend.failNext(500);
    expect(await deliverQueuedEmails()).toMatchObject({ retry: 1, sent: 0 });
    const queued = await prisma.notification.findFirstOrThrow({ where: { userId: member.id } });
    expect(queued).toMatchObject({
      kind: "manual-topup-approved",
      status: "pending",
      attempts: 1,
      lastError: "status 500 internal_server_error",
    });
    expect(queued.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());

    // Not due yet: nothing is sent. A couple of minutes later it is, once.
    await deliverQueuedEmails();
    expect(sentTo(member.email)).toHaveLength(1);
    expect(await deliverQueuedEmails({ now: minutesLater(2) })).toMatchObject({ sent: 1 });
    const attempts = sentTo(member.email);
    expect(attempts).toHaveLength(2);
    expect(String(attempts[1]!.body.subject)).toMatch(/approved/i);
    expect(String(attempts[1]!.body.text)).toContain("$5.00");
    // Both attempts carried the same idempotency key, so the provider can never send it twice.
    expect(attempts.map((request) => request.headers["idempotency-key"])).toEqual([queued.id, queued.id]);

    const sent = await prisma.notification.findUniqueOrThrow({ where: { id: queued.id } });
    expect(sent).toMatchObject({ status: "sent", recipient: null, payload: null, attempts: 2 });
  });

  it("a rejection is saved while the provider times out; the email arrives when it answers again", async () => {
    const { member, topUp } = await pendingTopUp(2_000_000n);
    const admin = await createUser({ role: "admin" });
    const before = resend.requests.length;
    const rejected = await rejectManualTopUp({ id: topUp.id, actorId: admin.id, ip: null, reason: "Not received" });
    expect(rejected.ok).toBe(true);
    expect(resend.requests.length).toBe(before);

    resend.stallNext();
    const impatient = createResendTransport({
      apiKey: "re_test_retry",
      baseUrl: resend.url,
      from: "AI Wallet <no-reply@localhost>",
      timeoutMs: 200,
    });
    expect(await deliverQueuedEmails({ transport: impatient })).toMatchObject({ retry: 1 });
    expect(sentTo(member.email)).toHaveLength(1); // the request that never got an answer

    await deliverQueuedEmails({ now: minutesLater(2) });
    const delivered = sentTo(member.email);
    expect(delivered).toHaveLength(2);
    expect(String(delivered[1]!.body.subject)).toMatch(/could not be approved/i);
    expect(String(delivered[1]!.body.text)).toContain("Not received");
  });

  it("Stripe's webhook credits a card top-up during the outage; one receipt arrives later, however often it is redelivered", async () => {
    const user = await createUser({ email: uniqueEmail("card") });
    const { cookie } = await signedInCookie(user.id);
    const started = await call(
      topUpAction,
      postRequest("/wallet/top-up", { requestId: crypto.randomUUID(), amount: "20" }, { cookie }),
    );
    expect(started.status).toBe(302);
    const session = stripe.sessions.get(started.location!.split("/").pop()!)!;
    const event = stripeEvent(
      "checkout.session.completed",
      sessionObject(stripe.completeSession(session.id, { paymentStatus: "paid" })),
    );
    const payload = JSON.stringify(event);
    const deliver = () =>
      call(
        webhookAction,
        new Request(`${BASE_URL}/webhooks/stripe`, {
          method: "POST",
          body: payload,
          headers: {
            "content-type": "application/json",
            "stripe-signature": signStripePayload(payload, webhookSecret),
          },
        }),
      );

    const before = resend.requests.length;
    const first = await deliver();
    expect(first.status).toBe(200);
    expect(JSON.parse(String(first.data))).toMatchObject({ outcome: "credited" });
    expect((await getWalletBalance(user.id)).balance).toBe(20_000_000n);
    expect(resend.requests.length).toBe(before); // Stripe's request never waited for the email provider
    // Redelivered, also concurrently: still one receipt queued.
    await Promise.all([deliver(), deliver()]);
    expect(await prisma.notification.count({ where: { userId: user.id, kind: "topup-receipt" } })).toBe(1);

    resend.failNext(503);
    await deliverQueuedEmails();
    await deliverQueuedEmails({ now: minutesLater(2) });
    const receipts = sentTo(user.email);
    expect(receipts).toHaveLength(2); // the refused attempt, then the receipt
    expect(String(receipts[1]!.body.subject)).toMatch(/^Receipt: \$20\.00/);
    expect(String(receipts[1]!.body.text)).toContain(session.id);
  });
});
