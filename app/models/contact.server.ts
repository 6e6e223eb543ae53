import { nudgeNotifications, queueNotification } from "#app/notifications/outbox.server";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { consumeRateLimit, type RateLimitRule } from "#app/utils/rate-limit.server";
import { audit } from "./audit.server";

// Messages from the public contact form (members and visitors) and the admin inbox that answers them.

/** Five messages an hour from one address, and to one email address, is plenty for a person. */
export const CONTACT_LIMITS = {
  perIp: { limit: 5, windowSeconds: 60 * 60 },
  perEmail: { limit: 5, windowSeconds: 60 * 60 },
} satisfies Record<string, RateLimitRule>;

export type ContactInput = {
  userId: string | null;
  name: string;
  email: string;
  subject: string;
  message: string;
  ip: string | null;
};

/** Counts one attempt per IP and per email address; `allowed` is false once either is over its limit. */
export async function consumeContactLimit(ip: string, email: string) {
  const byIp = await consumeRateLimit(`contact:ip:${ip}`, CONTACT_LIMITS.perIp);
  if (!byIp.allowed) return byIp;
  return consumeRateLimit(`contact:email:${email.toLowerCase()}`, CONTACT_LIMITS.perEmail);
}

/**
 * Stores the message and queues its acknowledgement by email, together. The acknowledgement repeats only the
 * subject: anyone can type any address into the form, so echoing the message would let strangers send mail
 * through us. Sending happens later, in the background: an email outage never loses or refuses a message.
 */
export async function submitContactMessage(input: ContactInput) {
  const { row, notificationId } = await prisma.$transaction(async (tx) => {
    const row = await tx.contactMessage.create({ data: input, select: { id: true } });
    const notificationId = await queueNotification(tx, {
      kind: "contact-received",
      to: input.email,
      userId: input.userId,
      props: { name: input.name, subject: input.subject, appUrl: env.APP_URL },
    });
    return { row, notificationId };
  });
  await nudgeNotifications([notificationId]);
  logger.info("contact.received", { contactId: row.id, member: input.userId !== null });
  return row;
}

export type InboxMessage = {
  id: string;
  name: string;
  email: string;
  subject: string;
  message: string;
  fromMember: boolean;
  createdAt: Date;
  handledAt: Date | null;
  handledBy: string | null;
  replies: Array<{ id: string; body: string; createdAt: Date; author: string; delivery: ReplyDelivery }>;
};

/** Where a reply's email is: still queued (retried while the provider is down), given up, or sent. */
export type ReplyDelivery = "queued" | "failed" | "sent";

/** The inbox: every unhandled message (oldest first), then the most recently handled ones. */
export async function listContactMessages({ handledTake = 50 } = {}): Promise<{
  open: InboxMessage[];
  handled: InboxMessage[];
}> {
  const [open, handled] = await Promise.all([
    prisma.contactMessage.findMany({
      where: { handledAt: null },
      orderBy: { createdAt: "asc" },
      include: { replies: { orderBy: { createdAt: "asc" } } },
    }),
    prisma.contactMessage.findMany({
      where: { handledAt: { not: null } },
      orderBy: { handledAt: "desc" },
      take: handledTake,
      include: { replies: { orderBy: { createdAt: "asc" } } },
    }),
  ]);
  const handlerIds = [
    ...new Set(
      [...open, ...handled]
        .flatMap((row) => [row.handledById, ...row.replies.map((reply) => reply.authorId)])
        .filter((id): id is string => Boolean(id)),
    ),
  ];
  const handlers = handlerIds.length
    ? await prisma.user.findMany({ where: { id: { in: handlerIds } }, select: { id: true, displayName: true } })
    : [];
  const names = new Map(handlers.map((user) => [user.id, user.displayName]));
  const emailIds = [...open, ...handled].flatMap((row) => row.replies.map((reply) => reply.emailId ?? ""));
  const unsent = await prisma.notification.findMany({
    where: { id: { in: emailIds.filter(Boolean) }, status: { in: ["pending", "failed"] } },
    select: { id: true, status: true },
  });
  const deliveries = new Map(unsent.map((row) => [row.id, row.status === "failed" ? "failed" : "queued"] as const));
  const present = (row: (typeof open)[number]): InboxMessage => ({
    id: row.id,
    name: row.name,
    email: row.email,
    subject: row.subject,
    message: row.message,
    fromMember: row.userId !== null,
    createdAt: row.createdAt,
    handledAt: row.handledAt,
    handledBy: row.handledById ? (names.get(row.handledById) ?? "(former staff member)") : null,
    replies: row.replies.map((reply) => ({
      id: reply.id,
      body: reply.body,
      createdAt: reply.createdAt,
      author: reply.authorId ? (names.get(reply.authorId) ?? "(former staff member)") : "(former staff member)",
      // A sent notification is purged after a few days: a reply whose row is gone was sent.
      delivery: (reply.emailId && deliveries.get(reply.emailId)) || "sent",
    })),
  });
  return { open: open.map(present), handled: handled.map(present) };
}

