import { createElement } from "react";
import * as ContactReceived from "#emails/contact-received";
import * as ContactReply from "#emails/contact-reply";
import { prisma } from "#app/utils/db.server";
import { sendEmail } from "#app/utils/email.server";
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
 * Stores the message, then acknowledges it by email. The acknowledgement repeats only the subject: anyone
 * can type any address into the form, so echoing the message would let strangers send mail through us.
 * A failed acknowledgement is logged, never lost as a message: the operator still sees it in the inbox.
 */
export async function submitContactMessage(input: ContactInput) {
  const row = await prisma.contactMessage.create({ data: input, select: { id: true } });
  const props = { name: input.name, subject: input.subject, appUrl: env.APP_URL };
  try {
    await sendEmail({
      to: input.email,
      subject: ContactReceived.subject(props),
      react: createElement(ContactReceived.ContactReceivedEmail, props),
      tag: "contact-received",
    });
  } catch (error) {
    logger.error("contact.ack_failed", {
      contactId: row.id,
      errorName: error instanceof Error ? error.name : "unknown",
    });
  }
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
  replies: Array<{ id: string; body: string; createdAt: Date; author: string }>;
};

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

export type ReplyOutcome = { ok: true; replyId: string } | { ok: false; reason: "not_found" | "email_failed" };

/**
 * Answers a contact message by email from the inbox. The email goes first: only a reply that was sent is
 * stored, marks the message handled and is audited (ids only, never the text), so a failed send changes
 * nothing and can simply be retried.
 */
export async function replyToContactMessage(
  id: string,
  body: string,
  actor: { id: string; ip: string | null },
): Promise<ReplyOutcome> {
  const message = await prisma.contactMessage.findUnique({
    where: { id },
    select: { id: true, name: true, email: true, subject: true },
  });
  if (!message) return { ok: false, reason: "not_found" };
  const props = { name: message.name, subject: message.subject, reply: body, appUrl: env.APP_URL };
  let emailId: string;
  try {
    ({ id: emailId } = await sendEmail({
      to: message.email,
      subject: ContactReply.subject(props),
      react: createElement(ContactReply.ContactReplyEmail, props),
      tag: "contact-reply",
    }));
  } catch {
    // sendEmail has logged the failure (tag and status, no content).
    return { ok: false, reason: "email_failed" };
  }
  return prisma.$transaction(async (tx) => {
    const reply = await tx.contactReply.create({
      data: { messageId: id, authorId: actor.id, body, emailId },
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
    logger.info("contact.replied", { contactId: id, replyId: reply.id });
    return { ok: true as const, replyId: reply.id };
  });
}
