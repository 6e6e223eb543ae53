import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

// History in a real browser against the production server, at desktop and phone sizes: the list, the
// search box and filters (plain GET forms), one generation's page with its output, live progress of a
// running job, and deleting. Generations are made through the real path with the offline demo provider.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-history-e2e-${process.pid}-${Date.now()}`;
  // The server is started with this process's environment, so it reads the same folder.
  process.env.STORAGE_DIR = dir;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
  return dir;
});

import { rm } from "node:fs/promises";
import { chromium } from "playwright-core";
import { prepareMedia, prepareText, runMedia, streamText } from "#app/models/generation.server";
import { prisma } from "#app/utils/db.server";
import { createUser, fundWallet, TEST_PASSWORD } from "#tests/helpers";
import {
  browserSuite,
  DESKTOP,
  PHONE,
  saveScreenshot,
  screenshotOnFailure,
  waitForHydration,
  type RunningApp,
} from "./harness";

const VIEWPORTS = [DESKTOP, PHONE];
let app: RunningApp;
const suite = browserSuite(VIEWPORTS);
let counter = 0;
const requestId = () => `e2e-history-${process.pid}-${(counter += 1)}`;

// The server and both browsers start side by side (harness.ts), once for the file.
beforeAll(() => {
  app = suite.app();
});

afterAll(async () => {
  await rm(storageDir, { recursive: true, force: true });
});

async function text(userId: string, prompt: string) {
  const prepared = await prepareText({ userId, requestId: requestId(), modelId: "demo:chat", prompt, files: [] });
  if (prepared.replayed) throw new Error("unexpected replay");
  return streamText(prepared, () => undefined);
}

async function media(userId: string, modality: "image" | "speech", prompt: string) {
  const { row } = await prepareMedia(modality, {
    userId,
    requestId: requestId(),
    modelId: modality === "image" ? "demo:image" : "demo:speech",
    prompt,
    ...(modality === "image" ? { n: 1, size: "512x512" } : {}),
  });
  await runMedia(row.id);
  return row;
}

/** A member with a few generations of each kind, one failed and one video still rendering. */
async function seedMember(label: string) {
  const user = await createUser({ displayName: `History ${label}` });
  await fundWallet(user.id, 5_000_000n);
  await text(user.id, "Explain wallet payments for a small shop in Douala, step by step");
  await media(user.id, "image", "A lighthouse on a rocky coast at dusk, oil painting");
  await text(user.id, "Write a short poem about the rainy season");
  const speech = await media(user.id, "speech", "Welcome to the market. Prices are shown in francs.");
  await prisma.generation.create({
    data: {
      userId: user.id,
      requestId: requestId(),
      modelId: "openai:gpt-4o",
      modelLabel: "GPT-4o",
      modality: "text",
      status: "failed",
      prompt: "Translate this contract into French",
      errorKind: "upstream",
      errorMessage: "The provider had a problem.",
      heldAmount: 20_000n,
      cost: 0n,
      startedAt: new Date(),
      finishedAt: new Date(),
    },
  });
  const running = await prisma.generation.create({
    data: {
      userId: user.id,
      requestId: requestId(),
      modelId: "demo:video",
      modelLabel: "Demo video",
      modality: "video",
      status: "running",
      progress: 30,
      prompt: "A paper boat drifting down a gutter after the rain",
      params: { seconds: 4, aspectRatio: "16:9" },
      heldAmount: 20_000n,
      startedAt: new Date(),
    },
  });
  const answer = await text(user.id, "Compare mobile money fees: MTN MoMo versus Orange Money");
  return { user, running, speech, last: answer };
}

