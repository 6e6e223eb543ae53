import { describe, expect, it } from "vitest";
import { action as emailAction, loader as emailLoader } from "#app/routes/settings.email";
import { action as profileAction, loader as profileLoader } from "#app/routes/settings._index";
import { action as passwordAction } from "#app/routes/settings.password";
import { action as sessionsAction, loader as sessionsLoader } from "#app/routes/settings.sessions";
import { action as verifyAction } from "#app/routes/verify";
import { prisma } from "#app/utils/db.server";
import { extractCode, extractLink } from "#tests/fakes/email-helpers";
import {
  call,
  createUser,
  getRequest,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
  TEST_PASSWORD,
  uniqueEmail,
} from "#tests/helpers";

describe("settings: profile", () => {
  it("saves name, country and phone (stored as E.164) for the signed-in member only", async () => {
    const user = await createUser();
    const other = await createUser({ displayName: "Someone Else" });
    const { cookie } = await signedInCookie(user.id);
    const result = await call(
      profileAction,
      postRequest("/settings?index", { displayName: "Amina K.", country: "KE", phone: "0712 345678" }, { cookie }),
    );
    expect(result.status).toBe(200);
    const saved = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(saved).toMatchObject({ displayName: "Amina K.", country: "KE", phone: "+254712345678" });
    expect((await prisma.user.findUniqueOrThrow({ where: { id: other.id } })).displayName).toBe("Someone Else");
    const page = await call(profileLoader, getRequest("/settings", { cookie }));
    expect((page.data as { profile: unknown }).profile).toEqual({
      email: user.email,
      displayName: "Amina K.",
      country: "KE",
      phone: "+254712345678",
    });
    // The other member's page shows their own profile.
    const { cookie: otherCookie } = await signedInCookie(other.id);
    const otherPage = await call(profileLoader, getRequest("/settings", { cookie: otherCookie }));
    expect((otherPage.data as { profile: { displayName: string; phone: string } }).profile).toMatchObject({
      displayName: "Someone Else",
      phone: "",
    });
  });

  it("re-renders field errors and changes nothing on bad input", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const result = await call(
      profileAction,
      postRequest("/settings?index", { displayName: "<b>x</b>", country: "XX", phone: "abc" }, { cookie }),
    );
    expect(result.status).toBe(400);
    const errors = (result.data as { result: { error: Record<string, string[]> } }).result.error;
    expect(Object.keys(errors).sort()).toEqual(["country", "displayName"]);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).displayName).toBe("Test Member");
  });

  it("requires a session", async () => {
    const result = await call(profileAction, postRequest("/settings?index", { displayName: "x", country: "CM" }));
    expect(result.status).toBe(302);
    expect(result.location).toMatch(/^\/login/);
  });
});

describe("settings: password", () => {
  it("needs the current password, then ends every other session but this one", async () => {
    const user = await createUser();
    const here = await signedInCookie(user.id, "laptop");
    const elsewhere = await signedInCookie(user.id, "phone");
    const form = {
      currentPassword: "wrong password",
      newPassword: "a brand new passphrase",
      confirm: "a brand new passphrase",
    };
    const refused = await call(passwordAction, postRequest("/settings/password", form, { cookie: here.cookie }));
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.data)).toContain("not your current password");
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(2);

    const ok = await call(
      passwordAction,
      postRequest("/settings/password", { ...form, currentPassword: TEST_PASSWORD }, { cookie: here.cookie }),
    );
    expect(ok.status).toBe(200);
    const remaining = await prisma.session.findMany({ where: { userId: user.id } });
    expect(remaining.map((session) => session.id)).toEqual([here.sessionId]);
    expect(await prisma.session.findUnique({ where: { id: elsewhere.sessionId } })).toBeNull();
    expect(await latestOutboxEmail(user.email, "password-changed")).not.toBeNull();
  });
});

