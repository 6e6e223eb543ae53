import type { Page } from "playwright-core";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

// The admin console in a real browser against the production server, at desktop and phone sizes: the
// overview with its revenue charts, the ledger explorer (invariant check, an account, a transfer), the
// support-access page, and a price change on a model that the next generation is charged by, with its
// audit-log entry; a large manual top-up approved by two admins (four eyes), and an admin's own top-up
// they cannot approve. A member who types /admin gets the 404 page.
vi.hoisted(() => {
  // The server inherits this process's environment: demo replies arrive without a delay per word.
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
});

import { getCatalogEntry } from "#app/models/catalog.server";
import { submitContactMessage } from "#app/models/contact.server";
import { prepareText, streamText } from "#app/models/generation.server";
import { getWalletBalance } from "#app/models/ledger.server";
import { requestManualTopUp } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { formatMoney } from "#app/utils/money";
import { estimateInputTokens, estimateText, priceOf, type Usage } from "#app/utils/pricing";
import { prisma } from "#app/utils/db.server";
import { createUser, fundWallet, TEST_PASSWORD } from "#tests/helpers";
import {
  browserSuite,
  DESKTOP,
  horizontalOverflow,
  PHONE,
  saveScreenshot,
  screenshotOnFailure,
  signInAs,
  waitForEmail,
  waitForHydration,
  type Viewport,
} from "./harness";

const VIEWPORTS = [DESKTOP, PHONE];
const suite = browserSuite(VIEWPORTS);

type User = Awaited<ReturnType<typeof createUser>>;
let admin: User;
/** The second pair of eyes for large manual top-ups. */
let secondAdmin: User;
/** A member with a funded wallet and one settled chat answer: the charts and the ledger have something. */
let member: User;

beforeAll(async () => {
  admin = await createUser({ role: "admin", displayName: "Ada Admin" });
  secondAdmin = await createUser({ role: "admin", displayName: "Bo Admin" });
  member = await createUser({ displayName: "Mira Member" });
  await fundWallet(member.id, 3_000_000n);
  const prepared = await prepareText({
    userId: member.id,
    requestId: `e2e-admin-${process.pid}`,
    modelId: "demo:chat",
    prompt: "How do prepaid wallets work?",
    files: [],
  });
  if (prepared.replayed) throw new Error("unexpected replay");
  await streamText(prepared, () => undefined);
});

/** No sideways scrolling, and a full-page screenshot in tests/artifacts. */
async function checkPage(page: Page, name: string, viewport: Viewport) {
  expect(await horizontalOverflow(page), `${name} overflows at ${viewport.width} px`).toEqual([]);
  await saveScreenshot(page, name, viewport);
}

// New prices per viewport (the phone run starts from the desktop run's prices), typed as an admin would.
const PRICE_CHANGES = {
  desktop: {
    output: "3.2",
    outputMicros: 3_200_000n,
    markup: "25",
    bps: 2500,
    listed: "$0.125 in · $4.00 out per million tokens",
  },
  phone: {
    output: "8",
    outputMicros: 8_000_000n,
    markup: "12.5",
    bps: 1250,
    listed: "$0.1125 in · $9.00 out per million tokens",
  },
} as const;

