import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

// A member's data rights in a real browser against the production server, at desktop and phone sizes:
// Settings → Privacy & data → an export, built by the background worker, emailed as a link that downloads
// the ZIP once; support access to one generation granted from its page and revoked; the security log in
// Settings → Security; and deleting the account (balance stated, password asked), after which the member
// is signed out, cannot sign in again, and gets a confirmation at the old address.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-privacy-e2e-${process.pid}-${Date.now()}`;
  // The server inherits this process's environment: it reads the files this process stores.
  process.env.STORAGE_DIR = dir;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
  return dir;
});

import { readFile, rm } from "node:fs/promises";
import { strFromU8, unzipSync } from "fflate";
import { getWalletBalance } from "#app/models/ledger.server";
import { prepareMedia, prepareText, runMedia, streamText } from "#app/models/generation.server";
import { prisma } from "#app/utils/db.server";
import { formatMoney } from "#app/utils/money";
import { extractLink } from "#tests/fakes/email-helpers";
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

afterAll(async () => {
  await rm(storageDir, { recursive: true, force: true });
});

let counter = 0;
const requestId = () => `e2e-privacy-${process.pid}-${(counter += 1)}`;

/** A member with some history: a chat answer and a picture (a stored file), paid from demo credit. */
async function memberWithHistory(viewport: Viewport) {
  const user = await createUser({ displayName: `Pria ${viewport.name}` });
  await fundWallet(user.id, 2_000_000n);
  const prepared = await prepareText({
    userId: user.id,
    requestId: requestId(),
    modelId: "demo:chat",
    prompt: "What do you keep about me?",
    files: [],
  });
  if (prepared.replayed) throw new Error("unexpected replay");
  await streamText(prepared, () => undefined);
  const { row: image } = await prepareMedia("image", {
    userId: user.id,
    requestId: requestId(),
    modelId: "demo:image",
    prompt: "A filing cabinet in the rain",
    n: 1,
    size: "512x512",
  });
  await runMedia(image.id);
  const chat = await prisma.generation.findFirstOrThrow({ where: { userId: user.id, modality: "text" } });
  expect(chat.status).toBe("succeeded");
  return { user, chat, image };
}

/** No sideways scrolling, and a full-page screenshot in tests/artifacts. */
async function checkPage(page: Page, name: string, viewport: Viewport) {
  expect(await horizontalOverflow(page), `${name} overflows at ${viewport.width} px`).toEqual([]);
  await saveScreenshot(page, name, viewport);
}

