import { createElement } from "react";
import type { Prisma } from "@prisma/client";
import { createCookie } from "@remix-run/node";
import { decodeIdToken, generateCodeVerifier, generateState, Google, OAuth2RequestError } from "arctic";
import { z } from "zod";
import * as NewSignIn from "#emails/new-sign-in";
import { auditNewDeviceSignIn } from "#app/models/account.server";
import { audit } from "#app/models/audit.server";
import { createSession, generateSessionToken, hashToken, type ClientInfo } from "#app/models/session.server";
import { prisma } from "#app/utils/db.server";
import { grantWelcomeCredit } from "./wallet.server";
import { sendEmail } from "#app/utils/email.server";
import { env, type Env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";

// Sign-in with Google (OpenID Connect, authorization code + PKCE, through arctic).
// Google's `sub` is the identity; the address only matters the first time, and only when Google
// says it verified it. A new person finishes a short profile before the account exists.

export const GOOGLE_SCOPES = ["openid", "email", "profile"];
export const GOOGLE_CALLBACK_PATH = "/auth/google/callback";
export const GOOGLE_SIGNUP_MINUTES = 15;
const OAUTH_COOKIE_SECONDS = 600;
const GOOGLE_ISSUERS = ["https://accounts.google.com", "accounts.google.com"];

type GoogleEnv = Pick<Env, "googleEnabled" | "GOOGLE_CLIENT_ID" | "GOOGLE_CLIENT_SECRET" | "APP_URL">;

/** The client settings, or null when Google sign-in is not configured. Pure: tests pass their own env. */
export function googleConfig(source: GoogleEnv = env) {
  if (!source.googleEnabled || !source.GOOGLE_CLIENT_ID || !source.GOOGLE_CLIENT_SECRET) return null;
  return {
    clientId: source.GOOGLE_CLIENT_ID,
    clientSecret: source.GOOGLE_CLIENT_SECRET,
    redirectURI: `${source.APP_URL}${GOOGLE_CALLBACK_PATH}`,
  };
}

let client: { google: Google; clientId: string } | null = null;

/** The Google client, built on first use; a 404 Response is thrown when Google is not configured. */
export function requireGoogle() {
  const config = googleConfig();
  if (!config) throw new Response("Not Found", { status: 404 });
  if (client?.clientId !== config.clientId) {
    client = {
      google: new Google(config.clientId, config.clientSecret, config.redirectURI),
      clientId: config.clientId,
    };
  }
  return client;
}

// The OAuth round trip's two secrets live in short-lived cookies scoped to /auth/google.
const cookiePrefix = env.isProduction ? "__Secure-" : "";
const oauthCookieOptions = {
  httpOnly: true,
  sameSite: "lax" as const,
  secure: env.isProduction,
  path: "/auth/google",
  maxAge: OAUTH_COOKIE_SECONDS,
};
export const googleStateCookie = createCookie(`${cookiePrefix}google_oauth_state`, oauthCookieOptions);
export const googleVerifierCookie = createCookie(`${cookiePrefix}google_code_verifier`, oauthCookieOptions);
/** Names the pending sign-up between the callback and the onboarding form. */
export const googleSignupCookie = createCookie(`${cookiePrefix}google_signup`, {
  ...oauthCookieOptions,
  path: "/onboarding/google",
  maxAge: GOOGLE_SIGNUP_MINUTES * 60,
});

/**
 * Where to go once signed in, when the Google sign-in started from /login?redirectTo=…: already a safe
 * path (safeRedirectPath), set only when there is one, and read through safeRedirectPath again. Path "/"
 * because both the callback and the onboarding form finish a sign-in.
 */
export const googleReturnCookie = createCookie(`${cookiePrefix}google_return_to`, {
  ...oauthCookieOptions,
  path: "/",
  maxAge: GOOGLE_SIGNUP_MINUTES * 60,
});

export type GoogleRefusal =
  "state" | "cancelled" | "failed" | "unverified" | "linked_elsewhere" | "expired" | "disabled";

const refusalMessages: Record<GoogleRefusal, string> = {
  state: "Your Google sign-in could not be checked: it expired or was started in another window. Please try again.",
  cancelled: "Google sign-in was cancelled. You can try again, or sign in with your password.",
  failed: "We could not complete the sign-in with Google. Please try again.",
  unverified:
    "Google has not confirmed that email address. Confirm it with Google first, or sign up with email and password.",
  linked_elsewhere:
    "The account with that email address is linked to a different Google account. Sign in with that Google account or with your password.",
  expired: "Your Google sign-up expired before it was finished. Please continue with Google again.",
  // Google has just proven who this is (the linked identity or the verified address), so saying so
  // reveals nothing to a stranger; a password sign-in gets the generic answer instead.
  disabled: "This account has been disabled. If you think this is a mistake, contact us.",
};

/** The login page's `?error=` value for a refusal. */
export function googleErrorParam(reason: GoogleRefusal) {
  return `google_${reason}`;
}

/** Text for a login page `?error=` value; null for anything unknown. */
export function googleErrorMessage(param: string | null): string | null {
  if (!param?.startsWith("google_")) return null;
  const reason = param.slice("google_".length);
  return Object.hasOwn(refusalMessages, reason) ? refusalMessages[reason as GoogleRefusal] : null;
}

export function startGoogleSignIn() {
  const { google } = requireGoogle();
  const state = generateState();
  const codeVerifier = generateCodeVerifier();
  const url = google.createAuthorizationURL(state, codeVerifier, GOOGLE_SCOPES);
  // Shared devices and people with several Google accounts: always ask which one.
  url.searchParams.set("prompt", "select_account");
  return { url: url.toString(), state, codeVerifier };
}

const ClaimsSchema = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  sub: z.string().min(1).max(255),
  email: z.string().trim().min(3).max(254),
  // Google sends a boolean; some older tokens carry the string form.
  email_verified: z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]),
  name: z.string().optional(),
});

