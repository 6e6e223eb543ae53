import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";

// Staff answer contact messages from the inbox: the reply is stored, marks the message handled, is audited
// and its email queued, together; the email then goes out through the real Resend client to a local fake of
// Resend's API (retried while the provider is down).
const setup = await vi.hoisted(async () => {
  const { startFakeResend } = await import("../fakes/resend-server");
  const resend = await startFakeResend();
  process.env.RESEND_API_KEY = "re_test_contact_reply";
  process.env.RESEND_BASE_URL = resend.url;
  return { resend };
});

import { submitContactMessage } from "#app/models/contact.server";
import { action, loader } from "#app/routes/admin.contact";
import { prisma } from "#app/utils/db.server";
import {
  call,
  context,
  createUser,
  deliverQueuedEmails,
  getRequest,
  postRequest,
  signedInCookie,
  uniqueEmail,
} from "#tests/helpers";

const { resend } = setup;
afterAll(async () => {
  await resend.close();
});
beforeEach(() => {
  resend.requests.length = 0;
});

/** Replies sent to `address` (the acknowledgement of the message itself goes to the same address). */
const sentTo = (address: string) =>
  resend.requests.filter(
    (request) =>
      request.path === "/emails" &&
      [request.body?.to].flat().includes(address) &&
      String(request.body?.subject).startsWith("Re: "),
  );

async function message(subject: string) {
  const email = uniqueEmail("visitor");
  const row = await submitContactMessage({
    userId: null,
    name: "Vera Visitor",
    email,
    subject,
    message: "My secret question text",
    ip: null,
  });
  return { id: row.id, email };
}

async function staff(role: "admin" | "support" = "admin") {
  const user = await createUser({ role, displayName: role === "admin" ? "Ada Admin" : "Sam Support" });
  return { user, cookie: (await signedInCookie(user.id)).cookie };
}

type Inbox = {
  open: Array<{ id: string }>;
  handled: Array<{ id: string; handledBy: string | null; replies: Array<{ body: string; author: string }> }>;
};

