import { randomBytes } from "node:crypto";
import type { Locator, Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { createUser, TEST_PASSWORD } from "#tests/helpers";
import { extractCode, extractLink } from "../fakes/email-helpers";
import {
  browserSuite,
  DESKTOP,
  PHONE,
  emailsTo,
  saveScreenshot,
  screenshotOnFailure,
  waitForEmail,
  waitForHydration,
  type OpenBrowser,
  type RunningApp,
  type Viewport,
} from "./harness";

// One newcomer's whole account journey, in a real browser against the production server, at two sizes.

const PASSWORD = "a long passphrase 123";
const NEW_PASSWORD = "an even longer passphrase 456";
const MISMATCH = "That email and password do not match an account.";

const VIEWPORTS = [DESKTOP, PHONE];
let app: RunningApp;
const suite = browserSuite(VIEWPORTS);

// The server and both browsers start side by side (harness.ts), once for the file.
beforeAll(() => {
  app = suite.app();
});

/** The header navigation that is visible at this size; on a phone it lives inside the "Menu" disclosure. */
async function mainNav(page: Page, viewport: Viewport): Promise<Locator> {
  if (viewport === PHONE) {
    const details = page.locator("header details");
    if (!(await details.evaluate((element: HTMLDetailsElement) => element.open))) {
      await page.locator("header summary").click();
    }
  }
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.waitFor();
  return nav;
}

/** The phone menu closes by itself as soon as one of its links is used: it never covers the next page. */
async function expectMenuClosed(page: Page, viewport: Viewport) {
  if (viewport !== PHONE) return;
  expect(await page.locator("header details").evaluate((element: HTMLDetailsElement) => element.open)).toBe(false);
}

/** Closes the phone menu again, as a person would after looking at it. */
async function closeMenu(page: Page, viewport: Viewport) {
  if (viewport !== PHONE) return;
  const details = page.locator("header details");
  if (await details.evaluate((element: HTMLDetailsElement) => element.open))
    await page.locator("header summary").click();
}

async function expectSignedIn(page: Page, viewport: Viewport) {
  const nav = await mainNav(page, viewport);
  await nav.getByRole("button", { name: "Sign out" }).waitFor();
  expect(await nav.getByRole("link", { name: "Sign in" }).count()).toBe(0);
  await closeMenu(page, viewport);
}

async function expectSignedOut(page: Page, viewport: Viewport) {
  const nav = await mainNav(page, viewport);
  await nav.getByRole("link", { name: "Sign in" }).waitFor();
  await nav.getByRole("link", { name: "Create account" }).waitFor();
  expect(await nav.getByRole("button", { name: "Sign out" }).count()).toBe(0);
  await closeMenu(page, viewport);
}

async function goto(page: Page, url: string) {
  const response = await page.goto(url);
  await waitForHydration(page);
  return response;
}

/** The field is marked invalid and its aria-describedby points at text containing the message. */
async function expectFieldError(page: Page, field: Locator, message: string) {
  await expect.poll(() => field.getAttribute("aria-invalid")).toBe("true");
  const ids = ((await field.getAttribute("aria-describedby")) ?? "").split(/\s+/).filter(Boolean);
  expect(ids.length).toBeGreaterThan(0);
  const described = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
  expect(described.join(" ")).toContain(message);
}

/** Nothing sticks out sideways: the page never scrolls horizontally at this width. */
async function expectNoHorizontalOverflow(page: Page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `page is ${scrollWidth}px wide in a ${innerWidth}px window`).toBeLessThanOrEqual(innerWidth);
}

async function heading(page: Page, name: string | RegExp) {
  await page.getByRole("heading", { level: 1, name }).waitFor();
}

async function sessionCookie(openBrowser: OpenBrowser, url: string) {
  return (await openBrowser.context.cookies(url)).find((cookie) => cookie.name === "__Host-session");
}

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

