import { describe, expect, it } from "vitest";
import { action as signupAction } from "#app/routes/signup";
import { action as verifyAction, loader as verifyLoader } from "#app/routes/verify";
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
  uniqueEmail,
} from "#tests/helpers";

function signupForm(overrides: Record<string, string> = {}) {
  return {
    email: uniqueEmail("signup"),
    password: "a long passphrase 123",
    displayName: "Amina",
    country: "CM",
    phone: "6 71 23 45 67",
    ageConfirmed: "on",
    termsAccepted: "on",
    ...overrides,
  };
}

async function signup(form: Record<string, string>, ip = "198.51.100.1") {
  return call(signupAction, postRequest("/signup", form), {}, context(ip));
}

describe("sign-up", () => {
  it("creates an unverified member with an Argon2id password, E.164 phone, and emails a code and link", async () => {
    const form = signupForm({ email: "  New.Person@Example.COM " });
    const result = await signup(form);
    expect(result.status).toBe(302);
    expect(result.location).toBe("/verify");
    const user = await prisma.user.findUniqueOrThrow({
      where: { email: "new.person@example.com" },
      include: { password: true },
    });
    expect(user.emailVerifiedAt).toBeNull();
    expect(user.phone).toBe("+237671234567");
    expect(user.role).toBe("member");
    expect(user.password?.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const email = await latestOutboxEmail("new.person@example.com", "verification");
    expect(extractCode(email!.text)).toMatch(/^\d{8}$/);
    expect(extractLink(email!.text)).toMatch(/\/verify\?token=[a-z2-7]+$/);
    // Only hashes are stored: neither the code nor the link token appears in the table.
    const rows = await prisma.emailVerification.findMany({ where: { userId: user.id } });
    expect(JSON.stringify(rows)).not.toContain(extractCode(email!.text)!);
  });

  it.each([
    [{ email: "not-an-email" }, "email", "Enter a valid email address"],
    [{ password: "short" }, "password", "at least 8"],
    [{ password: "x".repeat(129) }, "password", "at most 128"],
    [{ password: "password123" }, "password", "too common"],
    [{ displayName: "" }, "displayName", "Enter your name"],
    [{ country: "ZZ" }, "country", "Choose your country"],
    [{ phone: "12" }, "phone", "valid phone"],
    [{ ageConfirmed: "" }, "ageConfirmed", "at least 13"],
    [{ termsAccepted: "" }, "termsAccepted", "accept the terms"],
  ])("refuses %o with a message on the %s field and creates nothing", async (override, field, message) => {
    const form = signupForm(override);
    const result = await signup(form);
    expect(result.status).toBe(400);
    const reply = result.data as { error: Record<string, string[]>; initialValue: Record<string, unknown> };
    expect(reply.error[field]?.join(" ")).toContain(message);
    expect(reply.initialValue.password).toBeUndefined();
    expect(await prisma.user.count({ where: { email: form.email.toLowerCase() } })).toBe(0);
  });

  it("answers a duplicate address exactly like a new one and emails the owner instead", async () => {
    const existing = await createUser({ email: uniqueEmail("taken") });
    const before = await prisma.user.count();
    const result = await signup(signupForm({ email: existing.email.toUpperCase() }));
    expect(result.status).toBe(302);
    expect(result.location).toBe("/verify");
    expect(await prisma.user.count()).toBe(before);
    const email = await latestOutboxEmail(existing.email);
    expect(email?.tag).toBe("account-exists");
    expect(extractCode(email!.text)).toBeNull();
  });

  it("is rate limited per IP", async () => {
    const ip = "198.51.100.77";
    for (let i = 0; i < 10; i += 1) expect((await signup(signupForm(), ip)).status).toBe(302);
    const limited = await signup(signupForm(), ip);
    expect(limited.status).toBe(429);
    expect(JSON.stringify(limited.data)).toContain("Too many attempts");
  });
});

describe("email verification", () => {
  async function signedUp() {
    const form = signupForm();
    const result = await signup(form);
    const cookie = cookieFrom(result.headers);
    const email = await latestOutboxEmail(form.email, "verification");
    return { form, cookie, code: extractCode(email!.text)!, link: extractLink(email!.text)! };
  }

  it("verifies with the emailed code, signs the member in, and the code works once", async () => {
    const { form, cookie, code } = await signedUp();
    const page = await call(verifyLoader, getRequest("/verify", { cookie }));
    expect((page.data as { email: string }).email).toBe(form.email);
    const result = await call(verifyAction, postRequest("/verify", { intent: "verify", code }, { cookie }));
    expect(result.status).toBe(302);
    expect(result.location).toBe("/?verified=1");
    expect(cookieFrom(result.headers, "session")).toMatch(/^session=[a-z2-7]{32}$/);
    const user = await prisma.user.findUniqueOrThrow({ where: { email: form.email } });
    expect(user.emailVerifiedAt).not.toBeNull();
    const again = await call(verifyAction, postRequest("/verify", { intent: "verify", code }, { cookie }));
    expect(again.status).toBe(400);
  });

  it("locks the code after five wrong tries, even if the sixth is right", async () => {
    const { form, cookie, code } = await signedUp();
    const wrong = code === "00000000" ? "11111111" : "00000000";
    for (let i = 0; i < 5; i += 1) {
      const result = await call(verifyAction, postRequest("/verify", { intent: "verify", code: wrong }, { cookie }));
      expect(result.status).toBe(400);
    }
    const result = await call(verifyAction, postRequest("/verify", { intent: "verify", code }, { cookie }));
    expect(result.status).toBe(400);
    expect(JSON.stringify(result.data)).toMatch(/not right|Too many wrong codes/);
    expect((await prisma.user.findUniqueOrThrow({ where: { email: form.email } })).emailVerifiedAt).toBeNull();
  });

  it("refuses an expired code", async () => {
    const { form, cookie, code } = await signedUp();
    await prisma.emailVerification.updateMany({
      where: { email: form.email },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const result = await call(verifyAction, postRequest("/verify", { intent: "verify", code }, { cookie }));
    expect(result.status).toBe(400);
    expect(JSON.stringify(result.data)).toContain("expired");
  });

  it("refuses malformed codes before checking anything", async () => {
    const { cookie } = await signedUp();
    const result = await call(verifyAction, postRequest("/verify", { intent: "verify", code: "12ab" }, { cookie }));
    expect(result.status).toBe(400);
    expect(JSON.stringify(result.data)).toContain("8 digits");
  });

  it("the link opens a confirm page (GET changes nothing); its POST verifies once and signs in this browser", async () => {
    const { form, cookie, link } = await signedUp();
    const url = new URL(link);
    const page = await call(verifyLoader, getRequest(url.pathname + url.search));
    expect(page.status).toBe(200);
    expect((await prisma.user.findUniqueOrThrow({ where: { email: form.email } })).emailVerifiedAt).toBeNull();
    const token = url.searchParams.get("token")!;
    const result = await call(verifyAction, postRequest("/verify", { intent: "link", token }, { cookie }));
    expect(result.status).toBe(302);
    expect(cookieFrom(result.headers, "session")).toMatch(/^session=/);
    expect((await prisma.user.findUniqueOrThrow({ where: { email: form.email } })).emailVerifiedAt).not.toBeNull();
    const reused = await call(verifyLoader, getRequest(url.pathname + url.search));
    expect(reused.status).toBe(400);
    expect((reused.data as { linkError: string }).linkError).toMatch(/already used/);
  });

  it("an older code stops working when a new one is sent; resend has a cooldown", async () => {
    const { form, code } = await signedUp();
    const user = await prisma.user.findUniqueOrThrow({ where: { email: form.email } });
    // Sign in (unverified members may) to ask for another code.
    const { signedInCookie } = await import("#tests/helpers");
    const { cookie } = await signedInCookie(user.id);
    const tooSoon = await call(verifyAction, postRequest("/verify", { intent: "resend" }, { cookie }));
    expect(tooSoon.status).toBe(429);
    await prisma.emailVerification.updateMany({
      where: { userId: user.id },
      data: { createdAt: new Date(Date.now() - 120_000) },
    });
    const resent = await call(verifyAction, postRequest("/verify", { intent: "resend" }, { cookie }));
    expect(resent.status).toBe(200);
    const newCode = extractCode((await latestOutboxEmail(form.email, "verification"))!.text)!;
    if (newCode !== code) {
      const old = await call(verifyAction, postRequest("/verify", { intent: "verify", code }, { cookie }));
      expect(old.status).toBe(400);
    }
    const ok = await call(verifyAction, postRequest("/verify", { intent: "verify", code: newCode }, { cookie }));
    expect(ok.status).toBe(302);
  });
});