describe("replying to contact messages", () => {
  it("emails the reply, stores it, marks the message handled and audits it without the text", async () => {
    const { user, cookie } = await staff("support");
    const { id, email } = await message("Can I pay with Orange Money?");
    const body = "Hello Vera,\n\nYes: Orange Money is one of the manual top-up methods.";

    const sent = await call(
      action,
      postRequest("/admin/contact", { intent: "reply", id, body }, { cookie }),
      {},
      context("203.0.113.9"),
    );
    expect(sent.status).toBe(302);
    expect(sent.location).toBe("/admin/contact?done=replied");

    await deliverQueuedEmails();
    const [mail] = sentTo(email);
    expect(mail!.body.subject).toBe("Re: Can I pay with Orange Money?");
    expect(mail!.body.text).toContain("Orange Money is one of the manual top-up methods.");
    expect(mail!.body.text).not.toContain("My secret question text");
    expect(mail!.body.html).toContain("Orange Money is one of the manual top-up methods.");

    const stored = await prisma.contactMessage.findUniqueOrThrow({ where: { id }, include: { replies: true } });
    expect(stored.handledById).toBe(user.id);
    expect(stored.handledAt).not.toBeNull();
    expect(stored.replies).toHaveLength(1);
    expect(stored.replies[0]).toMatchObject({ authorId: user.id, body: body.trim() });
    const notification = await prisma.notification.findUniqueOrThrow({ where: { id: stored.replies[0]!.emailId! } });
    expect(notification).toMatchObject({ kind: "contact-reply", status: "sent", payload: null, recipient: null });

    const events = await prisma.auditEvent.findMany({ where: { action: "contact.replied", targetId: id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: user.id, ip: "203.0.113.9", targetType: "contact_message" });
    expect(JSON.stringify(events[0])).not.toContain("Orange Money");

    const page = await call(loader, getRequest("/admin/contact", { cookie }));
    const inbox = page.data as Inbox;
    expect(inbox.open.map((row) => row.id)).not.toContain(id);
    const handled = inbox.handled.find((row) => row.id === id)!;
    expect(handled.handledBy).toBe("Sam Support");
    expect(handled.replies).toEqual([expect.objectContaining({ body: body.trim(), author: "Sam Support" })]);
  });

  it("a second reply is sent and kept too, with its own audit entry", async () => {
    const { cookie } = await staff();
    const { id, email } = await message("Follow-up");
    for (const body of ["First answer.", "One more detail."]) {
      const result = await call(action, postRequest("/admin/contact", { intent: "reply", id, body }, { cookie }));
      expect(result.status).toBe(302);
    }
    await deliverQueuedEmails();
    expect(sentTo(email)).toHaveLength(2);
    expect(await prisma.contactReply.count({ where: { messageId: id } })).toBe(2);
    expect(await prisma.auditEvent.count({ where: { action: "contact.replied", targetId: id } })).toBe(2);
  });

  it("refuses an empty or oversized reply with a field error and sends nothing", async () => {
    const { cookie } = await staff();
    const { id, email } = await message("Empty reply?");
    for (const body of ["   ", "x".repeat(5001)]) {
      const result = await call(action, postRequest("/admin/contact", { intent: "reply", id, body }, { cookie }));
      expect(result.status).toBe(400);
      const data = result.data as { replyTo: string; result: { error: Record<string, string[]> } };
      expect(data.replyTo).toBe(id);
      expect(data.result.error.body?.[0]).toMatch(/Write the reply first|Keep the reply under 5,000 characters/);
    }
    await deliverQueuedEmails();
    expect(sentTo(email)).toHaveLength(0);
    const stored = await prisma.contactMessage.findUniqueOrThrow({ where: { id }, include: { replies: true } });
    expect(stored.handledAt).toBeNull();
    expect(stored.replies).toHaveLength(0);
  });

  it("while the email provider is down, the reply is saved and shown as queued, then emailed when it is back", async () => {
    const { cookie } = await staff();
    const { id, email } = await message("Provider down");
    await deliverQueuedEmails(); // the acknowledgement of the message itself
    const before = resend.requests.length;
    const result = await call(
      action,
      postRequest("/admin/contact", { intent: "reply", id, body: "This arrives later." }, { cookie }),
    );
    expect(result.status).toBe(302);
    expect(resend.requests.length).toBe(before); // the staff member never waited for the provider
    const stored = await prisma.contactMessage.findUniqueOrThrow({ where: { id }, include: { replies: true } });
    expect(stored.handledAt).not.toBeNull();
    expect(stored.replies).toHaveLength(1);
    expect(await prisma.auditEvent.count({ where: { action: "contact.replied", targetId: id } })).toBe(1);

    resend.failNext(500);
    expect(await deliverQueuedEmails()).toMatchObject({ retry: 1 });
    const delivery = async () => {
      const inbox = (await call(loader, getRequest("/admin/contact", { cookie }))).data as {
        handled: Array<{ id: string; replies: Array<{ delivery: string }> }>;
      };
      return inbox.handled.find((row) => row.id === id)!.replies[0]!.delivery;
    };
    expect(await delivery()).toBe("queued");

    await deliverQueuedEmails({ now: new Date(Date.now() + 2 * 60_000) });
    expect(sentTo(email).map((request) => request.body.text)).toEqual([
      expect.stringContaining("This arrives later."),
      expect.stringContaining("This arrives later."),
    ]); // the refused attempt, then the one that went through
    expect(await delivery()).toBe("sent");
  });

  it("an unknown message is a 404, and a member cannot reply at all", async () => {
    const { cookie } = await staff();
    const unknown = await call(
      action,
      postRequest("/admin/contact", { intent: "reply", id: "no-such-message", body: "Hi" }, { cookie }),
    );
    expect(unknown.status).toBe(404);

    const member = await createUser();
    const memberCookie = (await signedInCookie(member.id)).cookie;
    const { id, email } = await message("Members cannot answer");
    const forged = await call(
      action,
      postRequest("/admin/contact", { intent: "reply", id, body: "Forged" }, { cookie: memberCookie }),
    );
    expect(forged.status).toBe(404);
    expect(sentTo(email)).toHaveLength(0);
    expect(await prisma.contactReply.count({ where: { messageId: id } })).toBe(0);
  });
});
