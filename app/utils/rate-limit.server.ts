import ipaddr from "ipaddr.js";
import { prisma } from "./db.server";

// Fixed-window counters in PostgreSQL, so every app instance sees the same count.
export type RateLimitRule = { limit: number; windowSeconds: number };

export const rateLimits = {
  loginPerIp: { limit: 30, windowSeconds: 15 * 60 },
  loginPerAccount: { limit: 10, windowSeconds: 15 * 60 },
  // Sign-in failures count per (account, address), so a stranger cannot lock a member out from their
  // own device; the account-wide ceiling (above what one address may try) still slows a spread-out guess.
  loginPerAccountIp: { limit: 10, windowSeconds: 15 * 60 },
  loginPerAccountCeiling: { limit: 100, windowSeconds: 15 * 60 },
  signupPerIp: { limit: 10, windowSeconds: 60 * 60 },
  verifyPerIp: { limit: 30, windowSeconds: 15 * 60 },
  resendPerAccount: { limit: 5, windowSeconds: 60 * 60 },
  resetPerIp: { limit: 10, windowSeconds: 60 * 60 },
  resetPerAccount: { limit: 3, windowSeconds: 60 * 60 },
} satisfies Record<string, RateLimitRule>;

export type RateLimitResult = { allowed: boolean; count: number; retryAfterSeconds: number };

/**
 * The part of a client address that a per-IP limit counts: an IPv6 client by its /64 (what one
 * subscriber is usually given, so counting single addresses would let it walk through 2^64 of them),
 * an IPv4-mapped IPv6 address as the IPv4 address; anything else as it is.
 */
export function rateLimitNetwork(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.process(ip);
  if (address.kind() === "ipv4") return address.toString();
  const network = (address as ipaddr.IPv6)
    .toNormalizedString()
    .split(":")
    .slice(0, 4)
    .map((part) => Number.parseInt(part, 16).toString(16));
  return `${network.join(":")}::/64`;
}

const PER_IP_KEY = /^(.*?:ip:)(.+)$/;

/** Keys of the form `<scope>:ip:<address>` count per network (rateLimitNetwork), whoever builds them. */
function counterKey(key: string): string {
  const match = PER_IP_KEY.exec(key);
  return match ? match[1]! + rateLimitNetwork(match[2]!) : key;
}

/** Counts one attempt against `key` and says whether it is still within the rule. */
export async function consumeRateLimit(rawKey: string, rule: RateLimitRule): Promise<RateLimitResult> {
  const key = counterKey(rawKey);
  const [row] = await prisma.$queryRaw<{ count: number; reset_at: Date }[]>`
    INSERT INTO rate_limits (key, count, reset_at)
    VALUES (${key}, 1, now() + make_interval(secs => ${rule.windowSeconds}))
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN rate_limits.reset_at <= now() THEN 1 ELSE rate_limits.count + 1 END,
      reset_at = CASE WHEN rate_limits.reset_at <= now() THEN EXCLUDED.reset_at ELSE rate_limits.reset_at END
    RETURNING count, reset_at`;
  if (!row) throw new Error("rate limit upsert returned nothing");
  const retryAfterSeconds = Math.max(1, Math.ceil((row.reset_at.getTime() - Date.now()) / 1000));
  return { allowed: row.count <= rule.limit, count: row.count, retryAfterSeconds };
}

/** Forget an account's failures after it proves itself (e.g. a successful sign-in). */
export async function resetRateLimit(key: string) {
  await prisma.rateLimit.deleteMany({ where: { key: counterKey(key) } });
}

export async function deleteExpiredRateLimits() {
  await prisma.rateLimit.deleteMany({ where: { resetAt: { lte: new Date() } } });
}

export function retryMessage(seconds: number) {
  const minutes = Math.ceil(seconds / 60);
  return minutes <= 1
    ? "Too many attempts. Try again in a minute."
    : `Too many attempts. Try again in ${minutes} minutes.`;
}
