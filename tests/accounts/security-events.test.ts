import { describe, expect, it } from "vitest";
import { describeSecurityEvent, SECURITY_EVENTS_PAGE_SIZE } from "#app/models/account.server";
import { adjustBalance, changeMemberRole, setMemberDisabled } from "#app/models/admin-members.server";
import { audit } from "#app/models/audit.server";
import { maskEmail } from "#emails/mask";
import { deleteAccount } from "#app/models/data-rights.server";
import { hashToken } from "#app/models/session.server";
import { action as forgotAction } from "#app/routes/forgot-password";
import { action as loginAction } from "#app/routes/login";
import { action as resetAction } from "#app/routes/reset-password";
import { action as emailAction } from "#app/routes/settings.email";
import { action as passwordAction } from "#app/routes/settings.password";
import { loader as securityLoader } from "#app/routes/settings.security";
import { action as verifyAction } from "#app/routes/verify";
import { action as sessionsAction } from "#app/routes/settings.sessions";
import { prisma } from "#app/utils/db.server";
import { extractCode, extractLink } from "#tests/fakes/email-helpers";
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

// Issue #5: every sensitive change to an account writes exactly one row to the append-only audit log
// (who, what, from which IP, before/after, never a secret), and the member reads their own rows in
// Settings → Security, with staff shown only as "An administrator".

const FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:126.0) Gecko/126.0 Firefox/126.0";
const CHROME_LINUX =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

type SecurityPage = {
  total: number;
  page: number;
  pageCount: number;
  events: { id: string; sentence: string; ip: string | null; actor: string; createdAt: string; when: string }[];
};

function userEvents(userId: string, action?: string) {
  return prisma.auditEvent.findMany({
    where: { targetType: "user", targetId: userId, ...(action ? { action } : {}) },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
}

/** The row's before/after as text: none of the secrets may appear in it. */
function expectNoSecrets(row: { before: unknown; after: unknown }, secrets: string[]) {
  const text = JSON.stringify({ before: row.before, after: row.after });
  for (const secret of secrets) expect(text).not.toContain(secret);
}

async function login(email: string, password: string, ip: string, userAgent: string) {
  return call(
    loginAction,
    postRequest("/login", { email, password }, { headers: { "user-agent": userAgent } }),
    {},
    context(ip),
  );
}

async function securityPage(cookie: string, query = "") {
  const result = await call(securityLoader, getRequest(`/settings/security${query}`, { cookie }));
  expect(result.status).toBe(200);
  return result.data as SecurityPage;
}

describe("security events: sign-in", () => {
  it("a password sign-in from a new device writes one event with method, device, IP and no token", async () => {
    const user = await createUser();
    await signedInCookie(user.id, CHROME_LINUX);
    const result = await login(user.email, TEST_PASSWORD, "198.51.100.7", FIREFOX_ANDROID);
    expect(result.status).toBe(302);
    const token = cookieFrom(result.headers, "session").split("=")[1]!;

    const rows = await userEvents(user.id, "account.sign_in_new_device");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorId: user.id,
      targetType: "user",
      targetId: user.id,
      ip: "198.51.100.7",
      before: null,
      after: { method: "password", device: "Firefox on Android" },
    });
    expectNoSecrets(rows[0]!, [token, hashToken(token), TEST_PASSWORD, FIREFOX_ANDROID]);
  });

  it("a sign-in from a device the member already uses writes no new-device event", async () => {
    const user = await createUser();
    await signedInCookie(user.id, CHROME_LINUX);
    expect((await login(user.email, TEST_PASSWORD, "198.51.100.8", CHROME_LINUX)).status).toBe(302);
    expect((await login(user.email, TEST_PASSWORD, "198.51.100.8", CHROME_LINUX)).status).toBe(302);
    expect(await userEvents(user.id, "account.sign_in_new_device")).toHaveLength(0);
  });

  it("a refused sign-in (wrong password, disabled account) writes nothing", async () => {
    const user = await createUser();
    expect((await login(user.email, "not the password", "198.51.100.9", FIREFOX_ANDROID)).status).toBe(400);
    await prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    expect((await login(user.email, TEST_PASSWORD, "198.51.100.9", FIREFOX_ANDROID)).status).toBe(400);
    expect(await userEvents(user.id)).toHaveLength(0);
  });
});

