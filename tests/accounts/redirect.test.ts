import { describe, expect, it } from "vitest";
import { action as loginAction, loader as loginLoader } from "#app/routes/login";
import { loader as settingsLoader } from "#app/routes/settings";
import { prisma } from "#app/utils/db.server";
import { BASE_URL, call, context, createUser, getRequest, postRequest, TEST_PASSWORD } from "#tests/helpers";

// Item 7: where the browser goes after signing in. Without JavaScript the sign-in form posts the
// `redirectTo` it was given and follows the Location header; these targets must never leave the app.

/** Targets that try to leave the app (or run script), in the forms browsers and parsers disagree on. */
const HOSTILE = [
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r/evil.example",
  "/\r\n/evil.example",
  "\t//evil.example",
  " //evil.example",
  "\u0000//evil.example",
  "/\u007f/evil.example",
  "/%09/evil.example",
  "/%0a/evil.example",
  "/%0d/evil.example",
  "/%0D%0A/evil.example",
  "/%25%30%39/evil.example",
  "/%5C/evil.example",
  "/%5c%5cevil.example",
  "\\\\evil.example",
  "/\\evil.example",
  "\\/evil.example",
  "/\\/evil.example",
  "/./\\evil.example",
  "//evil.example",
  "///evil.example",
  "////evil.example/",
  "/.//evil.example",
  "/..//evil.example",
  "/%2F/evil.example",
  "%2F%2Fevil.example",
  "https://evil.example/",
  "http://evil.example",
  "HTTP://EVIL.EXAMPLE",
  "https:evil.example",
  "https:/\\evil.example",
  "http:evil.example",
  "http://localhost:3000.evil.example/",
  "http://localhost:3000@evil.example/",
  "http://evil.example@localhost:3000/settings",
  "//localhost:3000@evil.example",
  "/@evil.example",
  "javascript:alert(1)",
  "JaVaScRiPt:alert(document.domain)",
  "java\tscript:alert(1)",
  "javascript%3Aalert(1)",
  "data:text/html,<script>alert(1)</script>",
  "/\uff0f/evil.example",
  "\uff0f\uff0fevil.example",
  "//evil\u3002example",
  "/\u2028/evil.example",
  "/\u200b/evil.example",
  "/\u00a0/evil.example",
  "/\u202e/elpmaxe.live",
  `/${"a".repeat(5000)}`,
];

/** Same-origin targets the app itself builds; they must come back as they were. */
const LEGITIMATE: [string, string][] = [
  ["/settings/sessions", "/settings/sessions"],
  ["/history?page=2&q=two%20words", "/history?page=2&q=two%20words"],
  ["/verify?token=abcdefghijklmnop", "/verify?token=abcdefghijklmnop"],
  ["/history/abc#output", "/history/abc#output"],
  [`${BASE_URL}/wallet`, "/wallet"],
];

/** Where a browser ends up when it follows `location` from a page of the app (tabs dropped, `\` as `/`). */
function followed(location: string) {
  return new URL(location, `${BASE_URL}/login`);
}

let attempt = 0;
async function signInWith(email: string, redirectTo: string) {
  // A fresh address each time, so the per-IP sign-in limit never gets in the way of the corpus.
  attempt += 1;
  const ip = `198.51.100.${attempt % 250}`;
  return call(loginAction, postRequest("/login", { email, password: TEST_PASSWORD, redirectTo }), {}, context(ip));
}

describe("the target after sign-in", () => {
  it(`never leaves the app for any of ${HOSTILE.length} hostile targets (form post, no JavaScript)`, async () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(30);
    const user = await createUser();
    const escaped: string[] = [];
    for (const target of HOSTILE) {
      const result = await signInWith(user.email, target);
      expect(result.status, JSON.stringify(target)).toBe(302);
      const location = result.location ?? "";
      const landed = followed(location);
      const ok =
        landed.origin === BASE_URL &&
        location.startsWith("/") &&
        !/^\/[/\\]/.test(location) &&
        !/[\s\\]/.test(location);
      if (!ok) escaped.push(`${JSON.stringify(target)} -> ${JSON.stringify(location)}`);
    }
    expect(escaped).toEqual([]);
    // Each attempt was a real sign-in: the member's sessions were created (nothing failed half-way).
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(HOSTILE.length);
  });

  it("falls back to the home page for the hostile targets rather than a mangled path", async () => {
    const user = await createUser();
    for (const target of ["/\t/evil.example", "/%5C/evil.example", "//evil.example", "javascript:alert(1)"]) {
      expect((await signInWith(user.email, target)).location, JSON.stringify(target)).toBe("/");
    }
  });

  it("keeps same-origin targets, including the app's absolute URL", async () => {
    const user = await createUser();
    for (const [target, expected] of LEGITIMATE) {
      expect((await signInWith(user.email, target)).location, target).toBe(expected);
    }
  });

  it("the sign-in page only carries a safe target into its form", async () => {
    const hostile = await call(loginLoader, getRequest(`/login?redirectTo=${encodeURIComponent("/\t/evil.example")}`));
    expect((hostile.data as { redirectTo: string }).redirectTo).toBe("");
    const fine = await call(loginLoader, getRequest(`/login?redirectTo=${encodeURIComponent("/history?page=2")}`));
    expect((fine.data as { redirectTo: string }).redirectTo).toBe("/history?page=2");
  });

  it("a page that needs a session sends only its own path to the sign-in page", async () => {
    const kept = await call(settingsLoader, getRequest("/settings?tab=1"));
    expect(kept.location).toBe(`/login?redirectTo=${encodeURIComponent("/settings?tab=1")}`);
    const odd = await call(settingsLoader, new Request(`${BASE_URL}//evil.example/settings`));
    expect(odd.location).toBe("/login");
  });
});