type GoogleIdentity = { sub: string; email: string; emailVerified: boolean; name: string | null };

/**
 * The ID token arrives straight from Google's token endpoint over TLS, so its signature need not be
 * checked (OpenID Connect Core 3.1.3.7); issuer, audience and expiry still are.
 */
function readIdentity(idToken: string, clientId: string): GoogleIdentity | null {
  let payload: unknown;
  try {
    payload = decodeIdToken(idToken);
  } catch {
    return null;
  }
  const parsed = ClaimsSchema.safeParse(payload);
  if (!parsed.success) return null;
  const claims = parsed.data;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!GOOGLE_ISSUERS.includes(claims.iss) || !audiences.includes(clientId) || claims.exp * 1000 <= Date.now()) {
    return null;
  }
  return {
    sub: claims.sub,
    email: claims.email.toLowerCase(),
    emailVerified: claims.email_verified,
    name: claims.name?.trim() || null,
  };
}

function isUniqueViolation(error: unknown) {
  return (error as Prisma.PrismaClientKnownRequestError | null)?.code === "P2002";
}

type Resolution = { status: "user"; userId: string } | { status: "new" } | { status: "refused"; reason: GoogleRefusal };

/**
 * Finds (or links) the account for a Google identity:
 *  1. an account already linked to this `sub`;
 *  2. with an address Google verified, the account with that address. A verified account is linked.
 *     An unverified one may have been registered by someone else ahead of the mailbox owner
 *     (pre-hijacking): it is linked and verified, and its password, sessions and pending proofs
 *     are removed, so only the person who proved the mailbox gets in;
 *  3. otherwise nobody: a new person.
 */