describe("security events: password", () => {
  it("changing the password writes one event from the member's IP, with neither password in it", async () => {
    const user = await createUser();
    const here = await signedInCookie(user.id, "laptop");
    await signedInCookie(user.id, "phone");
    const next = "a brand new passphrase";
    const wrong = await call(
      passwordAction,
      postRequest(
        "/settings/password",
        { currentPassword: "wrong one", newPassword: next, confirm: next },
        { cookie: here.cookie },
      ),
      {},
      context("198.51.100.20"),
    );
    expect(wrong.status).toBe(400);
    expect(await userEvents(user.id)).toHaveLength(0);

    const ok = await call(
      passwordAction,
      postRequest(
        "/settings/password",
        { currentPassword: TEST_PASSWORD, newPassword: next, confirm: next },
        { cookie: here.cookie },
      ),
      {},
      context("198.51.100.20"),
    );
    expect(ok.status).toBe(200);
    const rows = await userEvents(user.id);
    expect(rows.map((row) => row.action)).toEqual(["account.password_changed"]);
    expect(rows[0]).toMatchObject({ actorId: user.id, ip: "198.51.100.20" });
    expectNoSecrets(rows[0]!, [TEST_PASSWORD, next]);
  });

  it("a reset through the emailed link writes one event, without the token or the password", async () => {
    const user = await createUser();
    await signedInCookie(user.id);
    await call(forgotAction, postRequest("/forgot-password", { email: user.email }), {}, context("198.51.100.30"));
    const link = new URL(extractLink((await latestOutboxEmail(user.email, "password-reset"))!.text)!);
    const token = link.searchParams.get("token")!;
    const password = "reset passphrase 2024";
    const result = await call(
      resetAction,
      postRequest("/reset-password", { token, password, confirm: password }),
      {},
      context("198.51.100.31"),
    );
    expect(result.status).toBe(302);
    const rows = await userEvents(user.id);
    expect(rows.map((row) => row.action)).toEqual(["account.password_reset"]);
    expect(rows[0]).toMatchObject({
      actorId: user.id,
      ip: "198.51.100.31",
      after: { via: "email_link", sessionsEnded: 1 },
    });
    expectNoSecrets(rows[0]!, [token, hashToken(token), password]);

    // A used link changes nothing and logs nothing more.
    const reused = await call(resetAction, postRequest("/reset-password", { token, password, confirm: password }));
    expect(reused.status).toBe(400);
    expect(await userEvents(user.id)).toHaveLength(1);
  });
});