describe.each(VIEWPORTS)("admin console at $name size ($width×$height)", (viewport) => {
  let page: Page;
  const phone = viewport === PHONE;
  const url = () => suite.app().url;

  beforeAll(() => {
    page = suite.page(viewport);
  });
  screenshotOnFailure(() => page, viewport);
  beforeEach(async () => {
    await page.context().clearCookies();
  });

  it("shows the overview with charts, the ledger explorer and the support page without overflow", async () => {
    await signInAs(page, url(), admin.email, TEST_PASSWORD, "/admin");
    await page.getByRole("heading", { level: 1, name: "Admin" }).waitFor();
    // The invariant check streams in after the page.
    const invariants = page.getByRole("region", { name: "Ledger invariants" });
    await invariants.getByText(/^All \d+ checks pass\.$/).waitFor();
    const byDay = page.getByRole("figure", { name: "By day" });
    await byDay.waitFor();
    await page.getByRole("figure", { name: "By model" }).waitFor();
    // The chart drawn for this width is the one on screen (the other one is hidden by CSS).
    const shown = phone ? "narrow" : "wide";
    await byDay.locator(`[data-chart="revenue-by-day-${shown}"] svg`).waitFor({ state: "visible" });
    expect(await byDay.locator(`[data-chart="revenue-by-day-${phone ? "wide" : "narrow"}"]`).isVisible()).toBe(false);
    await page
      .getByRole("figure", { name: "By model" })
      .getByText(/^1 model charged\. Most revenue: /)
      .waitFor();
    await checkPage(page, "admin-overview", viewport);

    // The ledger explorer: run the check, find the member's wallet, open it, then one of its transfers.
    await page
      .getByRole("navigation", { name: "Admin sections" })
      .getByRole("link", { name: /^Ledger explorer/ })
      .click();
    await page.waitForURL(`${url()}/admin/ledger`);
    await page.getByRole("heading", { level: 1, name: "Ledger explorer" }).waitFor();
    await waitForHydration(page);
    await page.getByRole("button", { name: "Run invariant check" }).click();
    await page.waitForURL(`${url()}/admin/ledger?check=1`);
    await page
      .getByRole("status")
      .getByText(/^All \d+ checks pass\./)
      .waitFor();
    expect(await page.getByRole("list", { name: "Checks" }).getByText("Fail:").count()).toBe(0);
    await page.getByRole("button", { name: "Run the check again" }).waitFor();
    await checkPage(page, "admin-ledger-check", viewport);

    await page.getByLabel("Member email (or name, or account id)").fill(member.email);
    await page.getByRole("button", { name: "Show", exact: true }).click();
    await page.waitForURL((address) => address.pathname === "/admin/ledger" && address.searchParams.has("q"));
    await page.getByRole("heading", { level: 2, name: /^Accounts\s+\(1 account\)$/ }).waitFor();
    await checkPage(page, "admin-ledger-search", viewport);
    await page.getByRole("link", { name: member.displayName, exact: true }).click();

    await page.waitForURL((address) => address.pathname.startsWith("/admin/ledger/") && !address.search);
    await page.getByRole("heading", { level: 1, name: `Wallet of ${member.displayName}` }).waitFor();
    const balance = page.getByRole("region", { name: "Balance" });
    await balance.getByText("Sum of all entries").waitFor();
    // The test credit and the chat answers' charges, newest first.
    await page.getByRole("heading", { level: 2, name: /^Entries\s+\(\d+, newest first\)$/ }).waitFor();
    await checkPage(page, "admin-ledger-account", viewport);
    await page.getByRole("link", { name: "Test credit", exact: true }).click();

    await page.waitForURL((address) => address.pathname.startsWith("/admin/ledger/transfers/"));
    await page.getByRole("heading", { level: 1, name: "Test credit" }).waitFor();
    const transferId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
    await page.getByText(`Transfer ${transferId}`, { exact: true }).waitFor();
    await page.getByRole("heading", { level: 2, name: "Entries" }).waitFor();
    const transfer = await prisma.ledgerTransfer.findUniqueOrThrow({ where: { id: transferId } });
    expect(transfer).toMatchObject({ kind: "grant", description: "Test credit" });
    await checkPage(page, "admin-ledger-transfer", viewport);

    // Support access: nobody has shared anything in this database.
    await page.goto(`${url()}/admin/support`);
    await page.getByRole("heading", { level: 1, name: "Support access" }).waitFor();
    await page.getByText("No member has given support access right now.", { exact: false }).waitFor();
    await checkPage(page, "admin-support-empty", viewport);
  });

  it("changes a model's price; the audit log has it and the next generation is charged by it", async () => {
    const change = PRICE_CHANGES[viewport.name as keyof typeof PRICE_CHANGES];
    await signInAs(page, url(), admin.email, TEST_PASSWORD, "/admin/models");
    await page.getByRole("heading", { level: 1, name: "Models" }).waitFor();
    await checkPage(page, "admin-models", viewport);
    await page.getByRole("link", { name: "Demo chat", exact: true }).click();

    await page.waitForURL(`${url()}/admin/models/${encodeURIComponent("demo:chat")}`);
    await waitForHydration(page);
    await page.getByRole("heading", { level: 1, name: "Demo chat" }).waitFor();
    await page.getByLabel("Output, per million tokens (USD)").fill(change.output);
    await page.getByLabel("Markup (%)").fill(change.markup);
    await checkPage(page, "admin-model-edit", viewport);
    await page.getByRole("button", { name: "Save" }).click();

    // Saved: back on the list, which states the new price members pay.
    await page.waitForURL(`${url()}/admin/models`);
    const row = page.getByRole("listitem").filter({ has: page.getByRole("link", { name: "Demo chat", exact: true }) });
    await row.getByText(`${change.listed} · markup ${change.markup} %`, { exact: false }).waitFor();
    const entry = (await getCatalogEntry("demo:chat"))!;
    expect(entry.price).toMatchObject({
      inputPerMillion: 100_000n,
      outputPerMillion: change.outputMicros,
      markupBps: change.bps,
    });

    // The audit log: the change, by whom, with the prices before and after.
    await page.goto(`${url()}/admin/audit`);
    await waitForHydration(page);
    await page.getByLabel("Action").selectOption("catalog.update");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL((address) => address.searchParams.get("action") === "catalog.update");
    const event = page.getByRole("listitem").first();
    await event.getByText("catalog.update", { exact: true }).waitFor();
    await event.getByText(admin.email, { exact: true }).waitFor();
    await event.getByRole("link", { name: "demo:chat" }).waitFor();
    const after = event.locator("pre").last();
    expect(await after.textContent()).toContain(`"outputPerMillion": "${entry.price.outputPerMillion}"`);
    expect(await after.textContent()).toContain(`"markupBps": ${change.bps}`);
    await checkPage(page, "admin-audit-catalog-update", viewport);

    // A member: the price list and the generate form use the new price; the next answer is charged by it.
    await page.context().clearCookies();
    await signInAs(page, url(), member.email, TEST_PASSWORD, "/pricing");
    await page.getByRole("heading", { level: 1, name: "Pricing" }).waitFor();
    await page.getByText(change.listed, { exact: false }).first().waitFor();
    await checkPage(page, "admin-price-member-pricing", viewport);

    await page.goto(`${url()}/generate`);
    await waitForHydration(page);
    await page.getByLabel("Model").selectOption("demo:chat");
    await page.getByText(`Price: ${change.listed}`).waitFor();
    const prompt = `What does a generation cost now? (${viewport.name})`;
    await page.getByLabel("Prompt").fill(prompt);
    const caps = entry.capabilities as { contextWindow: number; tokensPerImage: number; defaultOutputTokens: number };
    const estimate = estimateText(entry.price, estimateInputTokens([prompt], [], caps), caps.defaultOutputTokens);
    await page.getByText(`Up to ${formatMoney(estimate, "USD")}`, { exact: true }).waitFor();
    await checkPage(page, "admin-price-member-generate", viewport);
    await page.getByRole("button", { name: "Send" }).click();
    await page
      .getByTestId("answer-status")
      .getByText(/^Done\. This answer cost \$/)
      .waitFor({ timeout: 20_000 });
    const generation = await prisma.generation.findFirstOrThrow({
      where: { userId: member.id, prompt },
    });
    expect(generation.status).toBe("succeeded");
    expect(generation.heldAmount).toBe(estimate);
    const usage = generation.usage as unknown as Usage;
    expect(generation.cost).toBe(priceOf(entry.price, usage));
    expect(generation.providerCost).toBe(priceOf({ ...entry.price, markupBps: 0 }, usage));
  });

  it("answers a contact message by email from the inbox", async () => {
    const email = `visitor-${viewport.name}-${process.pid}@example.com`;
    await submitContactMessage({
      userId: null,
      name: "Vera Visitor",
      email,
      subject: `Orange Money in Douala? (${viewport.name})`,
      message: "Hello, does Orange Money work for top-ups?",
      ip: null,
    });
    await signInAs(page, url(), admin.email, TEST_PASSWORD, "/admin/contact");
    const card = page.getByRole("article", { name: `Orange Money in Douala? (${viewport.name})` });
    await card.getByText("Reply by email").click();
    // An empty reply is refused in the browser, on the field, before anything is sent.
    await card.getByRole("button", { name: "Send reply" }).click();
    await card.getByText("Write the reply first.").waitFor();
    await card
      .getByLabel("Reply to Vera Visitor")
      .fill("Hello Vera,\n\nYes: choose Orange Money under Wallet → Top up.");
    await card.getByRole("button", { name: "Send reply" }).click();
    await page.getByText("Reply saved; its email is on its way. The message is handled.").waitFor();
    const handled = page.getByRole("article", { name: `Orange Money in Douala? (${viewport.name})` });
    await handled.getByText("Yes: choose Orange Money under Wallet → Top up.").waitFor();
    // The background job sends it a moment later.
    const mail = await waitForEmail(suite.app().resend, email, /^Re: /);
    expect(mail.text).toContain("Yes: choose Orange Money under Wallet");
    await checkPage(page, "admin-contact-replied", viewport);
  });

  it("a large manual top-up needs two admins; nobody approves their own", async () => {
    const method = await addMethod(
      {
        name: `MTN MoMo ${viewport.name}`,
        instructions: "Send to the number below.",
        accountNumber: "+237 670 00 00 09",
      },
      { actorId: null, via: "cli" },
    );
    const request = async (userId: string, amount: bigint, reference: string) => {
      const result = await requestManualTopUp({
        userId,
        methodId: method.id,
        amount,
        senderNumber: "+237 677 00 11 22",
        reference: `${reference}-${viewport.name}-${process.pid}`,
      });
      if (!result.ok) throw new Error(result.error);
      return result.topUp;
    };
    const large = await request(member.id, 150_000_000n, "FOUR-EYES");
    const own = await request(admin.id, 20_000_000n, "OWN");
    const before = (await getWalletBalance(member.id)).balance;

    // The first admin approves: "1 of 2 approvals", nothing credited yet.
    await signInAs(page, url(), admin.email, TEST_PASSWORD, `/admin/top-ups/${large.id}`);
    await page.getByText("Two admins must approve this amount.", { exact: false }).waitFor();
    await page.getByRole("button", { name: "Approve (1 of 2)" }).click();
    await page.waitForURL(`${url()}/admin/top-ups?done=${large.id}`);
    await page
      .getByText("Approved: 1 of 2 approvals. Nothing is credited until a second admin approves $150.00.")
      .waitFor();
    const card = page.getByRole("listitem").filter({ has: page.getByText("FOUR-EYES", { exact: false }) });
    await card.getByText("1 of 2 approvals", { exact: true }).waitFor();
    await card.getByText("Ada Admin", { exact: true }).waitFor();
    await checkPage(page, "admin-topups-first-approval", viewport);
    expect((await getWalletBalance(member.id)).balance).toBe(before);

    // The same admin cannot be the second pair of eyes, nor approve their own top-up.
    await page.goto(`${url()}/admin/top-ups/${large.id}`);
    await page.getByText("You already approved this top-up.", { exact: false }).waitFor();
    expect(await page.getByRole("button", { name: /^Approve/ }).count()).toBe(0);
    await page.goto(`${url()}/admin/top-ups/${own.id}`);
    await page.getByText("This top-up is to your own wallet: another admin must approve it.").waitFor();
    expect(await page.getByRole("button", { name: /^Approve/ }).count()).toBe(0);
    await checkPage(page, "admin-topup-own", viewport);

    // A second admin approves the same amount: credited once.
    await page.context().clearCookies();
    await signInAs(page, url(), secondAdmin.email, TEST_PASSWORD, `/admin/top-ups/${large.id}`);
    await page.getByText("Another admin approved this top-up.", { exact: false }).waitFor();
    await page.getByRole("button", { name: "Approve and credit" }).click();
    await page.waitForURL(`${url()}/admin/top-ups?done=${large.id}`);
    await page.getByText("Approved: $150.00 credited to the member’s wallet. The member gets an email.").waitFor();
    expect((await getWalletBalance(member.id)).balance).toBe(before + 150_000_000n);
    expect(await prisma.manualTopUpApproval.count({ where: { topUpId: large.id } })).toBe(2);
  });

  it("shows a member the 404 page at /admin", async () => {
    await signInAs(page, url(), member.email, TEST_PASSWORD, "/generate");
    // No way there from the menu (the phone's closed menu included)…
    expect(await page.locator('header a[href="/admin"]').count()).toBe(0);
    // …and typing the address gives the same page as an address that does not exist.
    for (const path of ["/admin", "/admin/models", "/admin/ledger"]) {
      const response = await page.goto(`${url()}${path}`);
      expect(response?.status(), path).toBe(404);
      await page.getByRole("heading", { level: 1, name: "Page not found" }).waitFor();
    }
    expect(await page.getByText("Ledger invariants").count()).toBe(0);
    await checkPage(page, "admin-member-404", viewport);
  });
});
