import { describe, expect, it } from "vitest";
import { action as cancelAction, loader as cancelLoader } from "#app/routes/cancel-email-change";
import { action as forgotAction } from "#app/routes/forgot-password";
import { action as loginAction } from "#app/routes/login";
import { action as emailAction, loader as emailLoader } from "#app/routes/settings.email";
import { action as passwordAction } from "#app/routes/settings.password";
import { action as sessionsAction } from "#app/routes/settings.sessions";
import { action as verifyAction, loader as verifyLoader } from "#app/routes/verify";
import { maskEmail } from "#emails/mask";
import { prisma } from "#app/utils/db.server";
import { extractCode, extractLink } from "#tests/fakes/email-helpers";
import {
  BASE_URL,
  call,
  context,
  createUser,
  getRequest,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
  TEST_PASSWORD,
  uniqueEmail,
} from "#tests/helpers";

// Item 8: an email change someone else started (with a stolen password or session) must not outlive the
// member taking their account back, must be visible to the old address, and must need the member's session.

async function requestChange(cookie: string, newEmail = uniqueEmail("attacker")) {
  const result = await call(
    emailAction,
    postRequest("/settings/email", { intent: "request", newEmail, password: TEST_PASSWORD }, { cookie }),
  );
  expect(result.status).toBe(200);
  const mail = (await latestOutboxEmail(newEmail, "email-change"))?.text ?? "";
  const link = mail ? new URL(extractLink(mail)!) : null;
  return { newEmail, code: extractCode(mail), linkToken: link?.searchParams.get("token") ?? null };
}

async function confirmByCode(cookie: string, code: string) {
  return call(emailAction, postRequest("/settings/email", { intent: "confirm", code }, { cookie }));
}

async function confirmByLink(token: string, cookie?: string) {
  return call(verifyAction, postRequest("/verify", { intent: "link", token }, cookie ? { cookie } : {}));
}

async function currentEmail(userId: string) {
  return (await prisma.user.findUniqueOrThrow({ where: { id: userId } })).email;
}

async function pendingProofs(userId: string) {
  return prisma.emailVerification.count({ where: { userId, purpose: "email_change", consumedAt: null } });
}

describe("a pending email change is cancelled when the member takes the account back", () => {
  it("by changing the password: neither the code nor the link works afterwards", async () => {
    const user = await createUser();
    const attacker = await signedInCookie(user.id, "attacker");
    const member = await signedInCookie(user.id, "member");
    const change = await requestChange(attacker.cookie);
    const changed = await call(
      passwordAction,
      postRequest(
        "/settings/password",
        {
          currentPassword: TEST_PASSWORD,
          newPassword: "the member's new passphrase",
          confirm: "the member's new passphrase",
        },
        { cookie: member.cookie },
      ),
    );
    expect(changed.status).toBe(200);
    expect(await pendingProofs(user.id)).toBe(0);
    expect((await confirmByCode(member.cookie, change.code!)).status).toBe(400);
    expect((await confirmByLink(change.linkToken!, member.cookie)).status).toBe(400);
    expect(await currentEmail(user.id)).toBe(user.email);
  });

  it("by signing out everywhere else", async () => {
    const user = await createUser();
    const attacker = await signedInCookie(user.id, "attacker");
    const member = await signedInCookie(user.id, "member");
    const change = await requestChange(attacker.cookie);
    await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke-others" }, { cookie: member.cookie }),
    );
    expect(await pendingProofs(user.id)).toBe(0);
    expect((await confirmByLink(change.linkToken!, member.cookie)).status).toBe(400);
    expect((await confirmByCode(member.cookie, change.code!)).status).toBe(400);
    expect(await currentEmail(user.id)).toBe(user.email);
  });

  it("pending password reset links die with a password change or a sign-out everywhere", async () => {
    const user = await createUser();
    const member = await signedInCookie(user.id);
    const resetCount = async () => prisma.passwordReset.count({ where: { userId: user.id, usedAt: null } });
    await call(forgotAction, postRequest("/forgot-password", { email: user.email }), {}, context("192.0.2.61"));
    expect(await resetCount()).toBe(1);
    await call(
      sessionsAction,
      postRequest("/settings/sessions", { intent: "revoke-others" }, { cookie: member.cookie }),
    );
    expect(await resetCount()).toBe(0);

    await call(forgotAction, postRequest("/forgot-password", { email: user.email }), {}, context("192.0.2.62"));
    expect(await resetCount()).toBe(1);
    await call(
      passwordAction,
      postRequest(
        "/settings/password",
        {
          currentPassword: TEST_PASSWORD,
          newPassword: "another fresh passphrase",
          confirm: "another fresh passphrase",
        },
        { cookie: member.cookie },
      ),
    );
    expect(await resetCount()).toBe(0);
  });
});