describe("security events: email change", () => {
  it("the request and the confirmation each write one event with both addresses masked, never the code", async () => {
    const user = await createUser();
    const newEmail = uniqueEmail("moved");
    const { cookie } = await signedInCookie(user.id);
    const ip = context("198.51.100.40");
    const refused = await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail, password: "nope" }, { cookie }),
      {},
      ip,
    );
    expect(refused.status).toBe(400);
    expect(await userEvents(user.id)).toHaveLength(0);

    await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail, password: TEST_PASSWORD }, { cookie }),
      {},
      ip,
    );
    const requested = await userEvents(user.id);
    expect(requested).toHaveLength(1);
    expect(requested[0]).toMatchObject({
      action: "account.email_change_requested",
      actorId: user.id,
      ip: "198.51.100.40",
      before: { email: maskEmail(user.email) },
      after: { email: maskEmail(newEmail) },
    });
    expect(maskEmail(newEmail)).toMatch(/^m\*\*\*@example\.com$/);
    expectNoSecrets(requested[0]!, [TEST_PASSWORD, user.email, newEmail]);

    const mail = (await latestOutboxEmail(newEmail, "email-change"))!.text;
    const code = extractCode(mail)!;
    const linkToken = new URL(extractLink(mail)!).searchParams.get("token")!;
    const confirmed = await call(
      emailAction,
      postRequest("/settings/email", { intent: "confirm", code }, { cookie }),
      {},
      context("198.51.100.41"),
    );
    expect(confirmed.status).toBe(302);
    const rows = await userEvents(user.id);
    expect(rows.map((row) => row.action)).toEqual(["account.email_change_requested", "account.email_changed"]);
    expect(rows[1]).toMatchObject({
      actorId: user.id,
      ip: "198.51.100.41",
      before: { email: maskEmail(user.email) },
      after: { email: maskEmail(newEmail) },
    });
    for (const row of rows) expectNoSecrets(row, [code, linkToken, hashToken(code), TEST_PASSWORD, newEmail]);
  });

  it("confirming the new address by its emailed link records the IP too", async () => {
    const user = await createUser();
    const newEmail = uniqueEmail("linked");
    const { cookie } = await signedInCookie(user.id);
    await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail, password: TEST_PASSWORD }, { cookie }),
    );
    const link = extractLink((await latestOutboxEmail(newEmail, "email-change"))!.text)!;
    const url = new URL(link);
    const token = url.searchParams.get("token")!;
    await call(
      verifyAction,
      postRequest("/verify", { intent: "link", token }, { cookie }),
      {},
      context("198.51.100.44"),
    );
    const [changed] = await userEvents(user.id, "account.email_changed");
    expect(changed).toMatchObject({ actorId: user.id, ip: "198.51.100.44", after: { email: maskEmail(newEmail) } });
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).email).toBe(newEmail);
  });

  it("account deletion still works after an email change: the append-only rows hold no full address", async () => {
    const user = await createUser();
    const newEmail = uniqueEmail("gone");
    const { cookie } = await signedInCookie(user.id);
    await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail, password: TEST_PASSWORD }, { cookie }),
    );
    const code = extractCode((await latestOutboxEmail(newEmail, "email-change"))!.text)!;
    await call(emailAction, postRequest("/settings/email", { intent: "confirm", code }, { cookie }));
    expect(await deleteAccount({ userId: user.id, password: TEST_PASSWORD, ip: "198.51.100.42" })).toMatchObject({
      ok: true,
    });
    const rows = await userEvents(user.id);
    expect(rows.map((row) => row.action)).toEqual([
      "account.email_change_requested",
      "account.email_changed",
      "account.deleted",
    ]);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(user.email);
    expect(text).not.toContain(newEmail);
  });
});

describe("security events: sessions", () => {
  it("signing out one device, then every other device, writes one event each", async () => {
    const user = await createUser();
    const here = await signedInCookie(user.id, CHROME_LINUX);
    const phone = await signedInCookie(user.id, FIREFOX_ANDROID);
    await signedInCookie(user.id, "tablet");
    const ip = context("198.51.100.50");

    const one = await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke", sessionId: phone.sessionId }, { cookie: here.cookie }),
      {},
      ip,
    );
    expect(one.status).toBe(200);
    let rows = await userEvents(user.id, "account.sessions_revoked");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actorId: user.id,
      ip: "198.51.100.50",
      after: { scope: "one", count: 1, device: "Firefox on Android" },
    });
    expectNoSecrets(rows[0]!, [phone.sessionId, here.sessionId, phone.cookie.split("=")[1]!]);

    await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke-others" }, { cookie: here.cookie }),
      {},
      ip,
    );
    rows = await userEvents(user.id, "account.sessions_revoked");
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({ ip: "198.51.100.50", after: { scope: "others", count: 1 } });
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(1);
  });

  it("another member's session id is a 404 and logs nothing", async () => {
    const user = await createUser();
    const other = await createUser();
    const mine = await signedInCookie(user.id);
    const theirs = await signedInCookie(other.id);
    const result = await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke", sessionId: theirs.sessionId }, { cookie: mine.cookie }),
    );
    expect(result.status).toBe(404);
    expect(await userEvents(user.id)).toHaveLength(0);
    expect(await userEvents(other.id)).toHaveLength(0);
  });
});

