import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";
import type { Role } from "@prisma/client";
import { Lucia, TimeSpan, type Adapter, type DatabaseSession, type DatabaseUser } from "lucia";
import { prisma, sql } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";

// The one module that knows about lucia (v3, in maintenance): swap it out here and nowhere else.
// The cookie carries a random token; the database only ever sees its SHA-256, so a leaked
// sessions table cannot be replayed as cookies.

export const SESSION_DAYS = 30;
const LAST_SEEN_RESOLUTION_MS = 5 * 60 * 1000;

export type SessionUser = {
  id: string;
  email: string;
  displayName: string;
  country: string;
  phone: string | null;
  role: Role;
  emailVerified: boolean;
  hasPassword: boolean;
};

type SessionMeta = { ip: string | null; userAgent: string | null; createdAt: Date; lastSeenAt: Date };

declare module "lucia" {
  interface Register {
    Lucia: typeof lucia;
    DatabaseSessionAttributes: SessionMeta;
    DatabaseUserAttributes: Omit<SessionUser, "id">;
  }
}

type SessionRow = {
  id: string;
  user_id: string;
  expires_at: Date;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_seen_at: Date;
  email: string;
  display_name: string;
  country: string;
  phone: string | null;
  role: Role;
  email_verified: boolean;
  disabled: boolean;
  has_password: boolean;
};

// Every request with a cookie runs this: one prepared statement (session, member with their profile, and
// whether a password is set) straight on the pool rather than three Prisma queries, so Settings → Profile
// needs no query of its own (see docs/benchmarks.md, bench:http).
const SESSION_AND_USER = {
  name: "session_and_user",
  text: `SELECT s.id, s.user_id, s.expires_at, s.ip, s.user_agent, s.created_at, s.last_seen_at,
      u.email, u.display_name, u.country, u.phone, u.role, u.email_verified_at IS NOT NULL AS email_verified,
      u.disabled_at IS NOT NULL AS disabled, p.user_id IS NOT NULL AS has_password
    FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN passwords p ON p.user_id = s.user_id
    WHERE s.id = $1`,
};

function toDatabaseUser(row: SessionRow): DatabaseUser {
  return {
    id: row.user_id,
    attributes: {
      email: row.email,
      displayName: row.display_name,
      country: row.country,
      phone: row.phone,
      role: row.role,
      emailVerified: row.email_verified,
      hasPassword: row.has_password,
    },
  };
}

function toDatabaseSession(row: {
  id: string;
  userId: string;
  expiresAt: Date;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastSeenAt: Date;
}): DatabaseSession {
  return {
    id: row.id,
    userId: row.userId,
    expiresAt: row.expiresAt,
    attributes: { ip: row.ip, userAgent: row.userAgent, createdAt: row.createdAt, lastSeenAt: row.lastSeenAt },
  };
}

const adapter: Adapter = {
  async getSessionAndUser(sessionId) {
    const [row] = await sql<SessionRow>(SESSION_AND_USER, [sessionId]);
    if (!row) return [null, null];
    // A disabled account's sessions are deleted when it is disabled; this refuses any that slipped
    // through (a sign-in racing the disable, a session started by another path).
    if (row.disabled) {
      await prisma.session.deleteMany({ where: { id: row.id } });
      return [null, null];
    }
    return [
      toDatabaseSession({
        id: row.id,
        userId: row.user_id,
        expiresAt: row.expires_at,
        ip: row.ip,
        userAgent: row.user_agent,
        createdAt: row.created_at,
        lastSeenAt: row.last_seen_at,
      }),
      toDatabaseUser(row),
    ];
  },
  async getUserSessions(userId) {
    const rows = await prisma.session.findMany({ where: { userId }, orderBy: { lastSeenAt: "desc" } });
    return rows.map(toDatabaseSession);
  },
  async setSession(session) {
    await prisma.session.create({
      data: {
        id: session.id,
        userId: session.userId,
        expiresAt: session.expiresAt,
        ip: session.attributes.ip,
        userAgent: session.attributes.userAgent,
      },
    });
  },
  async updateSessionExpiration(sessionId, expiresAt) {
    await prisma.session.updateMany({ where: { id: sessionId }, data: { expiresAt } });
  },
  async deleteSession(sessionId) {
    await prisma.session.deleteMany({ where: { id: sessionId } });
  },
  async deleteUserSessions(userId) {
    await prisma.session.deleteMany({ where: { userId } });
  },
  async deleteExpiredSessions() {
    await prisma.session.deleteMany({ where: { expiresAt: { lte: new Date() } } });
  },
};

