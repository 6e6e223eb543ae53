import type { Role } from "@prisma/client";
import { redirect } from "@remix-run/node";
import { validateSessionCookie, type SessionUser } from "#app/models/session.server";
import { safeRedirectPath } from "#app/utils/redirect.server";

type Auth =
  { user: SessionUser; sessionId: string; setCookie: string | null } | { user: null; setCookie: string | null };

// The cookie is checked once per request. Loaders of a page share its Request (patches/, ADR 0010), but
// Remix still gives each one its own copy when the URL carries `?index` or `_routes`, so a WeakMap on the
// Request alone can miss; the copies start together, so they share the check in flight for the cookie.
const byRequest = new WeakMap<Request, Promise<Auth>>();
const inFlight = new Map<string, Promise<Auth>>();

export function getAuth(request: Request): Promise<Auth> {
  let pending = byRequest.get(request);
  if (pending) return pending;
  const cookie = request.headers.get("cookie") ?? "";
  pending = inFlight.get(cookie);
  if (!pending) {
    const check = validateSessionCookie(cookie || null);
    inFlight.set(cookie, check);
    const done = () => {
      if (inFlight.get(cookie) === check) inFlight.delete(cookie);
    };
    check.then(done, done);
    pending = check;
  }
  byRequest.set(request, pending);
  return pending;
}

export async function getUser(request: Request): Promise<SessionUser | null> {
  return (await getAuth(request)).user;
}

function loginRedirect(request: Request) {
  const url = new URL(request.url);
  // The same check the sign-in action applies later: a path it would refuse is not worth carrying.
  const back = safeRedirectPath(url.pathname + url.search, "/");
  return redirect(back !== "/" ? `/login?redirectTo=${encodeURIComponent(back)}` : "/login");
}

export async function requireSession(request: Request) {
  const auth = await getAuth(request);
  if (!auth.user) throw loginRedirect(request);
  return auth;
}

export async function requireUser(request: Request): Promise<SessionUser> {
  return (await requireSession(request)).user;
}

/** Money and generation need a proven address. */
export async function requireVerifiedUser(request: Request): Promise<SessionUser> {
  const user = await requireUser(request);
  if (!user.emailVerified) throw redirect("/verify");
  return user;
}

/** Anyone without the role gets a plain 404: the page does not exist for them. */
export async function requireRole(request: Request, roles: Role | Role[]): Promise<SessionUser> {
  const user = await requireUser(request);
  const allowed = Array.isArray(roles) ? roles : [roles];
  if (!allowed.includes(user.role)) throw new Response("Not Found", { status: 404 });
  return user;
}

export async function requireAnonymous(request: Request) {
  if (await getUser(request)) throw redirect("/");
}
