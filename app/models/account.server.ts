import { createElement } from "react";
import type { Prisma } from "@prisma/client";
import * as AccountExists from "#emails/account-exists";
import * as NewSignIn from "#emails/new-sign-in";
import * as PasswordChanged from "#emails/password-changed";
import * as PasswordReset from "#emails/password-reset";
import * as Verification from "#emails/verification";
import { audit } from "#app/models/audit.server";
import {
  createSession,
  hashToken,
  generateSessionToken,
  invalidateUserSessions,
  revokeSession,
  type ClientInfo,
} from "#app/models/session.server";
import {
  cancelPendingAccountChanges,
  createVerification,
  resendCooldown,
  VERIFICATION_MINUTES,
  verifyCode,
  verifyLinkToken,
} from "#app/models/verification.server";
import { prisma } from "#app/utils/db.server";
import { grantWelcomeCredit } from "./wallet.server";
import { sendEmail } from "#app/utils/email.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { hashPassword, verifyPassword } from "#app/utils/password.server";
import { describeUserAgent } from "#app/utils/user-agent";

// Account life cycle: sign-up, proof of address, sign-in, password reset and changes.
// Every answer that could reveal whether an address has an account is the same either way.

export const RESET_MINUTES = 60;

const url = (path: string) => `${env.APP_URL}${path}`;

async function sendVerificationEmail(user: { id: string; displayName: string }, email: string) {
  const { code, linkToken } = await createVerification(user.id, "signup", email);
  const props = {
    displayName: user.displayName,
    code,
    link: url(`/verify?token=${linkToken}`),
    expiresInMinutes: VERIFICATION_MINUTES,
  };
  await sendEmail({
    to: email,
    subject: Verification.subject(props),
    react: createElement(Verification.VerificationEmail, props),
    tag: "verification",
  });
}

export type SignupInput = {
  email: string;
  password: string;
  displayName: string;
  country: string;
  phone: string | null;
};

/**
 * Creates an unverified account and emails its code. For an address that already has an account
 * the caller sees the same outcome: the owner gets an "account exists" email instead.
 */
export async function registerAccount(input: SignupInput) {
  const passwordHash = await hashPassword(input.password);
  const existing = await prisma.user.findUnique({ where: { email: input.email }, select: { id: true } });
  if (existing) {
    const props = { loginUrl: url("/login"), resetUrl: url("/forgot-password") };
    await sendEmail({
      to: input.email,
      subject: AccountExists.subject(props),
      react: createElement(AccountExists.AccountExistsEmail, props),
      tag: "account-exists",
    });
    logger.info("account.signup_existing", { userId: existing.id });
    return;
  }
  const now = new Date();
  let user: { id: string; displayName: string };
  try {
    user = await prisma.user.create({
      data: {
        email: input.email,
        displayName: input.displayName,
        country: input.country,
        phone: input.phone,
        ageConfirmedAt: now,
        termsAcceptedAt: now,
        password: { create: { hash: passwordHash } },
      },
      select: { id: true, displayName: true },
    });
  } catch (error) {
    // Two sign-ups for one address at once: the loser behaves like an existing account.
    if ((error as Prisma.PrismaClientKnownRequestError).code === "P2002") return;
    throw error;
  }
  logger.info("account.created", { userId: user.id });
  await sendVerificationEmail(user, input.email);
}

/** Sends a fresh code to an unverified member, at most once a minute. */
export async function resendSignupVerification(userId: string) {
  const user = await prisma.user.findUnique({
    where: { id: userId },
    select: { id: true, displayName: true, email: true, emailVerifiedAt: true },
  });
  if (!user || user.emailVerifiedAt) return { status: "already_verified" as const };
  const wait = await resendCooldown(userId, "signup");
  if (wait > 0) return { status: "cooldown" as const, seconds: wait };
  await sendVerificationEmail(user, user.email);
  return { status: "sent" as const };
}

async function markAddressVerified(userId: string, email: string, ip: string | null) {
  const { count } = await prisma.user.updateMany({
    where: { id: userId, email, emailVerifiedAt: null },
    data: { emailVerifiedAt: new Date() },
  });
  if (count === 1) await grantWelcomeCredit(userId, { ip });
  return { ok: true as const, userId, email };
}

/** The sign-up code typed on /verify. (Email changes: email-change.server.ts.) */
export async function confirmSignupWithCode(email: string, code: string, ip: string | null) {
  const result = await verifyCode(email, "signup", code);
  if (!result.ok) return result;
  return markAddressVerified(result.userId, result.email, ip);
}

