import { beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { createUser, TEST_PASSWORD } from "#tests/helpers";
import { browserSuite, PHONE, screenshotOnFailure, signInAs, waitForHydration, type RunningApp } from "./harness";

// The production server's Content-Security-Policy (docs/decisions/0014-csp-nonces.md) in a real
// browser: inline scripts only with the request's nonce, and the app still hydrates and works.

const suite = browserSuite([PHONE]);
let app: RunningApp;
beforeAll(() => {
  app = suite.app();
});

function directive(policy: string, name: string) {
  return (
    policy
      .split(";")
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${name} `)) ?? ""
  );
}

/** Records CSP violations (securitypolicyviolation events) and console errors from now on. */
async function watchViolations(page: Page) {
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener("securitypolicyviolation", (event) =>
      seen.push(
        `${location.pathname}: ${event.violatedDirective} ${event.blockedURI} (${event.sourceFile}:${event.lineNumber})`,
      ),
    );
  });
  return async () => ({
    violations: await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations),
    consoleErrors: consoleErrors.filter((text) => /content security policy/i.test(text)),
  });
}

describe("Content-Security-Policy", () => {
  screenshotOnFailure(() => suite.page(PHONE), PHONE);

  it("allows inline scripts only with a per-request nonce, and the page hydrates and works with no violation", async () => {
    const page = suite.page(PHONE);
    const violations = await watchViolations(page);

    const first = await page.goto(`${app.url}/login`);
    const policy = first!.headers()["content-security-policy"]!;
    const scripts = directive(policy, "script-src");
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(scripts)?.[1];
    expect(nonce).toBeTruthy();
    expect(scripts).not.toContain("unsafe-inline");
    expect(directive(policy, "connect-src")).not.toContain("ws:");
    await waitForHydration(page);

    // Every inline script the server wrote carries this request's nonce.
    const inline = await page.evaluate(() =>
      [...document.querySelectorAll("script:not([src])")].map((script) => (script as HTMLScriptElement).nonce),
    );
    expect(inline.length).toBeGreaterThan(0);
    expect(new Set(inline)).toEqual(new Set([nonce]));

    // Another load gets another nonce.
    const second = await page.reload();
    expect(directive(second!.headers()["content-security-policy"]!, "script-src")).not.toContain(nonce!);
    await waitForHydration(page);

    // Client-side work: the form validates in the browser, and a submission goes through Remix's fetch
    // (single fetch, its answer streamed) without a document load.
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = "same document"));
    await page.getByLabel("Email", { exact: true }).fill("not an email");
    await page.getByLabel("Password", { exact: true }).focus();
    await page
      .getByText(/valid email/i)
      .first()
      .waitFor();
    await page.getByLabel("Email", { exact: true }).fill("nobody@example.com");
    await page.getByLabel("Password", { exact: true }).fill("not the password");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByText("That email and password do not match an account.").waitFor();
    // And a link is followed by the router, not by the browser.
    await page.getByRole("navigation", { name: "Legal" }).getByRole("link", { name: "Pricing" }).click();
    await page.waitForURL(`${app.url}/pricing`);
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("same document");

    expect(await violations()).toEqual({ violations: [], consoleErrors: [] });
  });

  it("lets a page's streamed (deferred) data in through its nonce", async () => {
    const page = suite.page(PHONE);
    const admin = await createUser({ role: "admin" });
    const violations = await watchViolations(page);
    // A full document load of the admin overview, whose ledger check arrives after the shell.
    await signInAs(page, app.url, admin.email, TEST_PASSWORD, "/settings");
    await page.goto(`${app.url}/admin`);
    await page.getByText(/All \d+ checks pass\./).waitFor();
    await waitForHydration(page);
    expect(await violations()).toEqual({ violations: [], consoleErrors: [] });
  });
});

describe("a page opened at another address than APP_URL", () => {
  it("says up front that its forms will be refused, and where to go instead", async () => {
    const page = suite.page(PHONE);
    const elsewhere = app.url.replace("localhost", "127.0.0.1");
    await page.goto(`${elsewhere}/login`);
    await waitForHydration(page);
    const notice = page.getByRole("alert").filter({ hasText: "forms sent from here will be refused" });
    await expect(notice.textContent()).resolves.toContain(
      `This page was opened at ${elsewhere}, but this app is set up for ${app.url}`,
    );
    expect(await notice.getByRole("link").getAttribute("href")).toBe(app.url);
    // At APP_URL itself there is no notice.
    await page.goto(`${app.url}/login`);
    await waitForHydration(page);
    expect(await page.getByText("forms sent from here will be refused").count()).toBe(0);
  });
});