describe.each(VIEWPORTS)("accounts at $name size ($width×$height)", (viewport) => {
  let browser: OpenBrowser;
  let page: Page;
  const email = `newcomer-${viewport.name}-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
  const name = `Amina ${viewport.name}`;
  const newName = `Amina N. ${viewport.name}`;

  beforeAll(() => {
    browser = suite.browser(viewport);
    page = browser.page;
  });

  screenshotOnFailure(() => page, viewport);

  it("a newcomer signs up, sees the field errors, and confirms the address with the emailed code", async () => {
    await goto(page, `${app.url}/`);
    await heading(page, "Many AI models. One prepaid wallet.");
    await (await mainNav(page, viewport)).getByRole("link", { name: "Create account" }).click();
    await page.waitForURL(`${app.url}/signup`);
    await heading(page, "Create your account");
    await expectMenuClosed(page, viewport);
    await saveScreenshot(page, "signup", viewport);
    await expectNoHorizontalOverflow(page);

    // An empty submission: every required field is marked invalid and its error is tied to it.
    await page.getByRole("button", { name: "Create account", exact: true }).click();
    await expectFieldError(page, page.getByLabel("Email", { exact: true }), "Enter your email address");
    await expectFieldError(page, page.getByLabel("Password", { exact: true }), "Enter a password");
    await expectFieldError(page, page.getByLabel("Display name", { exact: true }), "Enter your name");
    await expectFieldError(page, page.getByLabel("Country", { exact: true }), "Choose your country");
    await expectFieldError(page, page.getByLabel(/at least 13 years old/), "You must be at least 13 years old");
    await expectFieldError(page, page.getByLabel(/I accept the terms/), "Please accept the terms and privacy policy");
    expect(await page.getByLabel("Phone (optional)").getAttribute("aria-invalid")).toBeNull();
    await saveScreenshot(page, "signup-errors", viewport);
    await expectNoHorizontalOverflow(page);

    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Display name", { exact: true }).fill(name);
    await page.getByLabel("Country", { exact: true }).selectOption("CM");
    await page.getByLabel(/at least 13 years old/).check();
    await page.getByLabel(/I accept the terms/).check();
    await page.getByRole("button", { name: "Create account", exact: true }).click();
    await page.waitForURL(`${app.url}/verify`);
    await heading(page, "Check your email");
    await page.getByText(email, { exact: true }).waitFor();
    await saveScreenshot(page, "verify", viewport);
    await expectNoHorizontalOverflow(page);

    const message = await waitForEmail(app.resend, email, /^Confirm your email/);
    const code = extractCode(message.text);
    expect(code).toMatch(/^\d{8}$/);
    const wrong = code!.replace(/^\d/, (digit) => String((Number(digit) + 1) % 10));

    const codeField = page.getByLabel("Confirmation code");
    await codeField.fill(wrong);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await expectFieldError(page, codeField, "That code is not right");
    expect(page.url()).toBe(`${app.url}/verify`);
    await saveScreenshot(page, "verify-wrong-code", viewport);
    await expectNoHorizontalOverflow(page);

    await codeField.fill(code!);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    await page.waitForURL(`${app.url}/?verified=1`);
    await page.getByText("Your email address is confirmed. Welcome!").waitFor();
    await heading(page, `Welcome, ${name}.`);
    await expectSignedIn(page, viewport);

    // Production cookies: Chromium keeps the __Host- / Secure session cookie on http://localhost.
    expect(await sessionCookie(browser, app.url)).toMatchObject({ secure: true, httpOnly: true, path: "/" });
  });

  it("settings list this device and save a new display name", async () => {
    await (await mainNav(page, viewport)).getByRole("link", { name: "Settings" }).click();
    await page.waitForURL(`${app.url}/settings`);
    await expectMenuClosed(page, viewport);
    const settingsNav = page.getByRole("navigation", { name: "Settings" });

    await settingsNav.getByRole("link", { name: "Sessions" }).click();
    await page.waitForURL(`${app.url}/settings/sessions`);
    await page.getByText("This device", { exact: true }).waitFor();
    await page.getByText("This is the only device signed in.").waitFor();
    await saveScreenshot(page, "settings-sessions", viewport);
    await expectNoHorizontalOverflow(page);

    await settingsNav.getByRole("link", { name: "Profile" }).click();
    await page.waitForURL(`${app.url}/settings`);
    const displayName = page.getByLabel("Display name", { exact: true });
    expect(await displayName.inputValue()).toBe(name);
    // The country list is ready-made markup: the member's country is chosen, and names are escaped.
    const country = page.getByLabel("Country", { exact: true });
    expect(await country.inputValue()).toBe("CM");
    expect(await country.locator('option[value="BA"]').textContent()).toBe("Bosnia & Herzegovina");
    expect(await country.locator("option").count()).toBeGreaterThan(240);
    await saveScreenshot(page, "settings-profile", viewport);
    await expectNoHorizontalOverflow(page);
    await displayName.fill(newName);
    await country.selectOption("KE");
    await page.getByRole("button", { name: "Save profile" }).click();
    await page.getByRole("status").filter({ hasText: "Profile saved." }).waitFor();
    expect(await displayName.inputValue()).toBe(newName);
    expect(await country.inputValue()).toBe("KE");
    await page.reload();
    expect(await page.getByLabel("Country", { exact: true }).inputValue()).toBe("KE");
    expect(await page.getByLabel("Display name", { exact: true }).inputValue()).toBe(newName);
    await page.getByText("Leave it empty to remove it.", { exact: false }).waitFor();

    // An unsaved choice survives a revalidation that brings a country changed elsewhere (another tab).
    await waitForHydration(page);
    await country.selectOption("FR");
    const elsewhere = await page.request.post(`${app.url}/settings?index`, {
      headers: { origin: app.url },
      form: { displayName: newName, country: "DE", phone: "" },
      maxRedirects: 0,
    });
    expect(elsewhere.status()).toBe(200);
    const storedCountry = await page.evaluate(async () => {
      type State = { revalidation: string; loaderData: Record<string, { profile?: { country: string } }> };
      type Router = { revalidate(): void; subscribe(listener: (state: State) => void): () => void; state: State };
      const router = (window as unknown as { __remixRouter: Router }).__remixRouter;
      await new Promise<void>((resolve) => {
        const unsubscribe = router.subscribe((state) => {
          if (state.revalidation !== "idle") return;
          unsubscribe();
          resolve();
        });
        router.revalidate();
      });
      return router.state.loaderData["routes/settings._index"]?.profile?.country;
    });
    expect(storedCountry).toBe("DE");
    expect(await country.inputValue()).toBe("FR");
    await page.reload();
    expect(await page.getByLabel("Country", { exact: true }).inputValue()).toBe("DE");
  });

  it("signs out with a POST, then signs in again with the password", async () => {
    const logout = page.waitForResponse(
      // Remix single fetch posts the form to /logout.data once hydrated (plain /logout without JavaScript).
      (response) =>
        /^\/logout(\.data)?$/.test(new URL(response.url()).pathname) && response.request().method() === "POST",
    );
    await (await mainNav(page, viewport)).getByRole("button", { name: "Sign out" }).click();
    expect((await logout).status()).toBeLessThan(400);
    await page.waitForURL(`${app.url}/`);
    await heading(page, "Many AI models. One prepaid wallet.");
    await expectSignedOut(page, viewport);
    expect((await sessionCookie(browser, app.url))?.value ?? "").toBe("");

    await (await mainNav(page, viewport)).getByRole("link", { name: "Sign in" }).click();
    await page.waitForURL(`${app.url}/login`);
    await expectMenuClosed(page, viewport);
    await heading(page, "Sign in");
    await signIn(page, email, PASSWORD);
    await page.waitForURL(`${app.url}/`);
    await heading(page, `Welcome, ${newName}.`);
    await expectSignedIn(page, viewport);
  });

  it("resets a forgotten password: signed out everywhere, only the new password works", async () => {
    const oldSession = await sessionCookie(browser, app.url);
    expect(oldSession?.value).toBeTruthy();
    const sentBefore = emailsTo(app.resend, email).length;

    await goto(page, `${app.url}/forgot-password`);
    await heading(page, "Reset your password");
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByRole("button", { name: "Email me a reset link" }).click();
    await page.getByText("If that address has an account, a reset link is on its way.").waitFor();

    const message = await waitForEmail(app.resend, email, /^Reset your/, { after: sentBefore });
    const link = extractLink(message.text);
    expect(link).toMatch(new RegExp(`^${app.url}/reset-password\\?token=`));

    await goto(page, link!);
    await heading(page, "Choose a new password");
    await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel("Repeat the new password", { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Save new password" }).click();
    await page.waitForURL(`${app.url}/login?reset=1`);
    await page.getByText("Your password was changed. Sign in with the new one.").waitFor();
    await expectSignedOut(page, viewport);

    // The session this browser had before is dead on the server too, not just forgotten by the browser.
    const stale = await fetch(`${app.url}/settings`, {
      headers: { cookie: `${oldSession!.name}=${oldSession!.value}` },
      redirect: "manual",
    });
    expect(stale.status).toBe(302);
    expect(stale.headers.get("location")).toMatch(/^\/login\b/);

    await signIn(page, email, PASSWORD);
    await page.getByRole("alert").filter({ hasText: MISMATCH }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/login");

    await signIn(page, email, NEW_PASSWORD);
    await page.waitForURL(`${app.url}/`);
    await heading(page, `Welcome, ${newName}.`);
    await expectSignedIn(page, viewport);
  });

  it("refuses cross-origin posts and answers unknown pages and the dev outbox with a 404 page", async () => {
    const form = { email, password: "not the password" };
    const evil = await page.request.post(`${app.url}/login`, {
      headers: { Origin: "https://evil.example" },
      form,
      maxRedirects: 0,
    });
    expect(evil.status()).toBe(403);
    // The same request from the app's own origin reaches the sign-in action (and is refused there, normally).
    const own = await page.request.post(`${app.url}/login`, { headers: { Origin: app.url }, form, maxRedirects: 0 });
    expect(own.status()).not.toBe(403);

    const missing = await goto(page, `${app.url}/does-not-exist`);
    expect(missing?.status()).toBe(404);
    await heading(page, "Page not found");

    const outbox = await goto(page, `${app.url}/dev/outbox`);
    expect(outbox?.status()).toBe(404);
    await heading(page, "Page not found");
  });
});

// The server makes its route tables once per build, not per request (patches/, ADR 0010): pages asked
// for all at once, in any order, must each still get their own route, heading, status and redirect.
describe("the production server's routing", () => {
  const pages = [
    { path: "/login", status: 200, heading: "Sign in" },
    { path: "/signup", status: 200, heading: "Create your account" },
    { path: "/forgot-password", status: 200, heading: "Reset your password" },
    { path: "/terms", status: 200, heading: "Terms of use" },
    { path: "/nope/deep/path", status: 404, heading: "Page not found" },
    { path: "/history/some-generation", status: 302, heading: null },
    { path: "/admin/ledger/some-account", status: 302, heading: null },
  ];

  it("renders each page for its own URL when many are asked for at once", async () => {
    const asked = Array.from({ length: 4 }, (_, round) => (round % 2 ? [...pages].reverse() : pages)).flat();
    const answers = await Promise.all(
      asked.map(async (page) => {
        const response = await fetch(`${app.url}${page.path}`, { redirect: "manual" });
        return {
          page,
          status: response.status,
          location: response.headers.get("location"),
          html: await response.text(),
        };
      }),
    );
    for (const { page, status, location, html } of answers) {
      expect({ path: page.path, status }).toEqual({ path: page.path, status: page.status });
      if (page.heading) expect(html.match(/<h1[^>]*>([^<]*)<\/h1>/)?.[1]).toBe(page.heading);
      else expect(location).toBe(`/login?redirectTo=${encodeURIComponent(page.path)}`);
    }
  });

  it("gives loaders the page's URL without Remix's own parameters, for documents and data requests", async () => {
    // The sign-in redirect quotes the URL its loader saw, so a `?index` or `_routes` left in would show.
    const document = await fetch(`${app.url}/settings?index`, { redirect: "manual" });
    expect(document.status).toBe(302);
    expect(document.headers.get("location")).toBe("/login?redirectTo=%2Fsettings");
    // Remix decodes parameter names, so an escaped one is Remix's too.
    const escaped = await fetch(`${app.url}/settings?%69ndex`, { redirect: "manual" });
    expect(escaped.headers.get("location")).toBe("/login?redirectTo=%2Fsettings");
    const withQuery = await fetch(`${app.url}/history?index&page=2`, { redirect: "manual" });
    expect(withQuery.headers.get("location")).toBe(`/login?redirectTo=${encodeURIComponent("/history?page=2")}`);
    const data = await fetch(`${app.url}/history/some-generation.data?_routes=routes%2Fhistory.%24id`, {
      redirect: "manual",
    });
    const body = await data.text();
    expect(body).toContain(`/login?redirectTo=${encodeURIComponent("/history/some-generation")}`);
    expect(body).not.toContain("_routes");
  });

  it("gives crawlers the whole document in one piece, and the 404 page to unknown URLs", async () => {
    const crawler = { "user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" };
    const terms = await fetch(`${app.url}/terms`, { headers: crawler });
    expect(terms.status).toBe(200);
    const html = await terms.text();
    expect(html).toMatch(/<h1[^>]*>Terms of use<\/h1>/);
    // Browsers get the streamed parts later, as hidden segments that a script moves into place.
    const outOfOrder = /<div hidden id="S:/;
    expect(html).not.toMatch(outOfOrder);
    const browser = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0" };
    expect(await (await fetch(`${app.url}/terms`, { headers: browser })).text()).toMatch(outOfOrder);
    const missing = await fetch(`${app.url}/nope`, { headers: crawler });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/<h1[^>]*>Page not found<\/h1>/);
  });
});

// Item 7 with JavaScript: the hydrated sign-in form posts with fetch and Remix follows the redirect in
// the page. Whatever `redirectTo` says, the browser must end on the app's own origin.
describe("signing in with a hostile redirectTo, in a real browser", () => {
  // As typed in the address bar (already URL-encoded where it matters).
  const HOSTILE_QUERIES = [
    "/%09/evil.example",
    "/%0a/evil.example",
    "%2F%5Cevil.example",
    "//evil.example",
    "/%5C/evil.example",
    "https://evil.example/",
    "javascript:alert(document.domain)",
    "/.//evil.example",
  ];

  it("stays on the app for each variant and never runs a script", async () => {
    const member = await createUser({ displayName: "Redirect Tester" });
    const browser = suite.browser(PHONE);
    const page = browser.page;
    const dialogs: string[] = [];
    const onDialog = (dialog: { message(): string; dismiss(): Promise<void> }) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    };
    page.on("dialog", onDialog);
    try {
      for (const query of HOSTILE_QUERIES) {
        await browser.context.clearCookies();
        await goto(page, `${app.url}/login?redirectTo=${query}`);
        await signIn(page, member.email, TEST_PASSWORD);
        await page.waitForURL((url) => url.pathname !== "/login");
        await heading(page, "Welcome, Redirect Tester.");
        expect(new URL(page.url()).origin, query).toBe(app.url);
      }
    } finally {
      page.off("dialog", onDialog);
    }
    expect(dialogs).toEqual([]);
  });
});

// Items 8 and 12 in a real browser, at phone size: the old address hears about the change, the new
// address's link only opens a page, and confirming needs the member's own session (sign in and back).
describe("changing the email address, in a real browser", () => {
  it("asks for the password, tells the old address, and confirms from the link after signing in", async () => {
    const member = await createUser({ displayName: "Moving Member" });
    const newEmail = `moved-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
    const browser = suite.browser(PHONE);
    const page = browser.page;
    await browser.context.clearCookies();
    await signInAsMember(page, member.email);

    await goto(page, `${app.url}/settings/email`);
    await page.getByLabel("New email address").fill(newEmail);
    await page.getByLabel("Your password").fill(TEST_PASSWORD);
    await page.getByRole("button", { name: "Send a code to the new address" }).click();
    await page.getByText(`We sent a code to ${newEmail}`).waitFor();
    await expectNoHorizontalOverflow(page);

    const notice = await waitForEmail(app.resend, member.email, /^Someone asked to change/);
    expect(notice.text).not.toContain(newEmail);
    expect(notice.text).toMatch(/\/cancel-email-change\?token=/);
    const message = await waitForEmail(app.resend, newEmail, /^Confirm your new email/);
    const link = extractLink(message.text)!;

    // Opened signed out (say, on another device): sign in first, then come back to the same link.
    await browser.context.clearCookies();
    await goto(page, link);
    await page.waitForURL((url) => url.pathname === "/login");
    await heading(page, "Sign in");
    await signIn(page, member.email, TEST_PASSWORD);
    await page.waitForURL(link);
    await heading(page, "Confirm your new email address");
    await page.getByText(newEmail).waitFor();
    await saveScreenshot(page, "email-change-confirm", PHONE);
    await expectNoHorizontalOverflow(page);
    await page.getByRole("button", { name: "Use this address" }).click();
    await page.waitForURL(`${app.url}/settings?emailChanged=1`);
    await page.getByText("Your email address was changed.").waitFor();
  });
});

async function signInAsMember(page: Page, email: string) {
  await goto(page, `${app.url}/login`);
  await signIn(page, email, TEST_PASSWORD);
  await page.waitForURL(`${app.url}/`);
}
