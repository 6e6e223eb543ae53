import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { addMethod, type PaymentMethod } from "#app/models/payment-methods.server";
import { prisma } from "#app/utils/db.server";
import { startFakeStripe, type FakeStripe } from "#tests/fakes/stripe-server";
import { createUser, TEST_PASSWORD } from "#tests/helpers";
import {
  DESKTOP,
  horizontalOverflow,
  openBrowser,
  PHONE,
  saveScreenshot,
  screenshotOnFailure,
  signInAs,
  startApp,
  waitForEmail,
  waitForHydration,
  type OpenBrowser,
  type RunningApp,
} from "./harness";

// Topping up the wallet in a real browser against the production server, at desktop and phone sizes:
//   - by card: the member pays on the fake Stripe's hosted Checkout page, which sends a signed
//     checkout.session.completed webhook to the app; the success page waits for it, then shows the credit,
//     and the receipt arrives by email;
//   - by mobile money: the member reports a payment (with a receipt picture), an admin approves it on a
//     390 px phone, and the member sees the credit and gets the approval email.
// Ledger facts are checked in the database too.

const VIEWPORTS = [DESKTOP, PHONE];
const WEBHOOK_SECRET = "whsec_test_browser_0123456789abcdef0123456789ab";

let app: RunningApp;
let stripe: FakeStripe;
let relay: WebhookRelay;
let admin: OpenBrowser;
let adminUser: { email: string; displayName: string };
let momo: PaymentMethod;
const browsers = new Map<string, OpenBrowser>();

type WebhookRelay = {
  url: string;
  /** Deliveries received from the fake Stripe and not yet passed on. */
  held: Array<{ signature: string; body: string }>;
  /** Passes the oldest held delivery to `target`, byte for byte with its signature, and returns the answer. */
  release(target: string): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
};

/**
 * Stands between the fake Stripe and the app as the webhook endpoint: it acknowledges each signed delivery
 * and keeps it until the test releases it. Real Stripe delivers webhooks independently of the payer's
 * browser, so the member may well reach the success page first — this makes that order happen on purpose.
 */
