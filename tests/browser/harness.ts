import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { freePort } from "../../scripts/lib/postgres";
import { startFakeResend, type FakeResend, type FakeResendRequest } from "../fakes/resend-server";

// Drives the real production server (server/index.ts on the built app) and Debian's Chromium.
// Prerequisites: `npx remix build` has run, and /usr/bin/chromium exists (apt-get install chromium).

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS_DIR = path.join(root, "tests", "artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const READY_TIMEOUT_MS = 90_000; // generous: CI machines are small and busy

export type Viewport = { name: string; width: number; height: number };
export const DESKTOP: Viewport = { name: "desktop", width: 1280, height: 800 };
export const PHONE: Viewport = { name: "phone", width: 390, height: 844 };

export type RunningApp = {
  /** e.g. "http://localhost:43123" (also the server's APP_URL, so Origin checks and email links match). */
  url: string;
  resend: FakeResend;
  stop(): Promise<void>;
};

/**
 * Starts the fake Resend API and the production server against process.env.DATABASE_URL. `env` is merged
 * into the server's environment last (e.g. Stripe keys pointing at a fake), so it can override any default.
 */
export async function startApp({ env = {} }: { env?: Record<string, string> } = {}): Promise<RunningApp> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("startApp: DATABASE_URL is not set (is tests/setup/database.ts a setupFile?)");
  await access(path.join(root, "build", "index.js")).catch(() => {
    throw new Error("startApp: build/index.js is missing: run `npx remix build` first");
  });
  const resend = await startFakeResend();
  // server/index.ts would print the real port for PORT=0, but APP_URL must name it before start-up: pick one first.
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const child = spawn("npx", ["tsx", "server/index.ts"], {
    cwd: root,
    // Own process group, so stop() reaches npx, tsx and node together.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      APP_URL: url,
      DATABASE_URL: databaseUrl,
      RESEND_API_KEY: "re_test_browser",
      RESEND_BASE_URL: resend.url,
      LOG_LEVEL: "warn",
      GOOGLE_CLIENT_ID: "",
      GOOGLE_CLIENT_SECRET: "",
      TRUST_PROXY: "",
      ...env,
    },
  });

  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > 20_000) output = output.slice(-20_000);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`server did not print READY within ${READY_TIMEOUT_MS} ms. Output:\n${output}`)),
        READY_TIMEOUT_MS,
      );
      const onData = () => {
        if (/^READY http:\/\/localhost:\d+$/m.test(output)) done();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        fail(new Error(`server exited (code ${code}, signal ${signal}) before READY. Output:\n${output}`));
      const onError = (error: Error) => fail(new Error(`could not spawn the server: ${error.message}`));
      function cleanup() {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.off("exit", onExit);
        child.off("error", onError);
      }
      function done() {
        cleanup();
        resolve();
      }
      function fail(error: Error) {
        cleanup();
        reject(error);
      }
      child.stdout!.on("data", onData);
      child.once("exit", onExit);
      child.once("error", onError);
    });
  } catch (error) {
    await killGroup(child);
    await resend.close();
    throw error;
  }

  return {
    url,
    resend,
    async stop() {
      await killGroup(child);
      await resend.close();
    },
  };
}

async function killGroup(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const forced = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(forced);
}

export type OpenBrowser = { context: BrowserContext; page: Page; close(): Promise<void> };

/** A fresh Chromium profile (persistent context in a temp dir) with one page at this viewport size. */
export async function openBrowser(viewport: Viewport): Promise<OpenBrowser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(
      `openBrowser: ${CHROMIUM} is missing: apt-get install -y chromium (never download Playwright browsers)`,
    );
  });
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), `browser-e2e-${viewport.name}-`));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: viewport.width, height: viewport.height },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

function fileSafe(name: string) {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);
}

/** Saves a full-page screenshot to tests/artifacts/<name>-<viewport>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string, viewport: Viewport): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${fileSafe(name)}-${viewport.name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Call inside a describe: when one of its tests fails, the page is saved to
 * tests/artifacts/<test name>-<viewport>.png.
 */
