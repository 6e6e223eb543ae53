import { describe, expect, it } from "vitest";
import { hashToken } from "#app/models/session.server";
import { action as forgotAction } from "#app/routes/forgot-password";
import { action as loginAction } from "#app/routes/login";
import { action as logoutAction } from "#app/routes/logout";
import { action as resetAction, loader as resetLoader } from "#app/routes/reset-password";
import { loader as rootLoader } from "#app/root";
import { loader as settingsLoader } from "#app/routes/settings";
import { prisma } from "#app/utils/db.server";
import { extractLink } from "#tests/fakes/email-helpers";
import {
  call,
  context,
  cookieFrom,
  createUser,
  getRequest,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
  TEST_PASSWORD,
  uniqueEmail,
} from "#tests/helpers";

async function login(email: string, password: string, ip = "192.0.2.10", userAgent = "vitest") {
  return call(
    loginAction,
    postRequest("/login", { email, password }, { headers: { "user-agent": userAgent } }),
    {},
    context(ip),
  );
}

describe("sign-in", () => {
  it("signs in with the right password, stores only the token's SHA-256, and sets a safe cookie", async () => {
    const user = await createUser();
    const result = await login(user.email.toUpperCase(), TEST_PASSWORD);
    expect(result.status).toBe(302);
    const setCookie = result.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Max-Age=2592000|Expires=/i);
    const token = cookieFrom(result.headers, "session").split("=")[1]!;
    const sessions = await prisma.session.findMany({ where: { userId: user.id } });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.id).toBe(hashToken(token));
    expect(sessions[0]!.id).not.toContain(token);
    const root = await call(rootLoader, getRequest("/", { cookie: `session=${token}` }));
    expect((root.data as { user: { displayName: string } }).user.displayName).toBe("Test Member");
  });

  it("gives the same answer for a wrong password and an unknown address", async () => {
    const user = await createUser();
    const wrong = await login(user.email, "not the password");
    const unknown = await login(uniqueEmail("ghost"), "not the password");
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(wrong.data)).toContain("That email and password do not match an account.");
    expect(JSON.stringify(wrong.data)).toBe(
      JSON.stringify(unknown.data).replace(/ghost-[^"]+@example.com/, user.email),
    );
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(0);
  });

  it("stops one address after 10 failures on an account, even with the right password", async () => {
    const user = await createUser();
    for (let i = 0; i < 10; i += 1) expect((await login(user.email, "wrong", "192.0.2.100")).status).toBe(400);
    const locked = await login(user.email, TEST_PASSWORD, "192.0.2.100");
    expect(locked.status).toBe(429);
    expect(JSON.stringify(locked.data)).toContain("Too many attempts");
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(0);
  });

  it("a stranger failing from one address cannot lock the member out: the right password works from another", async () => {
    const user = await createUser();
    for (let i = 0; i < 12; i += 1) await login(user.email, "wrong", "192.0.2.101");
    expect((await login(user.email, "wrong", "192.0.2.101")).status).toBe(429);
    const member = await login(user.email, TEST_PASSWORD, "198.51.100.7");
    expect(member.status).toBe(302);
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(1);
  });

  it("a guess spread over many addresses is still capped for the account", async () => {
    const user = await createUser();
    // Ten addresses, ten wrong guesses each: every one of them is checked (400), none is refused early.
    for (let ip = 0; ip < 10; ip += 1) {
      for (let i = 0; i < 10; i += 1)
        expect((await login(user.email, "wrong", `192.0.2.${120 + ip}`)).status).toBe(400);
    }
    const capped = await login(user.email, TEST_PASSWORD, "198.51.100.8");
    expect(capped.status).toBe(429);
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(0);
  });

  it("limits attempts per IP across accounts", async () => {
    const ip = "192.0.2.250";
    for (let i = 0; i < 30; i += 1) await login(uniqueEmail("spray"), "wrong", ip);
    const user = await createUser();
    expect((await login(user.email, TEST_PASSWORD, ip)).status).toBe(429);
  });

  it("redirects only to same-site paths after sign-in", async () => {
    const user = await createUser();
    const request = (redirectTo: string) =>
      postRequest("/login", { email: user.email, password: TEST_PASSWORD, redirectTo });
    expect((await call(loginAction, request("/settings/sessions"))).location).toBe("/settings/sessions");
    expect((await call(loginAction, request("https://evil.example/"))).location).toBe("/");
    expect((await call(loginAction, request("//evil.example/"))).location).toBe("/");
  });

  it("emails a new-sign-in notice when a second, different device signs in", async () => {
    const user = await createUser();
    await login(user.email, TEST_PASSWORD, "192.0.2.1", "Mozilla/5.0 (Windows NT 10.0) Chrome/120");
    expect(await latestOutboxEmail(user.email, "new-sign-in")).toBeNull();
    await login(user.email, TEST_PASSWORD, "192.0.2.2", "Mozilla/5.0 (iPhone) Safari/605");
    const notice = await latestOutboxEmail(user.email, "new-sign-in");
    expect(notice?.text).toContain("192.0.2.2");
  });
});