/**
 * Marks a message handled, once, and writes it to the audit log (ids only: no message content).
 * Returns "not_found", "already_handled" or "handled".
 */
export async function markContactHandled(id: string, actor: { id: string; ip: string | null }) {
  return prisma.$transaction(async (tx) => {
    const row = await tx.contactMessage.findUnique({ where: { id }, select: { id: true, handledAt: true } });
    if (!row) return "not_found" as const;
    const now = new Date();
    const updated = await tx.contactMessage.updateMany({
      where: { id, handledAt: null },
      data: { handledAt: now, handledById: actor.id },
    });
    if (updated.count === 0) return "already_handled" as const;
    await audit(
      {
        actorId: actor.id,
        action: "contact.handled",
        targetType: "contact_message",
        targetId: id,
        ip: actor.ip,
        before: { handledAt: null },
        after: { handledAt: now.toISOString(), handledById: actor.id },
      },
      tx,
    );
    return "handled" as const;
  });
}

export type ReplyOutcome = { ok: true; replyId: string } | { ok: false; reason: "not_found" };

/**
 * Answers a contact message by email from the inbox: the reply is stored, marks the message handled, is
 * audited (ids only, never the text) and its email queued, all in one transaction. The email goes out in the
 * background, with retries, so a provider outage does not turn the staff member away.
 */
export async function replyToContactMessage(
  id: string,
  body: string,
  actor: { id: string; ip: string | null },
): Promise<ReplyOutcome> {
  const outcome = await prisma.$transaction(async (tx) => {
    const message = await tx.contactMessage.findUnique({
      where: { id },
      select: { id: true, name: true, email: true, subject: true, userId: true },
    });
    if (!message) return null;
    const notificationId = await queueNotification(tx, {
      kind: "contact-reply",
      to: message.email,
      userId: message.userId,
      props: { name: message.name, subject: message.subject, reply: body, appUrl: env.APP_URL },
    });
    const reply = await tx.contactReply.create({
      data: { messageId: id, authorId: actor.id, body, emailId: notificationId },
      select: { id: true, createdAt: true },
    });
    const handled = await tx.contactMessage.updateMany({
      where: { id, handledAt: null },
      data: { handledAt: reply.createdAt, handledById: actor.id },
    });
    await audit(
      {
        actorId: actor.id,
        action: "contact.replied",
        targetType: "contact_message",
        targetId: id,
        ip: actor.ip,
        after: { replyId: reply.id, ...(handled.count > 0 ? { handledAt: reply.createdAt.toISOString() } : {}) },
      },
      tx,
    );
    return { replyId: reply.id, notificationId };
  });
  if (!outcome) return { ok: false, reason: "not_found" };
  logger.info("contact.replied", { contactId: id, replyId: outcome.replyId });
  await nudgeNotifications([outcome.notificationId]);
  return { ok: true, replyId: outcome.replyId };
}