async function startWebhookRelay(): Promise<WebhookRelay> {
  const held: WebhookRelay["held"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      held.push({
        signature: String(req.headers["stripe-signature"] ?? ""),
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    held,
    async release(target) {
      const delivery = held.shift();
      if (!delivery) throw new Error("webhook relay: nothing was delivered");
      const response = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": delivery.signature },
        body: delivery.body,
      });
      return { status: response.status, body: (await response.json()) as unknown };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

beforeAll(async () => {
  [stripe, relay] = await Promise.all([startFakeStripe(), startWebhookRelay()]);
  const [started, ...opened] = await Promise.allSettled([
    startApp({
      env: {
        STRIPE_SECRET_KEY: "sk_test_browser_0123456789",
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE_URL: stripe.url,
        WALLET_CURRENCY: "USD",
        TOPUP_MIN: "1",
        TOPUP_MAX: "500",
        TOPUP_PRESETS: "5,10,20,50",
      },
    }),
    ...[...VIEWPORTS, PHONE].map((size) => openBrowser(size)),
  ]);
  opened.forEach((result, index) => {
    if (result.status !== "fulfilled") return;
    if (index < VIEWPORTS.length) browsers.set(VIEWPORTS[index]!.name, result.value);
    else admin = result.value;
  });
  if (started.status === "fulfilled") app = started.value;
  const failure = [started, ...opened].find((result) => result.status === "rejected");
  if (failure) throw failure.reason;

  // Two ways to pay by hand, as an operator would set them up; the member chooses one.
  momo = await addMethod(
    {
      name: "MTN MoMo",
      instructions: "Dial *126#, choose Transfer money, and send the amount to the number below.",
      accountNumber: "+237 670 00 00 01",
      accountName: "AI Wallet SARL",
      currencyNote: "Send the USD amount converted to XAF at today's rate.",
      sortOrder: 1,
    },
    { actorId: null, via: "cli" },
  );
  await addMethod(
    {
      name: "Orange Money",
      instructions: "Dial #150#, choose Transfer, and send the amount to the number below.",
      accountNumber: "+237 690 00 00 02",
      sortOrder: 2,
    },
    { actorId: null, via: "cli" },
  );
  adminUser = await createUser({ role: "admin", displayName: "Ada Admin" });
});

afterAll(async () => {
  await Promise.all([...browsers.values(), ...(admin ? [admin] : [])].map((browser) => browser.close()));
  await app?.stop();
  await Promise.all([stripe?.close(), relay?.close()]);
});

afterEach(async () => {
  const report = await checkInvariants();
  expect(report.problems).toEqual([]);
});

/** Fails on errors the page reports (script errors, CSP violations, failed loads) during a test. */
function collectPageErrors(page: Page) {
  const errors: string[] = [];
  const onError = (error: Error) => errors.push(`pageerror: ${error.message}`);
  const onConsole = (message: { type(): string; text(): string }) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  };
  page.on("pageerror", onError);
  page.on("console", onConsole);
  return {
    errors,
    stop() {
      page.off("pageerror", onError);
      page.off("console", onConsole);
    },
  };
}

/** A phone screenshot of a payment confirmation, as a member would attach: a real PNG made by Chromium. */
async function receiptPicture(page: Page, reference: string): Promise<Buffer> {
  const scratch = await page.context().newPage();
  try {
    await scratch.setViewportSize({ width: 320, height: 240 });
    await scratch.setContent(
      `<div id="receipt" style="font:16px sans-serif;width:280px;padding:16px;background:#ffcc00;color:#111">` +
        `<b>MTN MoMo</b><p>You have sent 6,250 XAF to +237670000001.</p><p>Ref: ${reference}</p></div>`,
    );
    return await scratch.locator("#receipt").screenshot();
  } finally {
    await scratch.close();
  }
}

describe.each(VIEWPORTS)("topping up at $name size ($width×$height)", (viewport) => {
  let page: Page;
  const phone = viewport === PHONE;

  beforeAll(() => {
    page = browsers.get(viewport.name)!.page;
  });
  screenshotOnFailure(() => page, viewport);
  screenshotOnFailure(() => (admin as OpenBrowser | undefined)?.page, { ...PHONE, name: `admin-${viewport.name}` });
  beforeEach(async () => {
    await Promise.all([page.context().clearCookies(), admin.context.clearCookies()]);
  });

  it("pays by card on Stripe Checkout; the signed webhook credits the wallet and a receipt is emailed", async () => {
    const user = await createUser({ displayName: `Card ${viewport.name}` });
    const watch = collectPageErrors(page);
    // Desktop: the webhook is held until the member is back on the success page, which must wait for it.
    // Phone: the fake delivers it straight to the app before sending the member back (the other order).
    const held = !phone;
    stripe.setWebhook({ url: held ? relay.url : `${app.url}/webhooks/stripe`, secret: WEBHOOK_SECRET });
    const amount = phone ? "$15.00" : "$20.00";
    const micros = phone ? 15_000_000n : 20_000_000n;

    await signInAs(page, app.url, user.email, TEST_PASSWORD, "/wallet/top-up");
    await page.getByRole("heading", { level: 1, name: "Top up your wallet" }).waitFor();
    await page.getByText("Available balance: $0.00").waitFor();
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-card-form", viewport);

    if (phone) {
      await page.getByLabel("Or enter another amount").fill("15");
      await page.getByRole("button", { name: "Continue to payment" }).click();
    } else {
      await page.getByRole("button", { name: "$20.00", exact: true }).click();
    }

    // Stripe's hosted page (the fake's), on another origin.
    await page.waitForURL((url) => url.href.startsWith(`${stripe.url}/c/pay/cs_test_`));
    await page.getByRole("heading", { name: "Fake Stripe Checkout" }).waitFor();
    await page.getByText(`Amount: ${micros / 10_000n} (smallest unit of USD), test mode`).waitFor();
    const sessionId = new URL(page.url()).pathname.split("/").pop()!;
    const created = stripe.requests.filter((request) => request.path === "/v1/checkout/sessions");
    expect(created.at(-1)?.params).toMatchObject({
      mode: "payment",
      client_reference_id: user.id,
      line_items: [{ price_data: { currency: "usd", unit_amount: String(micros / 10_000n) } }],
    });
    expect(await prisma.stripeCheckout.findUniqueOrThrow({ where: { id: sessionId } })).toMatchObject({
      userId: user.id,
      amount: micros,
      transferId: null,
    });
    await saveScreenshot(page, "topup-card-stripe-checkout", viewport);
    await page.getByRole("button", { name: "Pay" }).click();

    // Back on the app: "processing" until the signed webhook is in, then the credit.
    await page.waitForURL(`${app.url}/wallet/top-up/success?session_id=${sessionId}`);
    await waitForHydration(page);
    const status = page.getByRole("status");
    if (held) {
      await page.getByRole("heading", { level: 1, name: "Almost there" }).waitFor();
      await status.getByText(`Confirming your payment of ${amount}…`).waitFor();
      expect((await getWalletBalance(user.id)).balance).toBe(0n);
      expect(await horizontalOverflow(page)).toEqual([]);
      await saveScreenshot(page, "topup-card-processing", viewport);
      expect(relay.held).toHaveLength(1);
      expect(await relay.release(`${app.url}/webhooks/stripe`)).toEqual({
        status: 200,
        body: { received: true, outcome: "credited" },
      });
    }
    // No reload: the page asks the server again by itself until the payment is settled.
    await page.getByRole("heading", { level: 1, name: "Top-up complete" }).waitFor({ timeout: 15_000 });
    await status.getByText(`${amount} was added to your wallet.`).waitFor();
    await status.getByText(`Your available balance is now ${amount}.`).waitFor();
    await page.getByText(sessionId, { exact: true }).waitFor();
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-card-complete", viewport);

    // The ledger: credited once, from Stripe clearing, with the checkout marked paid.
    const checkout = await prisma.stripeCheckout.findUniqueOrThrow({ where: { id: sessionId } });
    expect(checkout).toMatchObject({ status: "paid", amount: micros });
    expect(checkout.transferId).not.toBeNull();
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: micros, held: 0n, available: micros });
    const transfer = await prisma.ledgerTransfer.findUniqueOrThrow({ where: { id: checkout.transferId! } });
    expect(transfer).toMatchObject({ kind: "topup_card", idempotencyKey: `stripe:checkout:${sessionId}` });

    await page.getByRole("link", { name: "Go to my wallet" }).click();
    await page.waitForURL(`${app.url}/wallet`);
    await page.getByRole("heading", { level: 1, name: "Wallet" }).waitFor();
    expect(await page.getByTestId("available-balance").textContent()).toBe(amount);
    expect(await page.getByText("Card top-up", { exact: true }).filter({ visible: true }).count()).toBe(1);
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-card-wallet", viewport);

    const receipt = await waitForEmail(app.resend, user.email, /^Receipt: /);
    expect(receipt.subject).toBe(`Receipt: ${amount} added to your AI Wallet wallet`);
    expect(receipt.text).toContain(amount);
    expect(receipt.text).toContain(sessionId);
    expect(receipt.text).toContain("Card (Stripe)");
    watch.stop();
    expect(watch.errors).toEqual([]);
  });

  it("reports a mobile money payment; an admin approves it on a phone; the member sees the credit", async () => {
    const user = await createUser({ displayName: `Mobile ${viewport.name}` });
    const watch = collectPageErrors(page);
    const reference = `MP${Date.now().toString(36).toUpperCase()}.${viewport.name.toUpperCase()}`;
    // At phone size the admin received less than claimed and credits that, with a note.
    const credited = phone ? { text: "12", label: "$12.00", micros: 12_000_000n } : null;
    const claimedLabel = "$12.50";
    const creditedLabel = credited?.label ?? claimedLabel;
    const creditedMicros = credited?.micros ?? 12_500_000n;
    const note = "We received 6,000 XAF, which is $12.00 at today's rate.";

    // The member: from the top-up page to the mobile money form.
    await signInAs(page, app.url, user.email, TEST_PASSWORD, "/wallet/top-up");
    await page.getByRole("link", { name: "Pay by mobile money or bank transfer" }).click();
    await page.waitForURL(`${app.url}/wallet/top-up/manual`);
    await page.getByRole("heading", { level: 2, name: "How did you pay?" }).waitFor();
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-manual-methods", viewport);
    await page.getByRole("link", { name: /^MTN MoMo/ }).click();
    await page.waitForURL(`${app.url}/wallet/top-up/manual?method=${momo.id}`);
    await page.getByRole("heading", { level: 2, name: "1. Pay with MTN MoMo" }).waitFor();
    await page.getByText("+237 670 00 00 01", { exact: true }).waitFor();
    await page.getByLabel("Amount you sent (USD)").fill("12.50");
    await page.getByLabel("Phone number you paid from").fill("+237 677 12 34 56");
    await page.getByLabel("Transaction reference").fill(reference);
    await page.getByLabel("Receipt (optional)").setInputFiles({
      name: "momo-receipt.png",
      mimeType: "image/png",
      buffer: await receiptPicture(page, reference),
    });
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-manual-form", viewport);
    await page.getByRole("button", { name: "Send for review" }).click();

    await page.waitForURL((url) => url.pathname === "/wallet/top-ups" && url.searchParams.has("sent"));
    await page.getByRole("heading", { level: 1, name: "My manual top-ups" }).waitFor();
    await page
      .getByText(`Thank you. We received your request for ${claimedLabel} by MTN MoMo (reference ${reference}).`)
      .waitFor();
    const requests = page.getByRole("list", { name: "Your manual top-up requests, newest first" });
    await requests.getByText("Waiting for review").waitFor();
    await requests.getByText(reference, { exact: true }).waitFor();
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-manual-pending", viewport);

    const topUp = await prisma.manualTopUp.findFirstOrThrow({ where: { userId: user.id } });
    expect(topUp).toMatchObject({
      status: "pending",
      methodId: momo.id,
      claimedAmount: 12_500_000n,
      senderNumber: "+237677123456",
      reference,
      transferId: null,
    });
    expect(topUp.receiptFileId).not.toBeNull();
    expect(new URL(page.url()).searchParams.get("sent")).toBe(topUp.id);
    expect((await getWalletBalance(user.id)).balance).toBe(0n);

    // The admin, on a phone: the queue, the request, the decision.
    const adminPage = admin.page;
    const adminView = { ...PHONE, name: `for-${viewport.name}-member-phone` };
    await signInAs(adminPage, app.url, adminUser.email, TEST_PASSWORD, "/admin/top-ups");
    await adminPage.getByRole("heading", { level: 1, name: "Manual top-ups" }).waitFor();
    const review = adminPage.getByRole("link", { name: `Review ${claimedLabel} from ${user.displayName}` });
    await review.waitFor();
    expect(await horizontalOverflow(adminPage)).toEqual([]);
    await saveScreenshot(adminPage, "admin-topups-queue", adminView);
    await review.click();

    await adminPage.waitForURL(`${app.url}/admin/top-ups/${topUp.id}`);
    await waitForHydration(adminPage);
    await adminPage.getByRole("heading", { level: 1, name: claimedLabel }).waitFor();
    await adminPage.getByText(user.email, { exact: true }).waitFor();
    await adminPage.getByText(reference, { exact: true }).waitFor();
    const picture = adminPage.getByRole("img", { name: `Receipt attached by ${user.displayName}` });
    await picture.scrollIntoViewIfNeeded();
    await expect.poll(() => picture.evaluate((image) => (image as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    expect(await horizontalOverflow(adminPage)).toEqual([]);
    await saveScreenshot(adminPage, "admin-topup-review", adminView);

    const amountField = adminPage.getByLabel("Amount to credit (USD)");
    expect(await amountField.inputValue()).toBe("12.5");
    if (credited) {
      await amountField.fill(credited.text);
      await adminPage.getByLabel("Note to the member").fill(note);
    }
    await adminPage.getByRole("button", { name: "Approve and credit" }).click();
    await adminPage.waitForURL(`${app.url}/admin/top-ups?done=${topUp.id}`);
    await adminPage
      .getByText(`Approved: ${creditedLabel} credited to the member’s wallet. The member gets an email.`)
      .waitFor();
    // Decided: it left the waiting list and is among the recently decided.
    expect(await adminPage.getByRole("link", { name: `Review ${claimedLabel} from ${user.displayName}` }).count()).toBe(
      0,
    );
    const decided = adminPage.getByRole("link", { name: `View ${claimedLabel} from ${user.displayName}` });
    await decided.waitFor();
    expect(await horizontalOverflow(adminPage)).toEqual([]);
    await saveScreenshot(adminPage, "admin-topups-approved", adminView);
    await decided.click();
    await adminPage.waitForURL(`${app.url}/admin/top-ups/${topUp.id}`);
    // The request's own page (the list, with other approved requests, may still be on screen a moment).
    await adminPage.getByRole("heading", { level: 1, name: claimedLabel }).waitFor();
    await adminPage.getByText("approved", { exact: true }).waitFor();
    await adminPage.getByText(/ by Ada Admin$/).waitFor();
    expect(await adminPage.getByRole("button", { name: "Approve and credit" }).count()).toBe(0);
    if (credited) await adminPage.getByText(note, { exact: true }).waitFor();
    expect(await horizontalOverflow(adminPage)).toEqual([]);
    await saveScreenshot(adminPage, "admin-topup-decided", adminView);

    // The ledger: the decided amount, credited once from manual clearing.
    const approved = await prisma.manualTopUp.findUniqueOrThrow({ where: { id: topUp.id } });
    expect(approved).toMatchObject({
      status: "approved",
      creditedAmount: creditedMicros,
      decisionNote: credited ? note : null,
    });
    expect(approved.transferId).not.toBeNull();
    const transfer = await prisma.ledgerTransfer.findUniqueOrThrow({ where: { id: approved.transferId! } });
    expect(transfer).toMatchObject({ kind: "topup_manual", idempotencyKey: `manual-topup:${topUp.id}` });
    expect(await getWalletBalance(user.id)).toMatchObject({
      balance: creditedMicros,
      held: 0n,
      available: creditedMicros,
    });

    // The member: the request is approved, the balance is there, and so is the email.
    await page.goto(`${app.url}/wallet/top-ups`);
    await waitForHydration(page);
    await requests.getByText("Approved", { exact: true }).waitFor();
    if (credited) {
      await requests.getByText(`(you told us ${claimedLabel})`).waitFor();
      await requests.getByText(note).waitFor();
    }
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-manual-approved", viewport);
    await page.getByRole("link", { name: "Wallet", exact: true }).first().click();
    await page.waitForURL(`${app.url}/wallet`);
    await page.getByRole("heading", { level: 1, name: "Wallet" }).waitFor();
    expect(await page.getByTestId("available-balance").textContent()).toBe(creditedLabel);
    expect(await page.getByText("Top-up by MTN MoMo", { exact: true }).filter({ visible: true }).count()).toBe(1);
    expect(await horizontalOverflow(page)).toEqual([]);
    await saveScreenshot(page, "topup-manual-wallet", viewport);

    const email = await waitForEmail(app.resend, user.email, /^Top-up approved: /);
    expect(email.subject).toBe(`Top-up approved: ${creditedLabel} added to your wallet`);
    expect(email.text).toContain(`added ${creditedLabel} to your wallet`);
    expect(email.text).toContain(`Available balance now: ${creditedLabel}`);
    expect(email.text).toContain(reference);
    if (credited) {
      expect(email.text).toContain(`You told us you sent ${claimedLabel}; we credited ${creditedLabel}.`);
      expect(email.text).toContain(`Note from our team: ${note}`);
    }
    watch.stop();
    expect(watch.errors).toEqual([]);
  });
});
