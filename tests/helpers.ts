import type { ActionFunctionArgs, AppLoadContext, LoaderFunctionArgs } from "@remix-run/node";
import { createSession } from "#app/models/session.server";
import { deliverDueNotifications } from "#app/notifications/delivery.server";
import { prisma } from "#app/utils/db.server";
import { hashPassword } from "#app/utils/password.server";

// Helpers to drive real loaders and actions with real Requests against the test database.

export const BASE_URL = "http://localhost:3000";
let counter = 0;

export function uniqueEmail(prefix = "member") {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

export const TEST_PASSWORD = "correct horse battery staple";

export async function createUser(
  options: {
    email?: string;
    password?: string | null;
    verified?: boolean;
    role?: "member" | "support" | "admin";
    displayName?: string;
  } = {},
) {
  const now = new Date();
  const password = options.password === undefined ? TEST_PASSWORD : options.password;
  const user = await prisma.user.create({
    data: {
      email: (options.email ?? uniqueEmail()).toLowerCase(),
      displayName: options.displayName ?? "Test Member",
      country: "CM",
      role: options.role ?? "member",
      emailVerifiedAt: options.verified === false ? null : now,
      ageConfirmedAt: now,
      termsAcceptedAt: now,
      ...(password ? { password: { create: { hash: await hashPassword(password) } } } : {}),
    },
  });
  return { ...user, password };
}

/** Signs a member in and returns the Cookie header value a browser would send. */
export async function signedInCookie(userId: string, userAgent = "vitest") {
  const { cookie, session } = await createSession(userId, { ip: "203.0.113.9", userAgent });
  return { cookie: cookie.split(";")[0] ?? "", sessionId: session.id };
}

type RequestOptions = { cookie?: string; headers?: Record<string, string> };

export function getRequest(path: string, options: RequestOptions = {}) {
  return new Request(BASE_URL + path, {
    headers: { ...(options.cookie ? { cookie: options.cookie } : {}), ...options.headers },
  });
}

export function postRequest(path: string, form: Record<string, string>, options: RequestOptions = {}) {
  return new Request(BASE_URL + path, {
    method: "POST",
    body: new URLSearchParams(form),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: BASE_URL,
      ...(options.cookie ? { cookie: options.cookie } : {}),
      ...options.headers,
    },
  });
}

export function context(ip = "203.0.113.9"): AppLoadContext {
  return { clientIp: ip };
}

type DataFunction = (args: LoaderFunctionArgs & ActionFunctionArgs) => unknown;

/**
 * Calls a loader/action the way Remix does and normalises the outcome: thrown or returned
 * Responses (redirects, 404s) and `data()` results become { status, headers, data }.
 */
export async function call(fn: DataFunction, request: Request, params: Record<string, string> = {}, ctx = context()) {
  let result: unknown;
  try {
    result = await fn({ request, params, context: ctx } as LoaderFunctionArgs & ActionFunctionArgs);
  } catch (thrown) {
    result = thrown;
  }
  if (result instanceof Response) {
    const text = await result.text();
    return {
      status: result.status,
      headers: result.headers,
      data: text as unknown,
      location: result.headers.get("location"),
    };
  }
  if (result && typeof result === "object" && (result as { type?: string }).type === "DataWithResponseInit") {
    const value = result as { data: unknown; init: ResponseInit | null };
    const headers = new Headers(value.init?.headers);
    return { status: value.init?.status ?? 200, headers, data: value.data, location: headers.get("location") };
  }
  if (result instanceof Error) throw result;
  return { status: 200, headers: new Headers(), data: result, location: null };
}

/** Pulls "name=value" from Set-Cookie headers, for the next request. */
export function cookieFrom(headers: Headers, name?: string) {
  const cookies = headers.getSetCookie().map((value) => value.split(";")[0] ?? "");
  const found = name ? cookies.filter((value) => value.startsWith(`${name}=`)) : cookies;
  return found.join("; ");
}

/**
 * Sends every email the app has queued and that is due (what the background sweep does), through the
 * configured transport (the dev outbox, or the fake Resend when a test sets RESEND_API_KEY). Actions only
 * queue their emails: call this before reading what was sent.
 */
export async function deliverQueuedEmails(options: Parameters<typeof deliverDueNotifications>[0] = {}) {
  return deliverDueNotifications(options);
}

/** The newest dev-outbox email to this address (after delivering what was queued). */
export async function latestOutboxEmail(to: string, tag?: string) {
  await deliverQueuedEmails();
  return prisma.outboxEmail.findFirst({ where: { to, ...(tag ? { tag } : {}) }, orderBy: { createdAt: "desc" } });
}

/** Credits a member's wallet from the promotions account (as an admin grant would). */
export async function fundWallet(userId: string, amount: bigint) {
  const { PLATFORM_ACCOUNTS, ensureWallet, transfer, walletAccountId } = await import("#app/models/ledger.server");
  await ensureWallet(userId);
  await transfer({
    key: `test-fund:${userId}:${Math.random().toString(36).slice(2)}`,
    kind: "grant",
    description: "Test credit",
    postings: [
      { accountId: PLATFORM_ACCOUNTS.promotions, amount: -amount },
      { accountId: walletAccountId(userId), amount },
    ],
  });
}
