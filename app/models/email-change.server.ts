import { createElement } from "react";
import type { Prisma } from "@prisma/client";
import * as EmailChange from "#emails/email-change";
import * as EmailChangeRequested from "#emails/email-change-requested";
import * as EmailChangedNotice from "#emails/email-changed-notice";
import { maskEmail } from "#emails/mask";
import { audit } from "#app/models/audit.server";
import {
  consumeCancelToken,
  createVerification,
  findCancelProof,
  VERIFICATION_MINUTES,
  verifyCode,
  verifyLinkToken,
} from "#app/models/verification.server";
import { prisma } from "#app/utils/db.server";
import { sendEmail } from "#app/utils/email.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { verifyPassword } from "#app/utils/password.server";

// Changing a member's email address: asked for with the password, proven by the new mailbox (code or
// link, always from the member's own session), announced to the old mailbox with a one-click cancel.
// Pending changes also end when the member changes the password, resets it, or signs out everywhere
// (cancelPendingAccountChanges in verification.server.ts).

const url = (path: string) => `${env.APP_URL}${path}`;

async function sendEmailChangeCode(to: string, props: { displayName: string; code: string; linkToken: string }) {
  const emailProps = {
    displayName: props.displayName,
    newEmail: to,
    code: props.code,
    link: url(`/verify?token=${props.linkToken}`),
    expiresInMinutes: VERIFICATION_MINUTES,
  };
  await sendEmail({
    to,
    subject: EmailChange.subject(emailProps),
    react: createElement(EmailChange.EmailChangeEmail, emailProps),
    tag: "email-change",
  });
}

async function sendEmailChangeRequestedNotice(
  to: string,
  props: { displayName: string; newEmail: string; cancelToken: string },
) {
  const emailProps = {
    displayName: props.displayName,
    newEmail: maskEmail(props.newEmail),
    cancelLink: url(`/cancel-email-change?token=${props.cancelToken}`),
    expiresInMinutes: VERIFICATION_MINUTES,
  };
  await sendEmail({
    to,
    subject: EmailChangeRequested.subject(emailProps),
    react: createElement(EmailChangeRequested.EmailChangeRequestedEmail, emailProps),
    tag: "email-change-requested",
  });
}

async function sendEmailChangedNotice(to: string, props: { displayName: string; newEmail: string }) {
  const emailProps = {
    displayName: props.displayName,
    newEmail: maskEmail(props.newEmail),
    when: new Date().toUTCString(),
  };
  await sendEmail({
    to,
    subject: EmailChangedNotice.subject(emailProps),
    react: createElement(EmailChangedNotice.EmailChangedNoticeEmail, emailProps),
    tag: "email-changed",
  });
}

/**
 * Re-authenticates, then sends a code and link to the new address and a "was this you?" notice with a
 * cancel link to the current one. The change applies once proven from the member's session.
 */
export async function requestEmailChange(userId: string, password: string, newEmail: string, ip: string | null = null) {
  const user = await prisma.user.findUnique({
    where: { id: userId },
    select: { email: true, displayName: true, password: { select: { hash: true } } },
  });
  if (!user || !(await verifyPassword(user.password?.hash, password)))
    return { ok: false as const, reason: "password" as const };
  if (newEmail === user.email) return { ok: false as const, reason: "same" as const };
  // Logged whether or not the address turns out to be taken: the request is what happened. Addresses
  // are masked, as for email_changed.
  await audit({
    actorId: userId,
    action: "account.email_change_requested",
    targetType: "user",
    targetId: userId,
    ip,
    before: { email: maskEmail(user.email) },
    after: { email: maskEmail(newEmail) },
  });
  // A taken address gets the same answer and the same pending state (no enumeration) but no code: the
  // final update would refuse it anyway. The owner of the current address hears about it either way.
  const taken = await prisma.user.findUnique({ where: { email: newEmail }, select: { id: true } });
  const { code, linkToken, cancelToken } = await createVerification(userId, "email_change", newEmail);
  if (!taken) await sendEmailChangeCode(newEmail, { displayName: user.displayName, code, linkToken });
  if (cancelToken)
    await sendEmailChangeRequestedNotice(user.email, { displayName: user.displayName, newEmail, cancelToken });
  return { ok: true as const };
}