/** The sign-up link, confirmed by the POST of the page it opens (never by the GET). */
export async function confirmSignupWithLink(token: string, ip: string | null) {
  const result = await verifyLinkToken(token, { purpose: "signup" });
  if (!result.ok) return result;
  return markAddressVerified(result.userId, result.email, ip);
}

/**
 * A sign-in from a browser none of the member's current sessions uses goes into the security log
 * (method and a readable device name; never the session token or the raw user-agent).
 */
export async function auditNewDeviceSignIn(userId: string, method: "password" | "google", client: ClientInfo) {
  await audit({
    actorId: userId,
    action: "account.sign_in_new_device",
    targetType: "user",
    targetId: userId,
    ip: client.ip,
    after: { method, device: describeUserAgent(client.userAgent) },
  });
}

export type SignInResult = { ok: true; userId: string; cookie: string } | { ok: false };

/** Checks email + password with the same cost for unknown addresses; starts a new session on success. */
export async function signIn(email: string, password: string, client: ClientInfo): Promise<SignInResult> {
  const user = await prisma.user.findUnique({
    where: { email },
    select: {
      id: true,
      displayName: true,
      email: true,
      disabledAt: true,
      password: { select: { hash: true } },
      sessions: { select: { userAgent: true } },
    },
  });
  const valid = await verifyPassword(user?.password?.hash, password);
  // A disabled account gets the same answer as a wrong password (after the same hashing cost), so the
  // sign-in form never tells anyone which addresses have an account or which accounts are disabled.
  if (!user || !valid) return { ok: false };
  if (user.disabledAt) {
    logger.info("account.sign_in_refused_disabled", { userId: user.id });
    return { ok: false };
  }
  const knownDevice = user.sessions.some((session) => session.userAgent === client.userAgent);
  const { cookie } = await createSession(user.id, client);
  logger.info("account.signed_in", { userId: user.id, newDevice: !knownDevice });
  if (!knownDevice) await auditNewDeviceSignIn(user.id, "password", client);
  if (!knownDevice && user.sessions.length > 0) {
    const props = {
      displayName: user.displayName,
      when: new Date().toUTCString(),
      device: client.userAgent?.slice(0, 120) ?? "Unknown device",
      ip: client.ip ?? "unknown",
      settingsUrl: url("/settings/sessions"),
    };
    await sendEmail({
      to: user.email,
      subject: NewSignIn.subject(props),
      react: createElement(NewSignIn.NewSignInEmail, props),
      tag: "new-sign-in",
    });
  }
  return { ok: true, userId: user.id, cookie };
}

/** Emails a reset link if the address has an account; says nothing either way. */
export async function requestPasswordReset(email: string) {
  const user = await prisma.user.findUnique({ where: { email }, select: { id: true, displayName: true } });
  if (!user) return;
  const token = generateSessionToken() + generateSessionToken();
  await prisma.passwordReset.create({
    data: { tokenHash: hashToken(token), userId: user.id, expiresAt: new Date(Date.now() + RESET_MINUTES * 60_000) },
  });
  const props = {
    displayName: user.displayName,
    link: url(`/reset-password?token=${token}`),
    expiresInMinutes: RESET_MINUTES,
  };
  await sendEmail({
    to: email,
    subject: PasswordReset.subject(props),
    react: createElement(PasswordReset.PasswordResetEmail, props),
    tag: "password-reset",
  });
  logger.info("account.reset_requested", { userId: user.id });
}

/** Whether a reset token is usable (for showing the form), without consuming it. */
export async function isResetTokenValid(token: string) {
  const row = await prisma.passwordReset.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { usedAt: true, expiresAt: true },
  });
  return Boolean(row && !row.usedAt && row.expiresAt > new Date());
}

/**
 * Sets a new password with a single-use reset token, ends every session, and (since the link
 * reached the mailbox) marks the address verified.
 */
export async function resetPassword(token: string, newPassword: string, ip: string | null = null) {
  const passwordHash = await hashPassword(newPassword);
  const tokenHash = hashToken(token);
  const userId = await prisma.$transaction(async (tx) => {
    const row = await tx.passwordReset.findUnique({ where: { tokenHash } });
    if (!row || row.usedAt || row.expiresAt <= new Date()) return null;
    const { count } = await tx.passwordReset.updateMany({
      where: { tokenHash, usedAt: null },
      data: { usedAt: new Date() },
    });
    if (count !== 1) return null;
    // Whoever controlled the account before the reset may have started an email change or another
    // reset: both end here.
    await cancelPendingAccountChanges(tx, row.userId);
    await tx.password.upsert({
      where: { userId: row.userId },
      create: { userId: row.userId, hash: passwordHash },
      update: { hash: passwordHash },
    });
    await tx.user.updateMany({
      where: { id: row.userId, emailVerifiedAt: null },
      data: { emailVerifiedAt: new Date() },
    });
    const sessions = await tx.session.deleteMany({ where: { userId: row.userId } });
    await audit(
      {
        actorId: row.userId,
        action: "account.password_reset",
        targetType: "user",
        targetId: row.userId,
        ip,
        after: { via: "email_link", sessionsEnded: sessions.count },
      },
      tx,
    );
    return row.userId;
  });
  if (!userId) return { ok: false as const };
  await sendPasswordChangedNotice(userId);
  logger.info("account.password_reset", { userId });
  return { ok: true as const, userId };
}

