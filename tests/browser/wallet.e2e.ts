import type { Page } from "playwright-core";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ensureWallet,
  getWalletBalance,
  hold,
  PLATFORM_ACCOUNTS,
  postHold,
  transfer,
  walletAccountId,
} from "#app/models/ledger.server";
import { prisma } from "#app/utils/db.server";
import { formatMoney } from "#app/utils/money";
import { createUser, TEST_PASSWORD } from "#tests/helpers";
import {
  browserSuite,
  DESKTOP,
  PHONE,
  saveScreenshot,
  screenshotOnFailure,
  waitForEmail,
  waitForHydration,
  type RunningApp,
} from "./harness";

// The wallet page in a real browser against the production server, at desktop and phone sizes.
// Money and history are seeded straight into the database (through the ledger module) first.

const VIEWPORTS = [DESKTOP, PHONE];
const DAY = 86_400_000;
const MODELS = ["openai:gpt-4o", "anthropic:claude-sonnet-4", "demo:text", "google:imagen-4"];
let app: RunningApp;
const suite = browserSuite(VIEWPORTS);
let sequence = 0;
const key = (label: string) => `e2e:wallet:${label}:${process.pid}:${(sequence += 1)}`;

// The server and both browsers start side by side (harness.ts), once for the file.
beforeAll(() => {
  app = suite.app();
});

/** Test-only: moves a transfer into the past (amounts untouched) to draw a month of spending. */
async function backdate(transferId: string, at: Date) {
  await prisma.$transaction([
    prisma.$executeRaw`ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only`,
    prisma.$executeRaw`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only`,
    prisma.$executeRaw`UPDATE ledger_transfers SET created_at = ${at} WHERE id = ${transferId}`,
    prisma.$executeRaw`UPDATE ledger_entries SET created_at = ${at} WHERE transfer_id = ${transferId}`,
    prisma.$executeRaw`ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only`,
    prisma.$executeRaw`ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_append_only`,
  ]);
}

async function credit(userId: string, amount: bigint, kind: string, description: string, from: string, when: Date) {
  const wallet = await ensureWallet(userId);
  const { transferId } = await transfer({
    key: key(kind),
    kind,
    description,
    postings: [
      { accountId: from, amount: -amount },
      { accountId: wallet, amount },
    ],
  });
  await backdate(transferId, when);
}

/** A member with a month of top-ups and generations, and one generation still running (held). */
async function seedActiveMember(label: string) {
  const user = await createUser({ displayName: `Wallet ${label}` });
  const now = Date.now();
  // Written oldest first, so the statement's order (the ledger's) and its dates agree.
  const events: Array<{ at: number; write: (at: Date) => Promise<void> }> = [
    {
      at: now - 29 * DAY,
      write: (at) => credit(user.id, 20_000_000n, "grant", "Promotional credit", PLATFORM_ACCOUNTS.promotions, at),
    },
    {
      at: now - 20.5 * DAY,
      write: (at) => credit(user.id, 10_000_000n, "topup_card", "Card top-up", PLATFORM_ACCOUNTS.stripeClearing, at),
    },
    {
      at: now - 9.5 * DAY,
      write: (at) =>
        credit(user.id, 5_000_000n, "topup_manual", "Top-up by MTN MoMo", PLATFORM_ACCOUNTS.manualClearing, at),
    },
  ];
  // 28 generations over the last four weeks, of varying cost, on four models.
  for (let index = 0; index < 28; index += 1) {
    const amount = BigInt(40_000 + ((index * 7919) % 23) * 37_000);
    const model = MODELS[index % (index % 3 === 0 ? 2 : 4)];
    events.push({
      at: now - (27 - index) * DAY - ((index * 5) % 12) * 3_600_000,
      write: async (at) => {
        const { holdId } = await hold({ key: key("hold"), userId: user.id, amount, expiresAt: new Date(now + DAY) });
        const { transferId } = await postHold({
          holdId,
          amount,
          kind: "generation",
          description: "Generation",
          metadata: { model },
        });
        await backdate(transferId!, at);
      },
    });
  }
  for (const event of events.sort((a, b) => a.at - b.at)) await event.write(new Date(event.at));
  await hold({ key: key("running"), userId: user.id, amount: 750_000n, expiresAt: new Date(now + DAY) });
  return user;
}