async function resolveGoogleIdentity(identity: GoogleIdentity, ip: string | null): Promise<Resolution> {
  const bySub = await prisma.user.findUnique({
    where: { googleSub: identity.sub },
    select: { id: true, disabledAt: true },
  });
  if (bySub) return bySub.disabledAt ? { status: "refused", reason: "disabled" } : { status: "user", userId: bySub.id };
  if (!identity.emailVerified) return { status: "refused", reason: "unverified" };
  const byEmail = await prisma.user.findUnique({
    where: { email: identity.email },
    select: { id: true, googleSub: true, emailVerifiedAt: true, disabledAt: true },
  });
  if (!byEmail) return { status: "new" };
  // Nothing is linked to (or reclaimed from) a disabled account.
  if (byEmail.disabledAt) return { status: "refused", reason: "disabled" };
  if (byEmail.googleSub) return { status: "refused", reason: "linked_elsewhere" };
  const userId = byEmail.id;
  try {
    const linkAudit = (how: "verified_email" | "reclaimed_unverified") => ({
      actorId: userId,
      action: "account.google_linked",
      targetType: "user",
      targetId: userId,
      ip,
      after: { how },
    });
    if (byEmail.emailVerifiedAt) {
      const linked = await prisma.$transaction(async (tx) => {
        const { count } = await tx.user.updateMany({
          where: { id: userId, googleSub: null },
          data: { googleSub: identity.sub },
        });
        if (count !== 1) return false;
        await audit(linkAudit("verified_email"), tx);
        return true;
      });
      if (!linked) return { status: "refused", reason: "failed" };
      logger.info("account.google_linked", { userId });
      return { status: "user", userId };
    }
    const linked = await prisma.$transaction(async (tx) => {
      const { count } = await tx.user.updateMany({
        where: { id: userId, email: identity.email, googleSub: null, emailVerifiedAt: null },
        data: { googleSub: identity.sub, emailVerifiedAt: new Date() },
      });
      if (count !== 1) return false;
      await tx.password.deleteMany({ where: { userId } });
      await tx.session.deleteMany({ where: { userId } });
      // A pending email change could move the account to the squatter's address: end every proof.
      await tx.emailVerification.deleteMany({ where: { userId } });
      await tx.passwordReset.deleteMany({ where: { userId } });
      await audit(linkAudit("reclaimed_unverified"), tx);
      return true;
    });
    if (!linked) return { status: "refused", reason: "failed" };
    logger.warn("account.google_reclaimed_unverified", { userId });
    return { status: "user", userId };
  } catch (error) {
    // The same Google account was linked elsewhere at the same moment.
    if (isUniqueViolation(error)) return { status: "refused", reason: "failed" };
    throw error;
  }
}

async function signInUser(userId: string, client: ClientInfo): Promise<string | null> {
  const user = await prisma.user.findUniqueOrThrow({
    where: { id: userId },
    select: { email: true, displayName: true, disabledAt: true, sessions: { select: { userAgent: true } } },
  });
  if (user.disabledAt) return null;
  const knownDevice = user.sessions.some((session) => session.userAgent === client.userAgent);
  const { cookie } = await createSession(userId, client);
  logger.info("account.signed_in", { userId, method: "google", newDevice: !knownDevice });
  if (!knownDevice) await auditNewDeviceSignIn(userId, "google", client);
  if (!knownDevice && user.sessions.length > 0) {
    const props = {
      displayName: user.displayName,
      when: new Date().toUTCString(),
      device: client.userAgent?.slice(0, 120) ?? "Unknown device",
      ip: client.ip ?? "unknown",
      settingsUrl: `${env.APP_URL}/settings/sessions`,
    };
    await sendEmail({
      to: user.email,
      subject: NewSignIn.subject(props),
      react: createElement(NewSignIn.NewSignInEmail, props),
      tag: "new-sign-in",
    });
  }
  return cookie;
}

/** A display name suggestion from Google's profile, valid for DisplayNameSchema when possible. */
function suggestedName(identity: GoogleIdentity) {
  const name = (identity.name ?? "").replace(/[<>]/g, "").trim().slice(0, 60).trim();
  return name || (identity.email.split("@")[0] ?? "").slice(0, 60);
}

async function createPendingSignup(identity: GoogleIdentity) {
  const token = generateSessionToken() + generateSessionToken();
  await prisma.$transaction([
    prisma.googleSignup.deleteMany({
      where: { OR: [{ googleSub: identity.sub }, { expiresAt: { lte: new Date() } }] },
    }),
    prisma.googleSignup.create({
      data: {
        tokenHash: hashToken(token),
        googleSub: identity.sub,
        email: identity.email,
        displayName: suggestedName(identity),
        expiresAt: new Date(Date.now() + GOOGLE_SIGNUP_MINUTES * 60_000),
      },
    }),
  ]);
  return token;
}