describe("the old address hears about a requested change and can cancel it in one click", () => {
  it("gets a notice with the new address masked and a cancel link: GET/HEAD change nothing, POST cancels", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const change = await requestChange(cookie);
    const notice = await latestOutboxEmail(user.email, "email-change-requested");
    expect(notice).not.toBeNull();
    expect(notice!.text).toContain(maskEmail(change.newEmail));
    expect(notice!.text).not.toContain(change.newEmail);
    const cancel = new URL(/https?:\/\/[^\s\])]+\/cancel-email-change\?token=[a-z2-7]+/.exec(notice!.text)![0]);
    expect(cancel.pathname).toBe("/cancel-email-change");
    const cancelToken = cancel.searchParams.get("token")!;
    // Single purpose: the cancel token is not the confirmation token, and it is stored only as a hash.
    expect(cancelToken).not.toBe(change.linkToken);
    expect(JSON.stringify(await prisma.emailVerification.findMany({ where: { userId: user.id } }))).not.toContain(
      cancelToken,
    );

    const page = await call(cancelLoader, getRequest(cancel.pathname + cancel.search));
    expect(page.status).toBe(200);
    expect(page.data).toMatchObject({ state: "pending", newEmail: maskEmail(change.newEmail) });
    await call(cancelLoader, new Request(BASE_URL + cancel.pathname + cancel.search, { method: "HEAD" }));
    expect(await pendingProofs(user.id)).toBe(1);

    // No session needed: the old mailbox is the proof.
    const cancelled = await call(cancelAction, postRequest("/cancel-email-change", { token: cancelToken }));
    expect(cancelled.status).toBe(200);
    expect(cancelled.data).toMatchObject({ cancelled: true });
    expect(await pendingProofs(user.id)).toBe(0);
    expect((await confirmByLink(change.linkToken!, cookie)).status).toBe(400);
    expect((await confirmByCode(cookie, change.code!)).status).toBe(400);
    expect(await currentEmail(user.id)).toBe(user.email);
    const events = await prisma.auditEvent.findMany({
      where: { targetId: user.id, action: "account.email_change_cancelled" },
    });
    expect(events).toHaveLength(1);

    const bogus = await call(cancelAction, postRequest("/cancel-email-change", { token: "made-up" }));
    expect(bogus.status).toBe(400);
    const reused = await call(cancelAction, postRequest("/cancel-email-change", { token: cancelToken }));
    expect(reused.status).toBe(400);
  });

  it("is told even when the new address belongs to another account (which gets no code)", async () => {
    const user = await createUser();
    const taken = await createUser();
    const { cookie } = await signedInCookie(user.id);
    await requestChange(cookie, taken.email);
    expect(await latestOutboxEmail(taken.email, "email-change")).toBeNull();
    expect((await latestOutboxEmail(user.email, "email-change-requested"))?.text).toContain(maskEmail(taken.email));
  });

  it("the member can also cancel from Settings → Email", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const change = await requestChange(cookie);
    const result = await call(emailAction, postRequest("/settings/email", { intent: "cancel" }, { cookie }));
    expect(result.status).toBe(200);
    expect(await pendingProofs(user.id)).toBe(0);
    const page = await call(emailLoader, getRequest("/settings/email", { cookie }));
    expect((page.data as { pendingEmail: string | null }).pendingEmail).toBeNull();
    expect((await confirmByCode(cookie, change.code!)).status).toBe(400);
  });
});

describe("confirming the new address needs the member's own session", () => {
  it("signed out, the link sends the browser to sign in and back, keeping the token; nothing changes before", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const change = await requestChange(cookie);
    const path = `/verify?token=${change.linkToken}`;

    const opened = await call(verifyLoader, getRequest(path));
    expect(opened.status).toBe(302);
    expect(opened.location).toBe(`/login?redirectTo=${encodeURIComponent(path)}`);
    const posted = await confirmByLink(change.linkToken!);
    expect(posted.status).toBe(302);
    expect(posted.location).toBe(`/login?redirectTo=${encodeURIComponent(path)}`);
    expect(await pendingProofs(user.id)).toBe(1);
    expect(await currentEmail(user.id)).toBe(user.email);

    const signedIn = await call(
      loginAction,
      postRequest("/login", { email: user.email, password: TEST_PASSWORD, redirectTo: path }),
      {},
      context("192.0.2.70"),
    );
    expect(signedIn.location).toBe(path);
    const sessionCookie = signedIn.headers.getSetCookie()[0]!.split(";")[0]!;
    const page = await call(verifyLoader, getRequest(path, { cookie: sessionCookie }));
    expect(page.status).toBe(200);
    expect(page.data).toMatchObject({ link: { purpose: "email_change", email: change.newEmail } });
    expect(await pendingProofs(user.id)).toBe(1);

    const confirmed = await confirmByLink(change.linkToken!, sessionCookie);
    expect(confirmed.status).toBe(302);
    expect(confirmed.location).toBe("/settings?emailChanged=1");
    expect(await currentEmail(user.id)).toBe(change.newEmail);
  });

  it("opened in another member's session, it is refused and the change stays pending for its owner", async () => {
    const user = await createUser();
    const other = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const { cookie: otherCookie } = await signedInCookie(other.id);
    const change = await requestChange(cookie);

    const page = await call(verifyLoader, getRequest(`/verify?token=${change.linkToken}`, { cookie: otherCookie }));
    expect(page.status).toBe(403);
    const refused = await confirmByLink(change.linkToken!, otherCookie);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.data)).toContain("another account");
    expect(await currentEmail(user.id)).toBe(user.email);
    expect(await currentEmail(other.id)).toBe(other.email);
    expect(await pendingProofs(user.id)).toBe(1);

    expect((await confirmByLink(change.linkToken!, cookie)).status).toBe(302);
    expect(await currentEmail(user.id)).toBe(change.newEmail);
  });
});