const lucia = new Lucia(adapter, {
  sessionExpiresIn: new TimeSpan(SESSION_DAYS, "d"),
  sessionCookie: {
    // __Host- binds the cookie to this exact origin (Secure, Path=/, no Domain) in production.
    name: env.isProduction ? "__Host-session" : "session",
    expires: true,
    attributes: { secure: env.isProduction, sameSite: "lax", path: "/" },
  },
  getSessionAttributes: (attributes) => attributes,
  getUserAttributes: (attributes) => attributes,
});

export const sessionCookieName = lucia.sessionCookieName;

export function generateSessionToken(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return encodeBase32LowerCaseNoPadding(bytes);
}

export function hashToken(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export type ClientInfo = { ip: string | null; userAgent: string | null };

/** Starts a session and returns the Set-Cookie value; a fresh token every sign-in. */
export async function createSession(userId: string, client: ClientInfo) {
  const token = generateSessionToken();
  const now = new Date();
  const session = await lucia.createSession(
    userId,
    { ip: client.ip, userAgent: client.userAgent?.slice(0, 400) ?? null, createdAt: now, lastSeenAt: now },
    { sessionId: hashToken(token) },
  );
  return { session, cookie: lucia.createSessionCookie(token).serialize() };
}

export type ValidatedSession = {
  sessionId: string;
  user: SessionUser;
  /** Set when the expiry was extended (or the cookie must be cleared). */
  setCookie: string | null;
};

/** Reads the cookie; returns the member and, when the session was extended, a refreshed cookie. */
export async function validateSessionCookie(
  cookieHeader: string | null,
): Promise<ValidatedSession | { setCookie: string | null; user: null }> {
  const token = cookieHeader ? lucia.readSessionCookie(cookieHeader) : null;
  if (!token) return { user: null, setCookie: null };
  const { session, user } = await lucia.validateSession(hashToken(token));
  if (!session) return { user: null, setCookie: lucia.createBlankSessionCookie().serialize() };
  if (Date.now() - session.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    await prisma.session.updateMany({ where: { id: session.id }, data: { lastSeenAt: new Date() } });
  }
  return {
    sessionId: session.id,
    user,
    // lucia marks a session fresh when it extended the expiry (less than half of 30 days left).
    setCookie: session.fresh ? lucia.createSessionCookie(token).serialize() : null,
  };
}

export function blankSessionCookie(): string {
  return lucia.createBlankSessionCookie().serialize();
}

export async function invalidateSession(sessionId: string) {
  await lucia.invalidateSession(sessionId);
}

export async function invalidateUserSessions(userId: string, options: { except?: string } = {}) {
  await prisma.session.deleteMany({ where: { userId, ...(options.except ? { id: { not: options.except } } : {}) } });
}

export async function listSessions(userId: string) {
  return prisma.session.findMany({
    where: { userId, expiresAt: { gt: new Date() } },
    orderBy: { lastSeenAt: "desc" },
    select: { id: true, ip: true, userAgent: true, createdAt: true, lastSeenAt: true, expiresAt: true },
  });
}

/** Ends one of the member's own sessions; a session id of somebody else changes nothing. */
export async function revokeSession(userId: string, sessionId: string) {
  const { count } = await prisma.session.deleteMany({ where: { id: sessionId, userId } });
  return count === 1;
}

export async function deleteExpiredSessions() {
  await lucia.deleteExpiredSessions();
}
