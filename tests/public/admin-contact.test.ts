import { describe, expect, it } from "vitest";
import { submitContactMessage } from "#app/models/contact.server";
import { action, loader } from "#app/routes/admin.contact";
import { prisma } from "#app/utils/db.server";
import { call, createUser, getRequest, postRequest, signedInCookie, uniqueEmail } from "#tests/helpers";

type Inbox = {
  open: Array<{ id: string; subject: string; replyHref: string; handledAt: string | null }>;
  handled: Array<{ id: string; handledBy: string | null }>;
};

async function message(subject: string) {
  const email = uniqueEmail("visitor");
  const row = await submitContactMessage({ userId: null, name: "Visitor", email, subject, message: "Hello", ip: null });
  return { id: row.id, email };
}

describe("admin contact inbox", () => {
  it("does not exist for members or visitors", async () => {
    const member = await createUser();
    const { cookie } = await signedInCookie(member.id);
    expect((await call(loader, getRequest("/admin/contact", { cookie }))).status).toBe(404);
    const { id } = await message("For staff only");
    const post = await call(action, postRequest("/admin/contact", { intent: "handle", id }, { cookie }));
    expect(post.status).toBe(404);
    expect((await prisma.contactMessage.findUniqueOrThrow({ where: { id } })).handledAt).toBeNull();
    const anonymous = await call(loader, getRequest("/admin/contact"));
    expect(anonymous.status).toBe(302);
    expect(anonymous.location).toMatch(/^\/login/);
  });

  it("shows unhandled messages first with a reply link, and marking one handled is audited", async () => {
    const admin = await createUser({ role: "admin", displayName: "Ada Admin" });
    const { cookie } = await signedInCookie(admin.id);
    const first = await message("Refund for a failed video?");
    const second = await message("Second question");

    const page = await call(loader, getRequest("/admin/contact", { cookie }));
    expect(page.status).toBe(200);
    const inbox = page.data as Inbox;
    const ids = inbox.open.map((row) => row.id);
    expect(ids).toEqual(expect.arrayContaining([first.id, second.id]));
    expect(ids.indexOf(first.id)).toBeLessThan(ids.indexOf(second.id));
    const row = inbox.open.find((item) => item.id === first.id)!;
    expect(row.replyHref).toBe(`mailto:${first.email}?subject=${encodeURIComponent("Re: Refund for a failed video?")}`);

    const done = await call(action, postRequest("/admin/contact", { intent: "handle", id: first.id }, { cookie }));
    expect(done.status).toBe(302);
    expect(done.location).toBe("/admin/contact?done=handled");
    const stored = await prisma.contactMessage.findUniqueOrThrow({ where: { id: first.id } });
    expect(stored.handledAt).not.toBeNull();
    expect(stored.handledById).toBe(admin.id);
    const events = await prisma.auditEvent.findMany({ where: { action: "contact.handled", targetId: first.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: admin.id, targetType: "contact_message" });
    expect(JSON.stringify(events[0])).not.toContain("Hello");

    // A second click is harmless: no new audit entry.
    const again = await call(action, postRequest("/admin/contact", { intent: "handle", id: first.id }, { cookie }));
    expect(again.location).toBe("/admin/contact?done=already_handled");
    expect(await prisma.auditEvent.count({ where: { action: "contact.handled", targetId: first.id } })).toBe(1);

    const after = (await call(loader, getRequest("/admin/contact", { cookie }))).data as Inbox;
    expect(after.open.map((item) => item.id)).not.toContain(first.id);
    expect(after.handled.find((item) => item.id === first.id)?.handledBy).toBe("Ada Admin");
  });

  it("is open to support staff too; an unknown message is a 404", async () => {
    const support = await createUser({ role: "support" });
    const { cookie } = await signedInCookie(support.id);
    expect((await call(loader, getRequest("/admin/contact", { cookie }))).status).toBe(200);
    const missing = await call(action, postRequest("/admin/contact", { intent: "handle", id: "nope" }, { cookie }));
    expect(missing.status).toBe(404);
  });
});