async function signIn(page: Page, email: string) {
  await page.goto(`${app.url}/login?redirectTo=%2Fwallet`);
  await waitForHydration(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(TEST_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${app.url}/wallet`);
  await waitForHydration(page);
}

async function expectNoHorizontalOverflow(page: Page) {
  const { scrollWidth, innerWidth, offenders } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    // The outermost elements that stick out, to say what to fix.
    offenders: [...document.querySelectorAll("body *")]
      .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
      .filter(
        (element) =>
          !(element.parentElement && element.parentElement.getBoundingClientRect().right > window.innerWidth + 0.5),
      )
      .slice(0, 5)
      .map((element) => `<${element.tagName.toLowerCase()} class="${element.getAttribute("class") ?? ""}">`),
  }));
  expect(
    scrollWidth,
    `page is ${scrollWidth}px wide in a ${innerWidth}px window: ${offenders.join(", ")}`,
  ).toBeLessThanOrEqual(innerWidth);
}

describe.each(VIEWPORTS)("wallet at $name size ($width×$height)", (viewport) => {
  let page: Page;
  let member: { id: string; email: string };
  const phone = viewport === PHONE;

  beforeAll(() => {
    page = suite.browser(viewport).page;
  });

  screenshotOnFailure(() => page, viewport);
  // Each scenario signs in as its own member.
  beforeEach(async () => {
    await page.context().clearCookies();
  });

  it("shows the balance, the spend charts and the statement, and exports CSV", async () => {
    const user = await seedActiveMember(viewport.name);
    member = user;
    // Hydration must be clean: the server-drawn SVG and the formatted amounts are the same text on both sides.
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") errors.push(message.text());
    });
    const balance = await getWalletBalance(user.id);
    await signIn(page, user.email);

    await page.getByRole("heading", { level: 1, name: "Wallet" }).waitFor();
    expect(await page.getByTestId("available-balance").textContent()).toBe(formatMoney(balance.available, "USD"));
    await page.getByText("Held for generations in progress").waitFor();
    await page.getByText("$0.75", { exact: true }).waitFor();
    await page.getByRole("link", { name: "Top up", exact: true }).first().waitFor();

    // Charts: server-drawn SVG at the size that suits the screen, with a table for screen readers.
    const variant = phone ? "narrow" : "wide";
    for (const id of ["spend-by-day", "spend-by-model"]) {
      const chart = page.locator(`[data-chart="${id}-${variant}"] svg`);
      expect(await chart.isVisible(), `${id} ${variant}`).toBe(true);
      const box = (await chart.boundingBox())!;
      expect(box.width).toBeGreaterThan(phone ? 250 : 500);
      expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
      expect(await page.locator(`[data-chart="${id}-${phone ? "wide" : "narrow"}"]`).isVisible()).toBe(false);
    }
    expect(await page.locator('[data-chart="spend-by-day-wide"] svg path').count()).toBeGreaterThan(20);
    await page.getByRole("table", { name: "Spent per day (UTC)" }).waitFor({ state: "attached" });
    await page.getByRole("table", { name: "Spent per model" }).waitFor({ state: "attached" });
    await page.getByText(/^\$[\d.]+ in the last 30 days \(UTC\)\. Busiest day: /).waitFor();

    // Statement: a table on wide screens, a list on phones; 25 per page.
    const table = page.getByRole("table", { name: /^Wallet statement, page 1 of 2$/ });
    const list = page.getByRole("list", { name: "Wallet statement" });
    if (phone) {
      expect(await table.isVisible()).toBe(false);
      expect(await list.getByRole("listitem").count()).toBe(25);
      await list.getByText("Generation · openai:gpt-4o").first().waitFor();
    } else {
      expect(await list.isVisible()).toBe(false);
      expect(await table.locator("tbody tr").count()).toBe(25);
      await table.getByRole("cell", { name: "Generation · openai:gpt-4o" }).first().waitFor();
    }
    for (const description of ["Card top-up", "Top-up by MTN MoMo"]) {
      expect(await page.getByText(description, { exact: true }).filter({ visible: true }).count(), description).toBe(1);
    }
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, "wallet", viewport);
    // The server-drawn chart follows the dark theme too (its text colour comes from the page's CSS).
    await page.emulateMedia({ colorScheme: "dark" });
    expect(
      await page
        .locator(`[data-chart="spend-by-day-${variant}"] svg text`)
        .first()
        .evaluate((text) => getComputedStyle(text).fill),
    ).toBe("oklch(0.871 0.006 286.286)");
    await saveScreenshot(page, "wallet-dark", viewport);
    await page.emulateMedia({ colorScheme: "light" });

    await page.getByRole("link", { name: "Older →" }).click();
    await page.waitForURL(`${app.url}/wallet?page=2`);
    await page.getByText("Page 2 of 2", { exact: true }).waitFor();
    await page.getByText("Promotional credit", { exact: true }).filter({ visible: true }).first().waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, "wallet-statement-page-2", viewport);

    const csv = await page.request.get(`${app.url}/wallet/statement.csv`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()["content-type"]).toBe("text/csv; charset=utf-8");
    const lines = (await csv.text())
      .replace(/^\uFEFF/, "")
      .trimEnd()
      .split("\r\n");
    expect(lines[0]).toBe("Date (UTC),Type,Description,Amount,Balance after,Currency,Transfer ID");
    expect(lines).toHaveLength(
      1 + (await prisma.ledgerEntry.count({ where: { accountId: walletAccountId(user.id) } })),
    );
    expect(await page.getByRole("link", { name: "Download CSV" }).getAttribute("href")).toBe("/wallet/statement.csv");
    expect(errors).toEqual([]);
    page.removeAllListeners("console");
    page.removeAllListeners("pageerror");
  });

  it("sets a low-balance alert: field errors first, then an email when already below", async () => {
    await signIn(page, member.email);
    const field = page.getByLabel("Alert below (USD)");
    await field.fill("1.234");
    await field.blur();
    await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
    await page.getByText("Use at most 2 decimals").waitFor();
    await field.scrollIntoViewIfNeeded();
    await saveScreenshot(page, "wallet-alert-error", viewport);

    await field.fill("100");
    await page.getByRole("button", { name: "Save alert" }).click();
    await page
      .getByText("Saved. Your available balance is already below this amount: we have just emailed you.")
      .waitFor();
    await page.getByText(/^On: we email you once when your available balance falls below \$100\.00/).waitFor();
    const message = await waitForEmail(app.resend, member.email, /balance is low/);
    expect(message.text).toContain("below the alert you set at $100.00");
    await expectNoHorizontalOverflow(page);
  });

  it("a new member who has not verified their address sees the empty state and a prompt to verify", async () => {
    const user = await createUser({ verified: false });
    await page.goto(`${app.url}/login`);
    await waitForHydration(page);
    await page.getByLabel("Email", { exact: true }).fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(TEST_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL((url) => url.pathname !== "/login");
    await page.goto(`${app.url}/wallet`);
    await waitForHydration(page);
    await page.getByText("No movements yet — top up to get started.").waitFor();
    await page.getByText("Verify your email address to top up").waitFor();
    expect(await page.getByRole("link", { name: "Top up", exact: true }).count()).toBe(0);
    expect(await page.getByLabel("Alert below (USD)").count()).toBe(0);
    expect(await page.getByTestId("available-balance").textContent()).toBe("$0.00");
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, "wallet-empty-unverified", viewport);
  });
});