async function signIn(page: Page, email: string) {
  await page.goto(`${app.url}/login?redirectTo=%2Fhistory`);
  await waitForHydration(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(TEST_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${app.url}/history`);
  await waitForHydration(page);
}

async function expectNoHorizontalOverflow(page: Page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `page is ${scrollWidth}px wide in a ${innerWidth}px window`).toBeLessThanOrEqual(innerWidth);
}

/** The visible list of results: the table on wide screens, the cards on phones. */
function results(page: Page, phone: boolean) {
  return phone
    ? page.getByRole("list", { name: "Your generations" }).getByRole("listitem")
    : page.getByRole("table").locator("tbody tr");
}

describe.each(VIEWPORTS)("history at $name size ($width×$height)", (viewport) => {
  let page: Page;
  const phone = viewport === PHONE;

  beforeAll(() => {
    page = suite.browser(viewport).page;
  });
  screenshotOnFailure(() => page, viewport);
  beforeEach(async () => {
    await page.context().clearCookies();
  });

  it("lists, searches, filters, opens and deletes generations", async () => {
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    const { user } = await seedMember(viewport.name);
    await signIn(page, user.email);

    await page.getByRole("heading", { level: 1, name: "History" }).waitFor();
    expect(await results(page, phone).count()).toBe(7);
    await results(page, phone).getByText("Not charged").waitFor();
    // Image outputs have a thumbnail, served to their owner.
    const thumbnail = page.locator(`${phone ? "ul" : "table"} img[src^="/files/"]`).first();
    await thumbnail.waitFor();
    expect(await thumbnail.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, "history", viewport);

    // Search: every word, by prefix.
    await page.getByLabel("Search prompts and outputs").fill("wal pay");
    await page.getByLabel("Search prompts and outputs").press("Enter");
    await page.waitForURL(/\?q=wal\+pay$/);
    await page.getByText("1 generation, best matches first", { exact: false }).waitFor();
    expect(await results(page, phone).count()).toBe(1);
    await saveScreenshot(page, "history-search", viewport);

    // Filters: a GET form; the choice survives in the URL and in the form.
    await page.getByRole("link", { name: "Clear search and filters" }).click();
    await page.waitForURL(`${app.url}/history`);
    await page.getByText("Filters", { exact: true }).click();
    await page.getByLabel("Type").selectOption("image");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/modality=image/);
    await page.getByText("1 generation, newest first", { exact: false }).waitFor();
    expect(await page.getByLabel("Type").inputValue()).toBe("image");
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, "history-filtered", viewport);

    // One generation: the image output with its alt text, cost and timeline.
    await results(page, phone).first().getByRole("link").first().click();
    await page.waitForURL(/\/history\/\w+$/);
    await page.getByRole("heading", { level: 1, name: "Image · Demo image" }).waitFor();
    const output = page.getByRole("img", { name: /generated from the prompt “A lighthouse on a rocky coast/ });
    await output.waitFor();
    expect(await output.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    await page.getByRole("link", { name: "Download image" }).waitFor();
    await page.getByRole("link", { name: "Run again" }).waitFor();
    expect(await page.getByTestId("charged").textContent()).toBe("$0.002");
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, "history-detail-image", viewport);

    // Delete: a disclosure is the confirmation step.
    await page.getByText("Delete this generation…").click();
    await page.getByRole("button", { name: "Delete permanently" }).click();
    await page.waitForURL(`${app.url}/history?deleted=1`);
    await page.getByRole("status").getByText("Generation deleted.", { exact: false }).waitFor();
    expect(await results(page, phone).count()).toBe(6);
    await saveScreenshot(page, "history-deleted", viewport);
    expect(errors).toEqual([]);
  });

  it("shows a text answer, and a running job's progress live until it finishes", async () => {
    const { user, running, speech, last } = await seedMember(`${viewport.name}-live`);
    await signIn(page, user.email);

    await page.goto(`${app.url}/history/${last.id}`);
    await waitForHydration(page);
    await page.getByText("Demo reply (offline", { exact: false }).waitFor();
    await page.getByRole("link", { name: "Open chat" }).waitFor();
    await expectNoHorizontalOverflow(page);
    await saveScreenshot(page, "history-detail-text", viewport);

    // Speech plays in the page, from the member's own file.
    await page.goto(`${app.url}/history/${speech.id}`);
    await waitForHydration(page);
    const duration = await page.locator("audio[controls]").evaluate(
      (audio: HTMLAudioElement) =>
        new Promise<number>((resolve, reject) => {
          if (audio.readyState >= 1) return resolve(audio.duration);
          audio.addEventListener("loadedmetadata", () => resolve(audio.duration), { once: true });
          audio.addEventListener("error", () => reject(new Error("audio failed to load")), { once: true });
          audio.load();
        }),
    );
    expect(duration).toBeGreaterThan(0);
    await page.getByRole("link", { name: "Download audio" }).waitFor();

    await page.goto(`${app.url}/history/${running.id}`);
    await waitForHydration(page);
    const bar = page.getByRole("progressbar");
    expect(await bar.getAttribute("aria-valuenow")).toBe("30");
    expect(await page.getByText("You can delete this generation once it has finished.").isVisible()).toBe(true);
    await saveScreenshot(page, "history-detail-running", viewport);

    await prisma.generation.update({ where: { id: running.id }, data: { progress: 70 } });
    await page.waitForFunction(
      () => document.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow") === "70",
      undefined,
      { timeout: 5_000 },
    );
    await prisma.generation.update({
      where: { id: running.id },
      data: { status: "failed", progress: 70, cost: 0n, errorMessage: "The render timed out.", finishedAt: new Date() },
    });
    await page.getByText("The render timed out. You were not charged.").waitFor({ timeout: 5_000 });
    expect(await page.getByRole("progressbar").count()).toBe(0);
    expect(await page.getByTestId("charged").textContent()).toBe("Nothing: you were not charged");
    await saveScreenshot(page, "history-detail-failed", viewport);
  });
});

describe("history without JavaScript", () => {
  it("searches with the plain GET form and deletes through the confirmation disclosure", async () => {
    const { user, last } = await seedMember("no-js");
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const context = await browser.newContext({ javaScriptEnabled: false, viewport: PHONE });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      await page.goto(`${app.url}/login?redirectTo=%2Fhistory`);
      await page.getByLabel("Email", { exact: true }).fill(user.email);
      await page.getByLabel("Password", { exact: true }).fill(TEST_PASSWORD);
      await page.getByRole("button", { name: "Sign in", exact: true }).click();
      await page.waitForURL(`${app.url}/history`);
      expect(await results(page, true).count()).toBe(7);

      await page.getByLabel("Search prompts and outputs").fill("mobile money");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.waitForURL(/\/history\?q=mobile\+money&/);
      expect(await results(page, true).count()).toBe(1);

      await results(page, true).first().getByRole("link").first().click();
      await page.waitForURL(`${app.url}/history/${last.id}`);
      await page.getByText("Delete this generation…").click();
      await page.getByRole("button", { name: "Delete permanently" }).click();
      await page.waitForURL(`${app.url}/history?deleted=1`);
      await page.getByText("Generation deleted.", { exact: false }).waitFor();
      expect(await results(page, true).count()).toBe(6);
      expect((await prisma.generation.findUniqueOrThrow({ where: { id: last.id } })).prompt).toBe("");
      await context.close();
    } finally {
      await browser.close();
    }
  });
});