export async function pendingEmailChange(userId: string) {
  return prisma.emailVerification.findFirst({
    where: { userId, purpose: "email_change", consumedAt: null, expiresAt: { gt: new Date() } },
    orderBy: { createdAt: "desc" },
    select: { email: true, expiresAt: true },
  });
}

async function applyEmailChange(userId: string, email: string, ip: string | null) {
  const before = await prisma.user.findUnique({ where: { id: userId }, select: { email: true, displayName: true } });
  if (!before) return { ok: false as const, reason: "invalid" as const };
  try {
    await prisma.$transaction(async (tx) => {
      await tx.user.update({ where: { id: userId }, data: { email, emailVerifiedAt: new Date() } });
      await audit(
        {
          actorId: userId,
          action: "account.email_changed",
          targetType: "user",
          targetId: userId,
          ip,
          // Masked: the log is append-only (even account deletion cannot edit it), so it keeps just
          // enough for the owner and staff to recognise the addresses.
          before: { email: maskEmail(before.email) },
          after: { email: maskEmail(email) },
        },
        tx,
      );
    });
  } catch (error) {
    if ((error as Prisma.PrismaClientKnownRequestError).code === "P2002")
      return { ok: false as const, reason: "taken" as const };
    throw error;
  }
  await sendEmailChangedNotice(before.email, { displayName: before.displayName, newEmail: email });
  logger.info("account.email_changed", { userId });
  return { ok: true as const };
}

/** The code typed on Settings → Email; only the signed-in member's own pending change can match. */
export async function confirmEmailChangeWithCode(userId: string, code: string, ip: string | null) {
  const pending = await pendingEmailChange(userId);
  if (!pending) return { ok: false as const, reason: "none" as const };
  const result = await verifyCode(pending.email, "email_change", code, userId);
  if (!result.ok) return result;
  return applyEmailChange(userId, result.email, ip);
}

/** The emailed link, confirmed by a POST from the session of the member who asked. */
export async function confirmEmailChangeWithLink(userId: string, token: string, ip: string | null) {
  const result = await verifyLinkToken(token, { purpose: "email_change", userId });
  if (!result.ok) return result;
  return applyEmailChange(userId, result.email, ip);
}

async function auditCancelled(
  tx: Prisma.TransactionClient,
  userId: string,
  ip: string | null,
  via: "email_link" | "settings",
) {
  await audit(
    {
      actorId: userId,
      action: "account.email_change_cancelled",
      targetType: "user",
      targetId: userId,
      ip,
      after: { via },
    },
    tx,
  );
}

/** The member cancels their own pending change from Settings → Email. */
export async function cancelEmailChange(userId: string, ip: string | null) {
  return prisma.$transaction(async (tx) => {
    const { count } = await tx.emailVerification.updateMany({
      where: { userId, purpose: "email_change", consumedAt: null },
      data: { consumedAt: new Date() },
    });
    if (count > 0) await auditCancelled(tx, userId, ip, "settings");
    return count > 0;
  });
}

export type CancelLinkState = "pending" | "applied" | "closed";

/**
 * What the old address's cancel link would do, without doing it: "pending" (a button cancels),
 * "applied" (the change already went through), "closed" (cancelled or expired). Null for an unknown token.
 */
export async function describeCancelLink(token: string) {
  const proof = await findCancelProof(token);
  if (!proof) return null;
  let state: CancelLinkState = proof.state === "pending" ? "pending" : "closed";
  if (proof.state === "used") {
    const user = await prisma.user.findUnique({ where: { id: proof.userId }, select: { email: true } });
    if (user?.email === proof.email) state = "applied";
  }
  return { state, newEmail: maskEmail(proof.email) };
}

/** The cancel link's POST. No session needed: the token was mailed to the current address. */
export async function cancelEmailChangeByLink(token: string, ip: string | null) {
  const proof = await findCancelProof(token);
  if (!proof) return false;
  const cancelled = await prisma.$transaction(async (tx) => {
    if (!(await consumeCancelToken(tx, token))) return false;
    await auditCancelled(tx, proof.userId, ip, "email_link");
    return true;
  });
  if (cancelled) logger.info("account.email_change_cancelled", { userId: proof.userId, via: "email_link" });
  return cancelled;
}
