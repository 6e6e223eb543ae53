import { describe, expect, it } from "vitest";
import { loader as resetLoader } from "#app/routes/reset-password";
import { action as signupAction } from "#app/routes/signup";
import { action as verifyAction, loader as verifyLoader } from "#app/routes/verify";
import { prisma } from "#app/utils/db.server";
import { extractLink } from "#tests/fakes/email-helpers";
import {
  BASE_URL,
  call,
  context,
  cookieFrom,
  createUser,
  getRequest,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
  uniqueEmail,
} from "#tests/helpers";

// Item 12: a link in an email that changes state does nothing on GET or HEAD (mail scanners open every
// link; a stranger can make a browser open one). The page shows a button; only its POST acts.

/** Everything a link could change for this member: the address, proofs, sessions, resets. */
async function accountState(userId: string) {
  const [user, proofs, sessions, resets] = await Promise.all([
    prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { email: true, emailVerifiedAt: true } }),
    prisma.emailVerification.findMany({ where: { userId }, orderBy: { id: "asc" } }),
    prisma.session.findMany({ where: { userId }, orderBy: { id: "asc" }, select: { id: true } }),
    prisma.passwordReset.findMany({ where: { userId }, orderBy: { tokenHash: "asc" } }),
  ]);
  return { user, proofs, sessions, resets };
}

function headRequest(path: string, cookie?: string) {
  return new Request(BASE_URL + path, { method: "HEAD", headers: cookie ? { cookie } : {} });
}

async function signUp() {
  const email = uniqueEmail("linked");
  const form = {
    email,
    password: "a long passphrase 123",
    displayName: "Amina",
    country: "CM",
    ageConfirmed: "on",
    termsAccepted: "on",
  };
  const result = await call(signupAction, postRequest("/signup", form), {}, context("198.51.100.60"));
  const link = new URL(extractLink((await latestOutboxEmail(email, "verification"))!.text)!);
  const user = await prisma.user.findUniqueOrThrow({ where: { email } });
  return {
    user,
    pendingCookie: cookieFrom(result.headers),
    path: link.pathname + link.search,
    token: link.searchParams.get("token")!,
  };
}

describe("the sign-up confirmation link", () => {
  it("GET and HEAD show a confirm button and change nothing (no verification, no session)", async () => {
    const { user, path } = await signUp();
    const before = await accountState(user.id);
    const page = await call(verifyLoader, getRequest(path));
    expect(page.status).toBe(200);
    expect(page.data).toMatchObject({ link: { purpose: "signup", email: user.email } });
    expect(page.headers.getSetCookie()).toEqual([]);
    const head = await call(verifyLoader, headRequest(path));
    expect(head.headers.getSetCookie()).toEqual([]);
    expect(await accountState(user.id)).toEqual(before);
    expect(before.user.emailVerifiedAt).toBeNull();
  });

  it("the POST verifies, once, and signs in the browser that signed up", async () => {
    const { user, pendingCookie, token } = await signUp();
    const result = await call(
      verifyAction,
      postRequest("/verify", { intent: "link", token }, { cookie: pendingCookie }),
    );
    expect(result.status).toBe(302);
    expect(result.location).toBe("/?verified=1");
    expect(cookieFrom(result.headers, "session")).toMatch(/^session=[a-z2-7]{32}$/);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).not.toBeNull();
    const again = await call(
      verifyAction,
      postRequest("/verify", { intent: "link", token }, { cookie: pendingCookie }),
    );
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.data)).toMatch(/already used/);
  });

  it("opened in another browser (or a stranger's), it verifies but signs nobody in: no login CSRF", async () => {
    const { user, token } = await signUp();
    const victim = await createUser();
    const { cookie: victimCookie } = await signedInCookie(victim.id);
    const asVictim = await call(
      verifyAction,
      postRequest("/verify", { intent: "link", token }, { cookie: victimCookie }),
    );
    expect(asVictim.status).toBe(302);
    expect(cookieFrom(asVictim.headers, "session")).toBe("");
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(0);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).not.toBeNull();

    const other = await signUp();
    const anonymous = await call(verifyAction, postRequest("/verify", { intent: "link", token: other.token }));
    expect(anonymous.status).toBe(302);
    expect(anonymous.location).toBe("/login?verified=1");
    expect(cookieFrom(anonymous.headers, "session")).toBe("");
    expect(await prisma.session.count({ where: { userId: other.user.id } })).toBe(0);
  });

  it("an unknown, used or expired token gets a clear 400 page, on GET and on POST", async () => {
    const { user, token, path } = await signUp();
    const made = await call(verifyLoader, getRequest("/verify?token=not-a-real-token"));
    expect(made.status).toBe(400);
    expect(JSON.stringify(made.data)).toMatch(/does not work|already used|not right/);
    await prisma.emailVerification.updateMany({
      where: { userId: user.id },
      data: { expiresAt: new Date(Date.now() - 1) },
    });
    const expired = await call(verifyLoader, getRequest(path));
    expect(expired.status).toBe(400);
    expect(JSON.stringify(expired.data)).toContain("expired");
    const posted = await call(verifyAction, postRequest("/verify", { intent: "link", token }));
    expect(posted.status).toBe(400);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).emailVerifiedAt).toBeNull();
  });
});

describe("the password reset link", () => {
  it("GET and HEAD only show the form: the token stays usable", async () => {
    const user = await createUser();
    const { requestPasswordReset } = await import("#app/models/account.server");
    await requestPasswordReset(user.email);
    const link = new URL(extractLink((await latestOutboxEmail(user.email, "password-reset"))!.text)!);
    const before = await accountState(user.id);
    await call(resetLoader, getRequest(link.pathname + link.search));
    await call(resetLoader, headRequest(link.pathname + link.search));
    expect(await accountState(user.id)).toEqual(before);
    expect(before.resets.every((reset) => reset.usedAt === null)).toBe(true);
  });
});