describe("sessions", () => {
  it("treats a tampered or unknown cookie as signed out and clears it", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const tampered = cookie.slice(0, -2) + (cookie.endsWith("aa") ? "bb" : "aa");
    const result = await call(settingsLoader, getRequest("/settings", { cookie: tampered }));
    expect(result.status).toBe(302);
    expect(result.location).toBe("/login?redirectTo=%2Fsettings");
    const root = await call(rootLoader, getRequest("/", { cookie: tampered }));
    expect((root.data as { user: unknown }).user).toBeNull();
    expect(root.headers.get("set-cookie")).toMatch(/session=;/);
  });

  it("refuses an expired session and extends one that is past half its life", async () => {
    const user = await createUser();
    const expired = await signedInCookie(user.id);
    await prisma.session.update({ where: { id: expired.sessionId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await call(settingsLoader, getRequest("/settings", { cookie: expired.cookie }))).status).toBe(302);

    const old = await signedInCookie(user.id);
    const tenDays = new Date(Date.now() + 10 * 86_400_000);
    await prisma.session.update({ where: { id: old.sessionId }, data: { expiresAt: tenDays } });
    const root = await call(rootLoader, getRequest("/", { cookie: old.cookie }));
    expect(root.headers.get("set-cookie")).toContain(old.cookie);
    const extended = await prisma.session.findUniqueOrThrow({ where: { id: old.sessionId } });
    expect(extended.expiresAt.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
  });

  it("logout deletes the session on the server", async () => {
    const user = await createUser();
    const { cookie, sessionId } = await signedInCookie(user.id);
    const result = await call(logoutAction, postRequest("/logout", {}, { cookie }));
    expect(result.status).toBe(302);
    expect(result.headers.get("set-cookie")).toMatch(/session=;.*Max-Age=0|session=;.*Expires=Thu, 01 Jan 1970/i);
    expect(await prisma.session.findUnique({ where: { id: sessionId } })).toBeNull();
    expect((await call(settingsLoader, getRequest("/settings", { cookie }))).status).toBe(302);
  });
});

describe("password reset", () => {
  async function requestReset(email: string, ip = "192.0.2.40") {
    return call(forgotAction, postRequest("/forgot-password", { email }), {}, context(ip));
  }

  it("answers the same for known and unknown addresses", async () => {
    const user = await createUser();
    const known = await requestReset(user.email);
    const unknown = await requestReset(uniqueEmail("nobody"));
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect((known.data as { sent: boolean }).sent).toBe(true);
    expect((unknown.data as { sent: boolean }).sent).toBe(true);
    expect(await latestOutboxEmail(user.email, "password-reset")).not.toBeNull();
  });

  it("resets with a single-use link, ends every session, and verifies the address", async () => {
    const user = await createUser({ verified: false });
    const a = await signedInCookie(user.id);
    await signedInCookie(user.id);
    await requestReset(user.email);
    const link = new URL(extractLink((await latestOutboxEmail(user.email, "password-reset"))!.text)!);
    const token = link.searchParams.get("token")!;
    expect(await prisma.passwordReset.count({ where: { tokenHash: token } })).toBe(0);
    const page = await call(resetLoader, getRequest(link.pathname + link.search));
    expect((page.data as { valid: boolean }).valid).toBe(true);

    const mismatch = await call(
      resetAction,
      postRequest("/reset-password", { token, password: "brand new passphrase", confirm: "other" }),
    );
    expect(mismatch.status).toBe(400);

    const result = await call(
      resetAction,
      postRequest("/reset-password", { token, password: "brand new passphrase", confirm: "brand new passphrase" }),
    );
    expect(result.status).toBe(302);
    expect(result.location).toBe("/login?reset=1");
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await call(settingsLoader, getRequest("/settings", { cookie: a.cookie }))).status).toBe(302);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).not.toBeNull();
    expect((await login(user.email, "brand new passphrase")).status).toBe(302);
    expect((await login(user.email, TEST_PASSWORD)).status).toBe(400);
    expect((await latestOutboxEmail(user.email, "password-changed"))?.tag).toBe("password-changed");

    const reused = await call(
      resetAction,
      postRequest("/reset-password", { token, password: "another passphrase!", confirm: "another passphrase!" }),
    );
    expect(reused.status).toBe(400);
    expect(JSON.stringify(reused.data)).toContain("expired or was already used");
  });

  it("refuses an expired link and a made-up token", async () => {
    const user = await createUser();
    await requestReset(user.email);
    const token = new URL(extractLink((await latestOutboxEmail(user.email, "password-reset"))!.text)!).searchParams.get(
      "token",
    )!;
    await prisma.passwordReset.updateMany({
      where: { userId: user.id },
      data: { expiresAt: new Date(Date.now() - 1) },
    });
    const form = { password: "brand new passphrase", confirm: "brand new passphrase" };
    expect((await call(resetAction, postRequest("/reset-password", { token, ...form }))).status).toBe(400);
    expect((await call(resetAction, postRequest("/reset-password", { token: "made-up", ...form }))).status).toBe(400);
    expect((await login(user.email, TEST_PASSWORD)).status).toBe(302);
  });

  it("stops sending reset emails for one address after 3 an hour, without saying so", async () => {
    const user = await createUser();
    for (let i = 0; i < 5; i += 1) expect((await requestReset(user.email, `192.0.2.${60 + i}`)).status).toBe(200);
    expect(await prisma.passwordReset.count({ where: { userId: user.id } })).toBe(3);
  });
});