export function screenshotOnFailure(getPage: () => Page | undefined, viewport: Viewport) {
  beforeEach(({ task, onTestFailed }) => {
    onTestFailed(async () => {
      const page = getPage();
      if (!page || page.isClosed()) return;
      try {
        const file = await saveScreenshot(page, `failed-${task.name}`, viewport);
        console.error(`[browser] ${task.name} (${viewport.name}) failed at ${page.url()}; screenshot: ${file}`);
      } catch (error) {
        console.error(`[browser] could not save a failure screenshot: ${String(error)}`);
      }
    });
  });
}

/** Waits until Remix has hydrated the page, so clicks go through React rather than plain HTML. */
export async function waitForHydration(page: Page) {
  await page.waitForFunction(() => {
    const router = (window as unknown as { __remixRouter?: { state: { initialized: boolean } } }).__remixRouter;
    const main = document.getElementById("main");
    return Boolean(router?.state.initialized && main && Object.keys(main).some((key) => key.startsWith("__react")));
  });
}

/** Emails the fake Resend accepted for this address, oldest first. */
export function emailsTo(resend: FakeResend, address: string): FakeResendRequest[] {
  return resend.requests.filter(
    (request) =>
      request.method === "POST" &&
      request.path === "/emails" &&
      [request.body?.to].flat().some((to: unknown) => String(to).toLowerCase() === address.toLowerCase()),
  );
}

/** The newest email to `address` whose subject matches, waiting up to `timeoutMs` for it to arrive. */
export async function waitForEmail(
  resend: FakeResend,
  address: string,
  subject: RegExp,
  { after = 0, timeoutMs = 5_000 }: { after?: number; timeoutMs?: number } = {},
): Promise<{ subject: string; text: string; html: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = emailsTo(resend, address)
      .slice(after)
      .reverse()
      .find((request) => subject.test(String(request.body?.subject ?? "")));
    if (match) return { subject: match.body.subject, text: match.body.text ?? "", html: match.body.html ?? "" };
    if (Date.now() > deadline) {
      const seen = emailsTo(resend, address).map((request) => request.body?.subject);
      throw new Error(`no email to ${address} matching ${subject} (saw: ${JSON.stringify(seen)})`);
    }
    // Poll the in-process fake (it records each request as it arrives).
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Registers beforeAll/afterAll that start the production server and one browser per viewport (in
 * parallel), and close them all afterwards.
 */
export function browserSuite(viewports: Viewport[]) {
  let app: RunningApp | undefined;
  const browsers = new Map<string, OpenBrowser>();
  beforeAll(async () => {
    const [started, ...opened] = await Promise.allSettled([startApp(), ...viewports.map((size) => openBrowser(size))]);
    opened.forEach((result, index) => {
      if (result.status === "fulfilled") browsers.set(viewports[index]!.name, result.value);
    });
    if (started.status === "fulfilled") app = started.value;
    const failure = [started, ...opened].find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
  });
  afterAll(async () => {
    await Promise.all([...browsers.values()].map((browser) => browser.close()));
    await app?.stop();
  });
  return {
    app: () => app!,
    browser: (viewport: Viewport) => browsers.get(viewport.name)!,
    page: (viewport: Viewport) => browsers.get(viewport.name)!.page,
  };
}

/** Signs in through the login form and waits for `redirectTo` to load and hydrate. */
export async function signInAs(page: Page, appUrl: string, email: string, password: string, redirectTo: string) {
  await page.goto(`${appUrl}/login?redirectTo=${encodeURIComponent(redirectTo)}`);
  await waitForHydration(page);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${appUrl}${redirectTo}`);
  await waitForHydration(page);
}

/** The page is no wider than the window (nothing to scroll sideways on a phone); names what sticks out. */
export async function horizontalOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    if (document.documentElement.scrollWidth <= window.innerWidth) return [];
    return [...document.querySelectorAll("body *")]
      .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
      .filter(
        (element) =>
          !(element.parentElement && element.parentElement.getBoundingClientRect().right > window.innerWidth + 0.5),
      )
      .slice(0, 5)
      .map((element) => `<${element.tagName.toLowerCase()} class="${element.getAttribute("class") ?? ""}">`);
  });
}