describe("settings: email change", () => {
  it("re-authenticates, proves the new address with a code, then switches and tells the old address", async () => {
    const user = await createUser();
    const newEmail = uniqueEmail("moved");
    const { cookie } = await signedInCookie(user.id);
    const badPassword = await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail, password: "nope" }, { cookie }),
    );
    expect(badPassword.status).toBe(400);
    expect(await latestOutboxEmail(newEmail)).toBeNull();

    const requested = await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail, password: TEST_PASSWORD }, { cookie }),
    );
    expect(requested.status).toBe(200);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).email).toBe(user.email);
    const page = await call(emailLoader, getRequest("/settings/email", { cookie }));
    expect((page.data as { pendingEmail: string }).pendingEmail).toBe(newEmail);

    const code = extractCode((await latestOutboxEmail(newEmail, "email-change"))!.text)!;
    const confirmed = await call(emailAction, postRequest("/settings/email", { intent: "confirm", code }, { cookie }));
    expect(confirmed.status).toBe(302);
    const after = await prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.email).toBe(newEmail);
    const notice = await latestOutboxEmail(user.email, "email-changed");
    expect(notice?.text).not.toContain(newEmail);
  });

  it("also confirms by link, and never moves onto an address another account took meanwhile", async () => {
    const user = await createUser();
    const target = uniqueEmail("race");
    const { cookie } = await signedInCookie(user.id);
    await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail: target, password: TEST_PASSWORD }, { cookie }),
    );
    const link = new URL(extractLink((await latestOutboxEmail(target, "email-change"))!.text)!);
    await createUser({ email: target });
    const result = await call(
      verifyAction,
      postRequest("/verify", { intent: "link", token: link.searchParams.get("token")! }, { cookie }),
    );
    expect(result.status).toBe(400);
    expect((result.data as { linkError: string }).linkError).toContain("another account");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).email).toBe(user.email);
  });

  it("does not reveal that an address is taken", async () => {
    const user = await createUser();
    const taken = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const result = await call(
      emailAction,
      postRequest("/settings/email", { intent: "request", newEmail: taken.email, password: TEST_PASSWORD }, { cookie }),
    );
    expect(result.status).toBe(200);
    expect(await latestOutboxEmail(taken.email, "email-change")).toBeNull();
  });
});

describe("settings: sessions", () => {
  it("lists the member's sessions with device and IP, and signs one out", async () => {
    const user = await createUser();
    const here = await signedInCookie(user.id, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120");
    const phone = await signedInCookie(user.id, "Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile");
    const page = await call(sessionsLoader, getRequest("/settings/sessions", { cookie: here.cookie }));
    const sessions = (page.data as { sessions: { id: string; current: boolean; device: string; ip: string }[] })
      .sessions;
    expect(sessions).toHaveLength(2);
    expect(sessions.find((session) => session.current)?.device).toBe("Chrome on Linux");
    expect(sessions.find((session) => !session.current)).toMatchObject({
      device: "Chrome on Android",
      ip: "203.0.113.9",
    });

    const result = await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke", sessionId: phone.sessionId }, { cookie: here.cookie }),
    );
    expect(result.status).toBe(200);
    expect(await prisma.session.findUnique({ where: { id: phone.sessionId } })).toBeNull();
  });

  it("answers 404 for another member's session and leaves it alone", async () => {
    const user = await createUser();
    const victim = await createUser();
    const here = await signedInCookie(user.id);
    const theirs = await signedInCookie(victim.id);
    const result = await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke", sessionId: theirs.sessionId }, { cookie: here.cookie }),
    );
    expect(result.status).toBe(404);
    expect(await prisma.session.findUnique({ where: { id: theirs.sessionId } })).not.toBeNull();
  });

  it("signs out everywhere else", async () => {
    const user = await createUser();
    const here = await signedInCookie(user.id);
    await signedInCookie(user.id);
    await signedInCookie(user.id);
    await call(sessionsAction, postRequest("/settings/sessions", { intent: "revoke-others" }, { cookie: here.cookie }));
    expect((await prisma.session.findMany({ where: { userId: user.id } })).map((session) => session.id)).toEqual([
      here.sessionId,
    ]);
  });

  it("refuses malformed requests", async () => {
    const user = await createUser();
    const here = await signedInCookie(user.id);
    const result = await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke", sessionId: "../../etc" }, { cookie: here.cookie }),
    );
    expect(result.status).toBe(400);
  });
});