describe.each(VIEWPORTS)("privacy and data at $name size ($width×$height)", (viewport) => {
  let page: Page;
  let member: Awaited<ReturnType<typeof memberWithHistory>>;
  const url = () => suite.app().url;

  beforeAll(async () => {
    page = suite.page(viewport);
    member = await memberWithHistory(viewport);
  });
  screenshotOnFailure(() => page, viewport);
  beforeEach(async () => {
    await page.context().clearCookies();
  });

  /** Signs in on the profile page and opens a Settings section from the section tabs. */
  async function openSettings(section: "Privacy & data" | "Security") {
    await signInAs(page, url(), member.user.email, TEST_PASSWORD, "/settings");
    await page.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: section }).click();
    await page.waitForURL(`${url()}/settings/${section === "Security" ? "security" : "privacy"}`);
    await waitForHydration(page);
  }

  it("requests an export, gets the email, downloads the archive once", async () => {
    const { user } = member;
    await openSettings("Privacy & data");
    await page.getByRole("heading", { level: 2, name: "Download your data" }).waitFor();
    await page.getByRole("heading", { level: 2, name: "Delete your account" }).waitFor();
    await checkPage(page, "privacy-settings", viewport);

    await page.getByRole("button", { name: "Request export" }).click();
    await page.waitForURL(`${url()}/settings/privacy?export=requested`);
    // Usually still being built; the worker may already have finished it.
    await page
      .getByText("Export requested. We will email you when it is ready.")
      .or(page.getByText(/^Your export is ready: open the link we emailed you/))
      .waitFor();
    await checkPage(page, "privacy-export-requested", viewport);

    // The worker builds it in the background and emails a one-time link.
    const email = await waitForEmail(suite.app().resend, user.email, /data export is ready$/, { timeoutMs: 30_000 });
    const link = extractLink(email.text);
    expect(link).toMatch(new RegExp(`^${url()}/exports/[0-9a-f]{64}$`));

    // The member opens the email and follows its button: the browser downloads the ZIP.
    const mailbox = await page.context().newPage();
    let bytes: Buffer;
    let filename: string;
    try {
      await mailbox.setContent(email.html);
      const [download] = await Promise.all([
        mailbox.waitForEvent("download"),
        mailbox.getByRole("link", { name: "Download my data" }).click(),
      ]);
      expect(download.url()).toBe(link);
      filename = download.suggestedFilename();
      bytes = await readFile(await download.path());
    } finally {
      await mailbox.close();
    }
    expect(filename).toMatch(/^ai-wallet-data-\d{4}-\d{2}-\d{2}\.zip$/);
    const archive = unzipSync(new Uint8Array(bytes));
    const names = Object.keys(archive).sort();
    const imageFile = await prisma.generationFile.findFirstOrThrow({
      where: { generationId: member.image.id, role: "output" },
      include: { file: true },
    });
    expect(names).toEqual(["README.txt", "data.json", expect.stringMatching(`^files/${imageFile.fileId}\\.png$`)]);
    const data = JSON.parse(strFromU8(archive["data.json"]!)) as Record<string, unknown> & {
      profile: { email: string; displayName: string };
      generations: Array<{ id: string; prompt: string; modality: string; cost: string }>;
      wallet: { balance: string; statement: unknown[] };
      files: Array<{ id: string; path: string; sha256: string }>;
    };
    expect(Object.keys(data)).toEqual(
      expect.arrayContaining([
        "profile",
        "sessions",
        "generations",
        "deletedGenerations",
        "conversations",
        "topUps",
        "wallet",
        "contactMessages",
        "files",
      ]),
    );
    expect(data.profile).toMatchObject({ email: user.email, displayName: user.displayName });
    expect(data.generations.map((generation) => generation.prompt).sort()).toEqual([
      "A filing cabinet in the rain",
      "What do you keep about me?",
    ]);
    expect(data.wallet.statement.length).toBeGreaterThanOrEqual(3);
    expect(data.files).toEqual([
      expect.objectContaining({
        id: imageFile.fileId,
        path: `files/${imageFile.fileId}.png`,
        sha256: imageFile.file.sha256,
      }),
    ]);
    expect(strFromU8(archive["README.txt"]!)).toContain("This archive holds everything we keep about you");

    // The link works once: the second visit gets the page that says so.
    const again = await page.goto(link!);
    expect(again?.status()).toBe(410);
    await page.getByRole("heading", { level: 1, name: "This link no longer works" }).waitFor();
    await page.getByText("This download link has already been used.", { exact: false }).waitFor();
    await checkPage(page, "privacy-export-used", viewport);
    await page.getByRole("link", { name: "Settings → Privacy & data" }).click();
    await page.waitForURL(`${url()}/settings/privacy`);
    await page.getByText(/^Your last export \(asked on .+\) was downloaded\.$/).waitFor();
    expect(await prisma.dataExport.findFirstOrThrow({ where: { userId: user.id } })).toMatchObject({
      status: "downloaded",
    });
  });

  it("lets support see one generation from its page, then revokes it", async () => {
    const { user, chat } = member;
    await signInAs(page, url(), user.email, TEST_PASSWORD, `/history/${chat.id}`);
    const support = page.getByRole("region", { name: "Support access" });
    await support.getByText("Support cannot see this generation.").waitFor();
    await support.getByRole("radio", { name: "24 hours" }).check();
    await support.getByRole("button", { name: "Allow support access" }).click();
    await page.waitForURL(`${url()}/history/${chat.id}?support=granted`);
    await support.getByText("Support can now see this generation until the time shown below.").waitFor();
    const grants = support.getByRole("list", { name: "Support access to this generation" });
    await grants.getByText("This generation", { exact: true }).waitFor();
    await grants.getByText(/\(about 2[34] hours left\)$/).waitFor();
    await checkPage(page, "privacy-support-granted", viewport);
    const grant = await prisma.supportGrant.findFirstOrThrow({ where: { userId: user.id } });
    expect(grant).toMatchObject({ generationId: chat.id, revokedAt: null });

    await waitForHydration(page);
    await grants.getByRole("button", { name: "Revoke access to This generation" }).click();
    await page.waitForURL(`${url()}/history/${chat.id}?support=revoked`);
    await support.getByText("Support access ended.").waitFor();
    await support.getByText("Support cannot see this generation.").waitFor();
    await support.getByRole("button", { name: "Allow support access" }).waitFor();
    await checkPage(page, "privacy-support-revoked", viewport);
    expect((await prisma.supportGrant.findUniqueOrThrow({ where: { id: grant.id } })).revokedAt).not.toBeNull();
  });

  it("lists the sign-in and the member's other actions in Settings → Security", async () => {
    await openSettings("Security");
    await page.getByRole("heading", { level: 2, name: "Security activity" }).waitFor();
    const events = page.getByRole("list", { name: /^\d+ security events?$/ });
    await events.getByText(/^Signed in from a new device: /).waitFor();
    for (const sentence of [
      "Asked for a copy of your data",
      "Downloaded the copy of your data",
      "You let support see one generation",
      "You ended support's access",
    ]) {
      await events.getByText(sentence, { exact: true }).waitFor();
    }
    // The member's own actions show the address they came from.
    await events
      .getByText(/ · IP /)
      .first()
      .waitFor();
    await checkPage(page, "privacy-security-log", viewport);
  });

  it("deletes the account: balance stated, password asked, signed out for good, confirmation emailed", async () => {
    const { user } = member;
    const balance = formatMoney((await getWalletBalance(user.id)).available, "USD");
    await openSettings("Privacy & data");
    const danger = page.getByRole("region", { name: "Delete your account" });
    await danger.getByText(`Your wallet balance of ${balance} will be forfeited.`).waitFor();
    const confirm = page.getByLabel(
      `I understand that my account and data will be erased and my balance of ${balance} forfeited.`,
    );

    // The password is asked for, and checked.
    await page.getByLabel("Your password").fill("not my password at all");
    await confirm.check();
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.getByText("That is not your password.").waitFor();
    expect(await prisma.user.count({ where: { email: user.email } })).toBe(1);
    await checkPage(page, "privacy-delete-wrong-password", viewport);

    // Straight from the field to the button: the form checks on submit only, so the error stays in place
    // until then and the button does not move from under the click (it used to, on blur).
    await page.getByLabel("Your password").fill(TEST_PASSWORD);
    if (!(await confirm.isChecked())) await confirm.check();
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.waitForURL(`${url()}/?accountDeleted=1`);
    await page
      .getByText("Your account is deleted. A confirmation is on its way to your old address. Goodbye, and thank you.")
      .waitFor();
    // Signed out: the header offers to sign in, and private pages send you to the sign-in form.
    expect(await page.locator('header a[href="/login"]').count()).toBeGreaterThan(0);
    await checkPage(page, "privacy-account-deleted", viewport);
    await page.goto(`${url()}/settings`);
    await page.waitForURL((address) => address.pathname === "/login");
    await waitForHydration(page);

    // The old address and password no longer open anything.
    await page.getByLabel("Email", { exact: true }).fill(user.email);
    await page.getByLabel("Password", { exact: true }).fill(TEST_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByText("That email and password do not match an account.").waitFor();
    expect(new URL(page.url()).pathname).toBe("/login");
    await checkPage(page, "privacy-sign-in-refused", viewport);

    const goodbye = await waitForEmail(suite.app().resend, user.email, /account was deleted$/);
    expect(goodbye.subject).toBe("Your AI Wallet account was deleted");
    expect(await prisma.user.count({ where: { email: user.email } })).toBe(0);
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect(await prisma.generation.count({ where: { userId: user.id, prompt: { not: "" } } })).toBe(0);
    // The balance the page stated was forfeited (moved to the platform's adjustments account).
    expect((await getWalletBalance(user.id)).available).toBe(0n);
  });
});