describe("Settings → Security", () => {
  it("lists only the member's own events, newest first, with staff shown as “An administrator”", async () => {
    const admin = await createUser({ role: "admin", displayName: "Olga Operator", email: uniqueEmail("olga-admin") });
    const member = await createUser();
    const other = await createUser();
    const adminIp = "10.20.30.40";

    await login(member.email, TEST_PASSWORD, "198.51.100.60", FIREFOX_ANDROID);
    await changeMemberRole({ actorId: admin.id, ip: adminIp, memberId: member.id, role: "support" });
    await adjustBalance({
      actorId: admin.id,
      ip: adminIp,
      memberId: member.id,
      direction: "credit",
      amount: 5_000_000n,
      reason: "Goodwill credit after an outage",
      requestId: `req-${member.id}`,
    });
    await setMemberDisabled({ actorId: admin.id, ip: adminIp, memberId: member.id, disabled: true });
    await setMemberDisabled({ actorId: admin.id, ip: adminIp, memberId: member.id, disabled: false });
    // Someone else's events never show.
    await login(other.email, TEST_PASSWORD, "198.51.100.61", CHROME_LINUX);

    const { cookie } = await signedInCookie(member.id);
    const page = await securityPage(cookie);
    expect(page.events.map((event) => event.sentence)).toEqual([
      "An administrator re-enabled your account",
      "An administrator disabled your account",
      expect.stringMatching(/^An administrator credited 5(\.0+)? USD to your wallet$/),
      "An administrator changed your role from member to support",
      "Signed in from a new device: Firefox on Android",
    ]);
    expect(page.events.map((event) => event.ip)).toEqual([null, null, null, null, "198.51.100.60"]);
    const text = JSON.stringify(page);
    for (const hidden of [admin.id, admin.email, "Olga", adminIp, other.id, "198.51.100.61", "Goodwill"]) {
      expect(text).not.toContain(hidden);
    }

    // The admin's own page has none of the work they did on the member.
    const adminPage = await securityPage((await signedInCookie(admin.id)).cookie);
    expect(adminPage.events).toEqual([]);
    // Nor does the other member's.
    const otherPage = await securityPage((await signedInCookie(other.id)).cookie);
    expect(otherPage.events.map((event) => event.sentence)).toEqual(["Signed in from a new device: Chrome on Linux"]);
  });

  it("shows the member's own export requests, but not staff work done by them on other accounts", async () => {
    const staff = await createUser({ role: "admin" });
    const member = await createUser();
    await audit({ actorId: staff.id, action: "data.export_requested", targetType: "data_export", targetId: "x1" });
    await audit({
      actorId: staff.id,
      action: "catalog.update",
      targetType: "catalog_model",
      targetId: "demo:echo",
      ip: "198.51.100.70",
    });
    await audit({ actorId: staff.id, action: "account.role_change", targetType: "user", targetId: member.id });
    const page = await securityPage((await signedInCookie(staff.id)).cookie);
    expect(page.events.map((event) => event.sentence)).toEqual(["Asked for a copy of your data"]);
  });

  it("shows support access to the member's data: their grants, and staff opening what they shared", async () => {
    const staff = await createUser({ role: "support", displayName: "Sam Support" });
    const member = await createUser();
    const other = await createUser();
    const at = (offset: number) => new Date(Date.now() - 60_000 + offset * 1000);
    await prisma.auditEvent.createMany({
      data: [
        {
          actorId: member.id,
          action: "support.grant",
          targetType: "generation",
          targetId: "gen-1",
          ip: "198.51.100.90",
          after: { scope: "generation", expiresAt: at(3600).toISOString() },
          createdAt: at(1),
        },
        {
          actorId: staff.id,
          action: "support.view",
          targetType: "generation",
          targetId: "gen-1",
          ip: "10.1.1.1",
          after: { memberId: member.id },
          createdAt: at(2),
        },
        {
          actorId: staff.id,
          action: "support.file_view",
          targetType: "stored_file",
          targetId: "file-1",
          ip: "10.1.1.1",
          after: { memberId: member.id },
          createdAt: at(3),
        },
        {
          actorId: staff.id,
          action: "support.view",
          targetType: "generation",
          targetId: "gen-2",
          ip: "10.1.1.1",
          after: { memberId: other.id },
          createdAt: at(4),
        },
        { actorId: member.id, action: "support.revoke", targetType: "generation", targetId: "gen-1", createdAt: at(5) },
      ],
    });
    const page = await securityPage((await signedInCookie(member.id)).cookie);
    expect(page.events.map((event) => [event.sentence, event.ip])).toEqual([
      ["You ended support's access", null],
      ["An administrator opened a file you shared with support", null],
      ["An administrator opened a generation you shared with support", null],
      ["You let support see one generation", "198.51.100.90"],
    ]);
    expect(JSON.stringify(page)).not.toContain("Sam");
    expect((await securityPage((await signedInCookie(staff.id)).cookie)).events).toEqual([]);
    expect((await securityPage((await signedInCookie(other.id)).cookie)).events.map((event) => event.sentence)).toEqual(
      ["An administrator opened a generation you shared with support"],
    );
  });

  it("pages 25 at a time, newest first, and clamps odd page numbers", async () => {
    const user = await createUser();
    const start = Date.now() - 3_600_000;
    await prisma.auditEvent.createMany({
      data: Array.from({ length: SECURITY_EVENTS_PAGE_SIZE + 5 }, (_, i) => ({
        actorId: user.id,
        action: "account.sign_in_new_device",
        targetType: "user",
        targetId: user.id,
        ip: `192.0.2.${i}`,
        after: { method: "password", device: `Device ${i}` },
        createdAt: new Date(start + i * 1000),
      })),
    });
    const { cookie } = await signedInCookie(user.id);
    const first = await securityPage(cookie);
    expect(first).toMatchObject({ total: 30, page: 1, pageCount: 2 });
    expect(first.events).toHaveLength(25);
    expect(first.events[0]!.sentence).toBe("Signed in from a new device: Device 29");
    const second = await securityPage(cookie, "?page=2");
    expect(second.events.map((event) => event.ip)).toEqual([4, 3, 2, 1, 0].map((i) => `192.0.2.${i}`));
    expect((await securityPage(cookie, "?page=99")).page).toBe(2);
    expect((await securityPage(cookie, "?page=abc")).page).toBe(1);
    expect((await securityPage(cookie, "?page=-3")).page).toBe(1);
  });

  it("has an empty state and needs a session", async () => {
    const user = await createUser();
    const page = await securityPage((await signedInCookie(user.id)).cookie);
    expect(page).toMatchObject({ total: 0, page: 1, pageCount: 1, events: [] });
    const anonymous = await call(securityLoader, getRequest("/settings/security"));
    expect(anonymous.status).toBe(302);
    expect(anonymous.location).toMatch(/^\/login/);
  });

  it("describes every audited account action in a plain sentence", () => {
    const you = (action: string, after: object | null = null, before: object | null = null) =>
      describeSecurityEvent({ action, actor: "you", before, after } as Parameters<typeof describeSecurityEvent>[0]);
    expect(you("account.sign_in_new_device", { method: "google", device: "Safari on iOS" })).toBe(
      "Signed in with Google from a new device: Safari on iOS",
    );
    expect(you("account.password_changed")).toMatch(/^Password changed/);
    expect(you("account.password_reset")).toMatch(/^Password reset/);
    expect(you("account.email_changed", { email: "b@example.com" }, { email: "a@example.com" })).toBe(
      "Email address changed from a@example.com to b@example.com",
    );
    expect(you("account.sessions_revoked", { scope: "others", count: 2 })).toBe("Signed out every other device");
    expect(you("account.email_change_cancelled", { via: "email_link" })).toBe(
      "Email change cancelled from the link sent to the old address",
    );
    expect(you("account.email_change_cancelled", { via: "settings" })).toBe("Email change cancelled");
    expect(you("account.google_linked")).toMatch(/^Google account linked/);
    expect(describeSecurityEvent({ action: "support.something_new", actor: "staff", before: null, after: null })).toBe(
      "An administrator acted on your account (support.something_new)",
    );
  });
});