describe("password reset closes every door of the previous holder", () => {
  it("cancels a pending email change started before the reset", async () => {
    const { action: emailAction } = await import("#app/routes/settings.email");
    const { extractCode } = await import("#tests/fakes/email-helpers");
    const victim = await createUser({ verified: false });
    const squatter = await signedInCookie(victim.id);
    const attackerAddress = uniqueEmail("attacker");
    await call(
      emailAction,
      postRequest(
        "/settings/email",
        { intent: "request", newEmail: attackerAddress, password: TEST_PASSWORD },
        { cookie: squatter.cookie },
      ),
    );
    const code = extractCode((await latestOutboxEmail(attackerAddress, "email-change"))!.text)!;

    await call(forgotAction, postRequest("/forgot-password", { email: victim.email }), {}, context("192.0.2.90"));
    const token = new URL(
      extractLink((await latestOutboxEmail(victim.email, "password-reset"))!.text)!,
    ).searchParams.get("token")!;
    await call(
      resetAction,
      postRequest("/reset-password", { token, password: "the owner's passphrase", confirm: "the owner's passphrase" }),
    );

    const { confirmEmailChangeWithCode } = await import("#app/models/email-change.server");
    expect((await confirmEmailChangeWithCode(victim.id, code, null)).ok).toBe(false);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: victim.id } })).email).toBe(victim.email);
  });
});