export type GoogleSignInResult =
  | { status: "signed_in"; userId: string; cookie: string }
  | { status: "onboarding"; token: string }
  | { status: "refused"; reason: GoogleRefusal };

/**
 * Exchanges the authorization code (with its PKCE verifier) and applies the account rules. A
 * sign-in returns the session Set-Cookie; a new person gets a pending sign-up token instead.
 */
export async function completeGoogleSignIn({
  code,
  codeVerifier,
  client: clientInfo,
}: {
  code: string;
  codeVerifier: string;
  client: ClientInfo;
}): Promise<GoogleSignInResult> {
  const { google, clientId } = requireGoogle();
  let idToken: string;
  try {
    const tokens = await google.validateAuthorizationCode(code, codeVerifier);
    idToken = tokens.idToken();
  } catch (error) {
    // OAuth2RequestError: Google refused the code (reused, expired, wrong verifier); others: network.
    logger.warn("google.exchange_failed", {
      reason: error instanceof OAuth2RequestError ? error.code : error instanceof Error ? error.name : "unknown",
    });
    return { status: "refused", reason: "failed" };
  }
  const identity = readIdentity(idToken, clientId);
  if (!identity) {
    logger.warn("google.bad_id_token");
    return { status: "refused", reason: "failed" };
  }
  const resolution = await resolveGoogleIdentity(identity, clientInfo.ip);
  if (resolution.status === "refused") return resolution;
  if (resolution.status === "new") return { status: "onboarding", token: await createPendingSignup(identity) };
  const cookie = await signInUser(resolution.userId, clientInfo);
  if (!cookie) return { status: "refused", reason: "disabled" };
  return { status: "signed_in", userId: resolution.userId, cookie };
}

/** The pending sign-up named by the cookie token, while it lasts. */
export async function getPendingGoogleSignup(token: string) {
  const row = await prisma.googleSignup.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { email: true, displayName: true, expiresAt: true },
  });
  if (!row || row.expiresAt <= new Date()) return null;
  return { email: row.email, displayName: row.displayName };
}

export type GoogleProfileInput = { displayName: string; country: string; phone: string | null };

/**
 * Creates the account for a pending Google sign-up: verified, linked, without a password. If the
 * person got an account in the meantime (another tab, a password sign-up) the usual rules apply.
 */
export async function completeGoogleOnboarding(
  token: string,
  profile: GoogleProfileInput,
  clientInfo: ClientInfo,
): Promise<{ status: "signed_in"; userId: string; cookie: string } | { status: "refused"; reason: GoogleRefusal }> {
  const tokenHash = hashToken(token);
  const pending = await prisma.googleSignup.findUnique({ where: { tokenHash } });
  if (!pending || pending.expiresAt <= new Date()) return { status: "refused", reason: "expired" };
  const identity: GoogleIdentity = {
    sub: pending.googleSub,
    email: pending.email,
    emailVerified: true,
    name: pending.displayName,
  };
  let resolution = await resolveGoogleIdentity(identity, clientInfo.ip);
  if (resolution.status === "new") {
    const now = new Date();
    try {
      const user = await prisma.user.create({
        data: {
          email: identity.email,
          emailVerifiedAt: now,
          googleSub: identity.sub,
          displayName: profile.displayName,
          country: profile.country,
          phone: profile.phone,
          ageConfirmedAt: now,
          termsAcceptedAt: now,
        },
        select: { id: true },
      });
      logger.info("account.created", { userId: user.id, method: "google" });
      await grantWelcomeCredit(user.id, { ip: clientInfo.ip });
      resolution = { status: "user", userId: user.id };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      // A double submit or a sign-up for the same address won the race: resolve again.
      resolution = await resolveGoogleIdentity(identity, clientInfo.ip);
    }
  }
  await prisma.googleSignup.deleteMany({ where: { OR: [{ tokenHash }, { googleSub: identity.sub }] } });
  if (resolution.status === "refused") return resolution;
  if (resolution.status === "new") return { status: "refused", reason: "failed" };
  const cookie = await signInUser(resolution.userId, clientInfo);
  if (!cookie) return { status: "refused", reason: "disabled" };
  return { status: "signed_in", userId: resolution.userId, cookie };
}
