import { describe, expect, it } from "vitest";
import { CONTACT_LIMITS } from "#app/models/contact.server";
import { action, loader } from "#app/routes/contact";
import { prisma } from "#app/utils/db.server";
import {
  call,
  context,
  createUser,
  getRequest,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
  uniqueEmail,
} from "#tests/helpers";

type Reply = { result: { status?: string; error?: Record<string, string[] | null> }; sent: boolean };

let ipCounter = 0;
/** A fresh client address per test, so rate limits from one test never reach another. */
function freshIp() {
  ipCounter += 1;
  return `198.51.100.${ipCounter}`;
}

function form(overrides: Record<string, string> = {}) {
  return {
    name: "Amina",
    email: uniqueEmail("contact"),
    subject: "Question about a mobile money top-up",
    message: "My top-up reference is MP240312.1405.A12345 and it has not arrived yet. SECRET-BODY-MARKER",
    ...overrides,
  };
}

async function send(values: Record<string, string>, ip = freshIp(), cookie?: string) {
  const result = await call(action, postRequest("/contact", values, { cookie }), {}, context(ip));
  return { ...result, reply: result.data as Reply };
}

describe("contact form", () => {
  it("stores a valid message and acknowledges it by email with the subject but not the message", async () => {
    const values = form();
    const ip = freshIp();
    const result = await send(values, ip);
    expect(result.status).toBe(200);
    expect(result.reply.sent).toBe(true);

    const stored = await prisma.contactMessage.findMany({ where: { email: values.email } });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      name: "Amina",
      subject: values.subject,
      message: values.message,
      ip,
      userId: null,
      handledAt: null,
    });

    const email = await latestOutboxEmail(values.email, "contact-received");
    expect(email).not.toBeNull();
    expect(email!.text).toContain(values.subject);
    expect(email!.html).toContain("Question about a mobile money top-up");
    for (const part of [email!.text, email!.html, email!.subject]) {
      expect(part).not.toContain("SECRET-BODY-MARKER");
      expect(part).not.toContain("MP240312.1405.A12345");
    }
  });

  it("prefills name and email for a signed-in member and links the message to them", async () => {
    const user = await createUser({ displayName: "Kofi Mensah" });
    const { cookie } = await signedInCookie(user.id);
    const page = await call(loader, getRequest("/contact", { cookie }));
    expect(page.data).toEqual({ member: { name: "Kofi Mensah", email: user.email } });
    expect((await call(loader, getRequest("/contact"))).data).toEqual({ member: null });

    const result = await send(form({ name: "Kofi Mensah", email: user.email }), freshIp(), cookie);
    expect(result.status).toBe(200);
    const stored = await prisma.contactMessage.findFirstOrThrow({ where: { email: user.email } });
    expect(stored.userId).toBe(user.id);
  });

  it.each([
    ["an invalid email", { email: "not-an-email" }, "email"],
    ["an empty name", { name: "  " }, "name"],
    ["an empty subject", { subject: "" }, "subject"],
    ["an empty message", { message: "   " }, "message"],
    ["a message over 5,000 characters", { message: "x".repeat(5_001) }, "message"],
  ])("refuses %s with a field error and stores nothing", async (_label, override, field) => {
    const values = form(override);
    const result = await send(values);
    expect(result.status).toBe(400);
    expect(result.reply.sent).toBe(false);
    expect(Object.keys(result.reply.result.error ?? {})).toEqual([field]);
    expect(result.reply.result.error?.[field]?.[0]).toBeTruthy();
    expect(await prisma.contactMessage.count({ where: { email: values.email } })).toBe(0);
    if (field !== "email") expect(await latestOutboxEmail(values.email)).toBeNull();
  });

  it("accepts a message of exactly 5,000 characters", async () => {
    const values = form({ message: "y".repeat(5_000) });
    expect((await send(values)).status).toBe(200);
    expect(await prisma.contactMessage.count({ where: { email: values.email } })).toBe(1);
  });

  it(`allows ${CONTACT_LIMITS.perIp.limit} messages an hour from one IP, then refuses with the wait time`, async () => {
    const ip = freshIp();
    for (let index = 0; index < CONTACT_LIMITS.perIp.limit; index += 1) {
      expect((await send(form(), ip)).status).toBe(200);
    }
    const sixth = form();
    const refused = await send(sixth, ip);
    expect(refused.status).toBe(429);
    expect(refused.reply.sent).toBe(false);
    const message = (refused.reply.result.error?.[""] ?? []).join(" ");
    expect(message).toMatch(/try again in (60|59) minutes/i);
    expect(await prisma.contactMessage.count({ where: { email: sixth.email } })).toBe(0);
    expect(await prisma.contactMessage.count({ where: { ip } })).toBe(CONTACT_LIMITS.perIp.limit);
    // Another address is not affected.
    expect((await send(form(), freshIp())).status).toBe(200);
  });

  it("also limits messages for one email address, whatever the IP", async () => {
    const email = uniqueEmail("busy");
    for (let index = 0; index < CONTACT_LIMITS.perEmail.limit; index += 1) {
      expect((await send(form({ email }), freshIp())).status).toBe(200);
    }
    expect((await send(form({ email: email.toUpperCase() }), freshIp())).status).toBe(429);
    expect(await prisma.contactMessage.count({ where: { email } })).toBe(CONTACT_LIMITS.perEmail.limit);
  });
});