async function sendPasswordChangedNotice(userId: string) {
  const user = await prisma.user.findUnique({ where: { id: userId }, select: { email: true, displayName: true } });
  if (!user) return;
  const props = { displayName: user.displayName, when: new Date().toUTCString(), resetUrl: url("/forgot-password") };
  await sendEmail({
    to: user.email,
    subject: PasswordChanged.subject(props),
    react: createElement(PasswordChanged.PasswordChangedEmail, props),
    tag: "password-changed",
  });
}

/**
 * Changes the password after re-checking the current one; every other session ends, and so do pending
 * email changes and reset links.
 */
export async function changePassword(
  userId: string,
  currentSessionId: string,
  current: string,
  next: string,
  ip: string | null = null,
) {
  const stored = await prisma.password.findUnique({ where: { userId }, select: { hash: true } });
  if (!(await verifyPassword(stored?.hash, current))) return { ok: false as const };
  const hash = await hashPassword(next);
  await prisma.$transaction(async (tx) => {
    await tx.password.upsert({ where: { userId }, create: { userId, hash }, update: { hash } });
    // A new password locks out whoever knew the old one: their pending email change and resets too.
    await cancelPendingAccountChanges(tx, userId);
    await audit({ actorId: userId, action: "account.password_changed", targetType: "user", targetId: userId, ip }, tx);
  });
  await invalidateUserSessions(userId, { except: currentSessionId });
  await sendPasswordChangedNotice(userId);
  logger.info("account.password_changed", { userId });
  return { ok: true as const };
}

/**
 * "Sign out everywhere else": ends every session but the current one, and every pending email change and
 * reset link (someone on another device may have started them), and logs it.
 */
export async function signOutOtherSessions(userId: string, currentSessionId: string, ip: string | null) {
  const others = await prisma.session.count({ where: { userId, id: { not: currentSessionId } } });
  await invalidateUserSessions(userId, { except: currentSessionId });
  await prisma.$transaction((tx) => cancelPendingAccountChanges(tx, userId));
  await audit({
    actorId: userId,
    action: "account.sessions_revoked",
    targetType: "user",
    targetId: userId,
    ip,
    after: { scope: "others", count: others },
  });
}

/** Ends one of the member's own sessions (another member's id matches nothing) and logs which device. */
export async function signOutSession(userId: string, sessionId: string, ip: string | null) {
  const session = await prisma.session.findFirst({ where: { id: sessionId, userId }, select: { userAgent: true } });
  if (!session || !(await revokeSession(userId, sessionId))) return false;
  await audit({
    actorId: userId,
    action: "account.sessions_revoked",
    targetType: "user",
    targetId: userId,
    ip,
    after: { scope: "one", count: 1, device: describeUserAgent(session.userAgent) },
  });
  return true;
}

export async function updateProfile(
  userId: string,
  profile: { displayName: string; country: string; phone: string | null },
) {
  await prisma.user.update({ where: { id: userId }, data: profile });
}

// ---------------------------------------------------------------------------------------------
// The member's own security events (Settings → Security), read from the audit log.

export const SECURITY_EVENTS_PAGE_SIZE = 25;

/**
 * Actions a member takes on their own things whose target may not be the user row (an export archive,
 * support access to one generation). Only these count on the actor side, so a staff member's work on
 * other members never shows on their own page: every other event shown is about this member's account
 * (target user = them) or their data opened under support access (after.memberId = them).
 */
const SELF_SERVICE_ACTIONS = ["data.export_requested", "data.export_downloaded", "support.grant", "support.revoke"];
const SUPPORT_VIEW_ACTIONS = ["support.view", "support.file_view"];

type JsonValue = Prisma.JsonValue;

function jsonField(value: JsonValue | null, key: string): string | null {
  if (!value || typeof value !== "object" || Array.isArray(value)) return null;
  const field = (value as Record<string, JsonValue>)[key];
  if (typeof field === "string") return field;
  if (typeof field === "number") return String(field);
  return null;
}

export type SecurityEventActor = "you" | "staff" | "system";

/** A plain sentence for one event. Staff are never named: they are "An administrator". */
export function describeSecurityEvent(event: {
  action: string;
  actor: SecurityEventActor;
  before: JsonValue | null;
  after: JsonValue | null;
}): string {
  const { before, after } = event;
  const who = event.actor === "you" ? "You" : event.actor === "staff" ? "An administrator" : "The system";
  switch (event.action) {
    case "account.sign_in_new_device": {
      const device = jsonField(after, "device") ?? "Unknown device";
      return jsonField(after, "method") === "google"
        ? `Signed in with Google from a new device: ${device}`
        : `Signed in from a new device: ${device}`;
    }
    case "account.password_changed":
      return "Password changed; every other device was signed out";
    case "account.password_reset":
      return "Password reset with an emailed link; every device was signed out";
    case "account.email_change_requested":
      return `Asked to change the email address to ${jsonField(after, "email") ?? "a new address"}`;
    case "account.email_change_cancelled":
      return jsonField(after, "via") === "email_link"
        ? "Email change cancelled from the link sent to the old address"
        : "Email change cancelled";
    case "account.email_changed":
      return `Email address changed from ${jsonField(before, "email") ?? "the old address"} to ${
        jsonField(after, "email") ?? "a new address"
      }`;
    case "account.sessions_revoked":
      return jsonField(after, "scope") === "one"
        ? `Signed out a device: ${jsonField(after, "device") ?? "Unknown device"}`
        : "Signed out every other device";
    case "account.google_linked":
      return "Google account linked: you can sign in with Google";
    case "account.role_change":
      return `${who} changed your role from ${jsonField(before, "role") ?? "?"} to ${jsonField(after, "role") ?? "?"}`;
    case "account.disable":
      return `${who} disabled your account`;
    case "account.enable":
      return `${who} re-enabled your account`;
    case "wallet.adjust": {
      const amount = `${jsonField(after, "amount") ?? ""} ${jsonField(after, "currency") ?? ""}`.trim();
      return jsonField(after, "direction") === "debit"
        ? `${who} debited ${amount} from your wallet`
        : `${who} credited ${amount} to your wallet`;
    }
    case "wallet.card_refund_debited":
      return "A card refund was taken back from your wallet";
    case "wallet.card_dispute_debited":
      return "A disputed card payment was taken back from your wallet";
    case "data.export_requested":
      return "Asked for a copy of your data";
    case "data.export_downloaded":
      return "Downloaded the copy of your data";
    case "account.deleted":
      return "Account deleted";
    case "support.grant":
      return jsonField(after, "scope") === "generation"
        ? "You let support see one generation"
        : "You let support see your history";
    case "support.revoke":
      return "You ended support's access";
    case "support.view":
      return "An administrator opened a generation you shared with support";
    case "support.file_view":
      return "An administrator opened a file you shared with support";
    case "support.browse":
      return "An administrator looked through your history with your permission";
    default:
      return event.actor === "staff"
        ? `An administrator acted on your account (${event.action})`
        : `Account activity (${event.action})`;
  }
}

/** The member's own security events, newest first, a page at a time. Ownership is in the `where`. */
export async function listSecurityEvents(userId: string, page = 1) {
  const where: Prisma.AuditEventWhereInput = {
    OR: [
      { targetType: "user", targetId: userId },
      { actorId: userId, action: { in: SELF_SERVICE_ACTIONS } },
      { action: { in: SUPPORT_VIEW_ACTIONS }, after: { path: ["memberId"], equals: userId } },
    ],
  };
  const total = await prisma.auditEvent.count({ where });
  const pageCount = Math.max(1, Math.ceil(total / SECURITY_EVENTS_PAGE_SIZE));
  const current = Math.min(Math.max(1, Number.isFinite(page) ? Math.floor(page) : 1), pageCount);
  const rows = await prisma.auditEvent.findMany({
    where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    skip: (current - 1) * SECURITY_EVENTS_PAGE_SIZE,
    take: SECURITY_EVENTS_PAGE_SIZE,
    select: { id: true, action: true, actorId: true, ip: true, before: true, after: true, createdAt: true },
  });
  return {
    total,
    page: current,
    pageCount,
    items: rows.map((row) => {
      const actor: SecurityEventActor = row.actorId === userId ? "you" : row.actorId ? "staff" : "system";
      return {
        id: row.id,
        action: row.action,
        actor,
        createdAt: row.createdAt,
        sentence: describeSecurityEvent({ action: row.action, actor, before: row.before, after: row.after }),
        // The member's own address when they acted; staff's addresses are not theirs to see.
        ip: actor === "you" ? row.ip : null,
      };
    }),
  };
}
