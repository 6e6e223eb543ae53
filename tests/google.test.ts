import { createHash, randomBytes, randomInt } from "node:crypto";
import { MockAgent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

// `env` is parsed when app modules are first imported. vi.hoisted runs before this file's (hoisted)
// imports, so the Google keys are in process.env by then. Each test file has its own module graph,
// so other files still see Google as not configured.
const google = vi.hoisted(() => {
  const keys = {
    clientId: "1234567890-test.apps.googleusercontent.com",
    clientSecret: "GOCSPX-test-secret",
    previous: { id: process.env.GOOGLE_CLIENT_ID, secret: process.env.GOOGLE_CLIENT_SECRET },
  };
  process.env.GOOGLE_CLIENT_ID = keys.clientId;
  process.env.GOOGLE_CLIENT_SECRET = keys.clientSecret;
  return keys;
});

import { googleConfig } from "#app/models/google.server";
import { hashToken } from "#app/models/session.server";
import { action as startAction, loader as startLoader } from "#app/routes/auth.google";
import { loader as callbackLoader } from "#app/routes/auth.google.callback";
import { loader as loginLoader } from "#app/routes/login";
import { action as onboardingAction, loader as onboardingLoader } from "#app/routes/onboarding.google";
import { getUser } from "#app/utils/auth.server";
import { prisma } from "#app/utils/db.server";
import { env, parseEnv } from "#app/utils/env.server";
import {
  BASE_URL,
  call,
  cookieFrom,
  createUser,
  getRequest,
  postRequest,
  signedInCookie,
  uniqueEmail,
} from "#tests/helpers";

// ---------------------------------------------------------------------------------------------
// A fake Google at the network edge. arctic calls the global fetch, which (Node 20) goes through
// undici's global dispatcher, so a MockAgent answers for https://oauth2.googleapis.com/token while
// every line of arctic and of our callback runs for real. The fake behaves like Google: a code
// works once, only with the PKCE verifier whose S256 challenge it was issued for, and only for our
// client credentials.
// ---------------------------------------------------------------------------------------------

type Claims = { sub: string; email: string; email_verified?: boolean | string; name?: string; aud?: string };
type IssuedCode = { challenge: string; claims: Claims; used: boolean };

const issuedCodes = new Map<string, IssuedCode>();
let tokenRequests = 0;
let agent: MockAgent;
let previousDispatcher: Dispatcher;

function base64url(value: string | Buffer) {
  return Buffer.from(value).toString("base64url");
}

/** A real-looking (unsigned) Google ID token: base64url(header).base64url(payload).base64url(signature). */
function idToken(claims: Claims) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "RS256", kid: "fake-google-key", typ: "JWT" };
  const payload = {
    iss: "https://accounts.google.com",
    azp: google.clientId,
    aud: claims.aud ?? google.clientId,
    sub: claims.sub,
    email: claims.email,
    email_verified: claims.email_verified ?? true,
    at_hash: base64url(randomBytes(16)),
    ...(claims.name ? { name: claims.name, given_name: claims.name.split(" ")[0] } : {}),
    iat: now,
    exp: now + 3600,
  };
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.${base64url(randomBytes(256))}`;
}

function json(statusCode: number, data: object) {
  return {
    statusCode,
    data: JSON.stringify(data),
    responseOptions: { headers: { "content-type": "application/json; charset=utf-8" } },
  };
}

function invalidGrant(description: string) {
  return json(400, { error: "invalid_grant", error_description: description });
}

function tokenEndpoint(opts: { headers?: unknown; body?: unknown }) {
  tokenRequests += 1;
  // Header names arrive as the client spelled them ("Authorization").
  const headers = new Headers(opts.headers as Record<string, string>);
  const raw = opts.body;
  const body = new URLSearchParams(
    typeof raw === "string" ? raw : raw instanceof Uint8Array ? new TextDecoder().decode(raw) : "",
  );
  const expectedAuth = `Basic ${Buffer.from(`${google.clientId}:${google.clientSecret}`).toString("base64")}`;
  if (headers.get("authorization") !== expectedAuth) {
    return json(401, { error: "invalid_client", error_description: "Unauthorized" });
  }
  if (body.get("grant_type") !== "authorization_code") return invalidGrant("Bad grant type.");
  if (body.get("redirect_uri") !== `${BASE_URL}/auth/google/callback`) return invalidGrant("Bad redirect_uri.");
  const issued = issuedCodes.get(body.get("code") ?? "");
  if (!issued || issued.used) return invalidGrant("Bad Request");
  issued.used = true;
  const verifier = body.get("code_verifier") ?? "";
  if (createHash("sha256").update(verifier).digest("base64url") !== issued.challenge) {
    return invalidGrant("Invalid code verifier.");
  }
  return json(200, {
    access_token: `ya29.${base64url(randomBytes(24))}`,
    expires_in: 3599,
    scope: "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
    token_type: "Bearer",
    id_token: idToken(issued.claims),
  });
}

beforeAll(() => {
  previousDispatcher = getGlobalDispatcher();
  agent = new MockAgent();
  agent.disableNetConnect();
  agent
    .get("https://oauth2.googleapis.com")
    .intercept({ path: "/token", method: "POST" })
    .reply(tokenEndpoint)
    .persist();
  setGlobalDispatcher(agent);
});

afterAll(async () => {
  setGlobalDispatcher(previousDispatcher);
  await agent.close();
  // `env` is already parsed; this only keeps the keys from leaking into a later file in this worker.
  for (const [key, value] of [
    ["GOOGLE_CLIENT_ID", google.previous.id],
    ["GOOGLE_CLIENT_SECRET", google.previous.secret],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

beforeEach(() => {
  tokenRequests = 0;
});

afterEach(() => {
  env.googleEnabled = true;
});

// ---------------------------------------------------------------------------------------------
// Browser steps
// ---------------------------------------------------------------------------------------------

const USER_AGENT = "Mozilla/5.0 (Linux; Android 14) Chrome/126 vitest";

/** Google subject ids are 21-digit strings. */
function uniqueSub() {
  return `1${Array.from({ length: 20 }, () => randomInt(10)).join("")}`;
}

/** Clicks "Continue with Google": returns Google's URL and the cookies the browser now holds. */
async function start() {
  const result = await call(startAction, postRequest("/auth/google", {}));
  expect(result.status).toBe(302);
  const url = new URL(result.location!);
  const cookie = [cookieFrom(result.headers, "google_oauth_state"), cookieFrom(result.headers, "google_code_verifier")]
    .filter(Boolean)
    .join("; ");
  return { result, url, cookie, state: url.searchParams.get("state")! };
}

/** The person picks their Google account: Google issues a code bound to the PKCE challenge. */
function googleAuthorizes(url: URL, claims: Claims) {
  const code = `4/0A${base64url(randomBytes(30))}`;
  issuedCodes.set(code, { challenge: url.searchParams.get("code_challenge")!, claims, used: false });
  return code;
}

function callback(query: Record<string, string>, cookie: string) {
  const search = new URLSearchParams(query).toString();
  return call(
    callbackLoader,
    getRequest(`/auth/google/callback?${search}`, { cookie, headers: { "user-agent": USER_AGENT } }),
  );
}

/** The whole round trip: start, Google consents, callback. */
async function signInWithGoogle(claims: Claims) {
  const started = await start();
  const code = googleAuthorizes(started.url, claims);
  const query = { state: started.state, code, scope: "email profile openid", authuser: "0", prompt: "consent" };
  const result = await callback(query, started.cookie);
  return { ...result, replay: () => callback(query, started.cookie) };
}

async function sessionUser(headers: Headers) {
  const cookie = cookieFrom(headers, "session");
  if (!cookie) return null;
  return getUser(getRequest("/", { cookie }));
}

function expectRefused(result: { status: number; location: string | null; headers: Headers }, reason: string) {
  expect(result.status).toBe(302);
  expect(result.location).toBe(`/login?error=google_${reason}`);
  expect(cookieFrom(result.headers, "session")).toBe("");
}

function expectOAuthCookiesCleared(headers: Headers) {
  const cleared = headers.getSetCookie().filter((value) => /Max-Age=0/.test(value));
  expect(cleared.map((value) => value.split("=")[0]).sort()).toEqual(["google_code_verifier", "google_oauth_state"]);
}

async function loginMessage(reason: string) {
  const page = await call(loginLoader, getRequest(`/login?error=google_${reason}`));
  return (page.data as { error: string | null }).error;
}

// ---------------------------------------------------------------------------------------------

describe("starting a Google sign-in", () => {
  it("redirects to Google with state, an S256 PKCE challenge and the scopes, and sets both cookies", async () => {
    const { result, url, state } = await start();
    expect(url.origin + url.pathname).toBe("https://accounts.google.com/o/oauth2/v2/auth");
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("client_id")).toBe(google.clientId);
    expect(url.searchParams.get("redirect_uri")).toBe(`${BASE_URL}/auth/google/callback`);
    expect(url.searchParams.get("scope")).toBe("openid email profile");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const setCookies = result.headers.getSetCookie();
    expect(setCookies).toHaveLength(2);
    for (const value of setCookies) {
      expect(value).toMatch(/; Max-Age=600/);
      expect(value).toMatch(/; Path=\/auth\/google(;|$)/);
      expect(value).toMatch(/; HttpOnly/);
      expect(value).toMatch(/; SameSite=Lax/);
      expect(value).not.toMatch(/; Secure/); // only in production
    }
    // The state cookie holds the same state; the challenge is SHA-256 of the verifier cookie.
    const { googleStateCookie, googleVerifierCookie } = await import("#app/models/google.server");
    const header = setCookies.map((value) => value.split(";")[0]).join("; ");
    expect(await googleStateCookie.parse(header)).toBe(state);
    const verifier = (await googleVerifierCookie.parse(header)) as string;
    expect(verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("code_challenge")).toBe(createHash("sha256").update(verifier).digest("base64url"));
  });

  it("is POST only (a GET goes to the login page) and not for someone already signed in", async () => {
    const get = await call(startLoader, getRequest("/auth/google"));
    expect(get.status).toBe(302);
    expect(get.location).toBe("/login");
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const signedIn = await call(startAction, postRequest("/auth/google", {}, { cookie }));
    expect(signedIn.location).toBe("/");
  });
});

describe("the callback refuses", () => {
  it("a wrong state, without asking Google and without a session", async () => {
    const started = await start();
    const code = googleAuthorizes(started.url, { sub: uniqueSub(), email: uniqueEmail("g") });
    const result = await callback({ state: "forged-state", code }, started.cookie);
    expectRefused(result, "state");
    expectOAuthCookiesCleared(result.headers);
    expect(tokenRequests).toBe(0);
    expect(await loginMessage("state")).toMatch(/could not be checked/);
  });

  it("a missing state cookie, or a missing state parameter", async () => {
    const started = await start();
    const code = googleAuthorizes(started.url, { sub: uniqueSub(), email: uniqueEmail("g") });
    const verifierOnly = started.cookie
      .split("; ")
      .filter((part) => part.startsWith("google_code_verifier="))
      .join("; ");
    expectRefused(await callback({ state: started.state, code }, verifierOnly), "state");
    expectRefused(await callback({ code }, started.cookie), "state");
    expect(tokenRequests).toBe(0);
  });

  it("a missing PKCE verifier cookie", async () => {
    const started = await start();
    const code = googleAuthorizes(started.url, { sub: uniqueSub(), email: uniqueEmail("g") });
    const stateOnly = started.cookie
      .split("; ")
      .filter((part) => part.startsWith("google_oauth_state="))
      .join("; ");
    const result = await callback({ state: started.state, code }, stateOnly);
    expectRefused(result, "state");
    expect(tokenRequests).toBe(0);
  });

  it("a cancelled consent (error=access_denied)", async () => {
    const started = await start();
    const result = await callback({ state: started.state, error: "access_denied" }, started.cookie);
    expectRefused(result, "cancelled");
    expectOAuthCookiesCleared(result.headers);
    expect(await loginMessage("cancelled")).toMatch(/cancelled/);
  });

  it("a code Google rejects: a reused code gets 400 invalid_grant", async () => {
    const email = uniqueEmail("reuse");
    const user = await createUser({ email });
    const first = await signInWithGoogle({ sub: uniqueSub(), email });
    expect((await sessionUser(first.headers))?.id).toBe(user.id);
    const sessionsBefore = await prisma.session.count({ where: { userId: user.id } });

    const replay = await first.replay();
    expectRefused(replay, "failed");
    expectOAuthCookiesCleared(replay.headers);
    expect(tokenRequests).toBe(2);
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(sessionsBefore);
    expect(await loginMessage("failed")).toMatch(/could not complete/);
  });

  it("a code sent with another verifier (PKCE), and an ID token meant for another client", async () => {
    const a = await start();
    const b = await start();
    const code = googleAuthorizes(a.url, { sub: uniqueSub(), email: uniqueEmail("pkce") });
    // b's state and verifier cookies with a's code: Google refuses the verifier.
    expectRefused(await callback({ state: b.state, code }, b.cookie), "failed");

    const other = await signInWithGoogle({ sub: uniqueSub(), email: uniqueEmail("aud"), aud: "someone-else" });
    expectRefused(other, "failed");
  });

  it("an address Google has not verified, for a new person and for an existing account", async () => {
    const email = uniqueEmail("unverified-google");
    const result = await signInWithGoogle({ sub: uniqueSub(), email, email_verified: false });
    expectRefused(result, "unverified");
    expect(await prisma.googleSignup.count({ where: { email } })).toBe(0);
    expect(await prisma.user.count({ where: { email } })).toBe(0);
    expect(await loginMessage("unverified")).toMatch(/Google has not confirmed/);

    const existing = await createUser({ email: uniqueEmail("existing") });
    const linkAttempt = await signInWithGoogle({ sub: uniqueSub(), email: existing.email, email_verified: "false" });
    expectRefused(linkAttempt, "unverified");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: existing.id } })).googleSub).toBeNull();
  });

  it("an address whose account is linked to another Google account", async () => {
    const user = await createUser();
    await prisma.user.update({ where: { id: user.id }, data: { googleSub: uniqueSub() } });
    const result = await signInWithGoogle({ sub: uniqueSub(), email: user.email });
    expectRefused(result, "linked_elsewhere");
  });
});

describe("signing in with Google", () => {
  it("links an existing verified account by its address and signs in, keeping the password", async () => {
    const email = uniqueEmail("verified");
    const user = await createUser({ email, verified: true });
    const sub = uniqueSub();
    const result = await signInWithGoogle({ sub, email: email.toUpperCase(), name: "Someone Else" });
    expect(result.status).toBe(302);
    expect(result.location).toBe("/");
    expect(cookieFrom(result.headers, "session")).toMatch(/^session=[a-z2-7]{32}$/);
    expectOAuthCookiesCleared(result.headers);
    expect((await sessionUser(result.headers))?.id).toBe(user.id);
    const after = await prisma.user.findUniqueOrThrow({ where: { id: user.id }, include: { password: true } });
    expect(after.googleSub).toBe(sub);
    expect(after.password).not.toBeNull();
    expect(after.displayName).toBe("Test Member");
  });

  it("takes an UNverified account back for the mailbox owner: no password, no sessions, no pending proofs", async () => {
    const email = uniqueEmail("squatted");
    // Someone registered the victim's address with their own password and is signed in.
    const squatted = await createUser({ email, verified: false });
    const squatter = await signedInCookie(squatted.id, "squatter-browser");
    await prisma.emailVerification.create({
      data: {
        userId: squatted.id,
        purpose: "email_change",
        email: uniqueEmail("attacker"),
        codeHash: hashToken("x"),
        linkTokenHash: hashToken(`link-${squatted.id}`),
        expiresAt: new Date(Date.now() + 15 * 60_000),
      },
    });
    await prisma.passwordReset.create({
      data: {
        tokenHash: hashToken(`reset-${squatted.id}`),
        userId: squatted.id,
        expiresAt: new Date(Date.now() + 3600_000),
      },
    });

    const sub = uniqueSub();
    const result = await signInWithGoogle({ sub, email });
    expect(result.location).toBe("/");
    expect((await sessionUser(result.headers))?.id).toBe(squatted.id);

    const after = await prisma.user.findUniqueOrThrow({ where: { id: squatted.id }, include: { password: true } });
    expect(after.googleSub).toBe(sub);
    expect(after.emailVerifiedAt).not.toBeNull();
    expect(after.password).toBeNull();
    // The squatter's session is gone; only the one just created remains.
    expect(await getUser(getRequest("/", { cookie: squatter.cookie }))).toBeNull();
    expect(await prisma.session.count({ where: { userId: squatted.id } })).toBe(1);
    expect(await prisma.emailVerification.count({ where: { userId: squatted.id } })).toBe(0);
    expect(await prisma.passwordReset.count({ where: { userId: squatted.id } })).toBe(0);
  });

  it("signs a returning Google member in by sub, even after their address changed at Google", async () => {
    const user = await createUser({ email: uniqueEmail("returning"), password: null });
    const sub = uniqueSub();
    await prisma.user.update({ where: { id: user.id }, data: { googleSub: sub } });
    const result = await signInWithGoogle({ sub, email: uniqueEmail("renamed"), email_verified: false });
    expect(result.location).toBe("/");
    expect((await sessionUser(result.headers))?.id).toBe(user.id);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).email).toBe(user.email);
  });

  it("emails a new-device notice like a password sign-in does", async () => {
    const user = await createUser();
    await signedInCookie(user.id, "some other browser");
    await signInWithGoogle({ sub: uniqueSub(), email: user.email });
    const notice = await prisma.outboxEmail.findFirst({ where: { to: user.email, tag: "new-sign-in" } });
    expect(notice).not.toBeNull();
  });
});

describe("the security log (issue #5)", () => {
  function events(userId: string, action: string) {
    return prisma.auditEvent.findMany({ where: { targetType: "user", targetId: userId, action } });
  }

  it("linking a verified account writes one google_linked and one new-device event, from the member's IP", async () => {
    const user = await createUser();
    const started = await start();
    const code = googleAuthorizes(started.url, { sub: uniqueSub(), email: user.email });
    const result = await callback({ state: started.state, code }, started.cookie);
    expect(result.location).toBe("/");
    const token = cookieFrom(result.headers, "session").split("=")[1]!;

    const linked = await events(user.id, "account.google_linked");
    expect(linked).toHaveLength(1);
    expect(linked[0]).toMatchObject({ actorId: user.id, ip: "203.0.113.9", after: { how: "verified_email" } });
    const signIns = await events(user.id, "account.sign_in_new_device");
    expect(signIns).toHaveLength(1);
    expect(signIns[0]).toMatchObject({
      actorId: user.id,
      ip: "203.0.113.9",
      after: { method: "google", device: "Chrome on Android" },
    });
    const text = JSON.stringify([...linked, ...signIns]);
    for (const secret of [code, token, hashToken(token), started.state]) expect(text).not.toContain(secret);

    // The same browser again: known device, no new event; already linked, no second link event.
    await signInWithGoogle({
      sub: (await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).googleSub!,
      email: user.email,
    });
    expect(await events(user.id, "account.sign_in_new_device")).toHaveLength(1);
    expect(await events(user.id, "account.google_linked")).toHaveLength(1);
  });

  it("taking back an unverified account is logged as a link too", async () => {
    const user = await createUser({ verified: false });
    await signInWithGoogle({ sub: uniqueSub(), email: user.email });
    const linked = await events(user.id, "account.google_linked");
    expect(linked).toHaveLength(1);
    expect(linked[0]!.after).toEqual({ how: "reclaimed_unverified" });
  });
});

describe("a disabled account (issue #2)", () => {
  async function disabledUser(options: { googleSub?: string } = {}) {
    const user = await createUser({ email: uniqueEmail("disabled") });
    await prisma.user.update({
      where: { id: user.id },
      data: { disabledAt: new Date(), ...(options.googleSub ? { googleSub: options.googleSub } : {}) },
    });
    return user;
  }

  async function expectNothingStarted(userId: string) {
    expect(await prisma.session.count({ where: { userId } })).toBe(0);
    expect(await prisma.auditEvent.count({ where: { targetType: "user", targetId: userId } })).toBe(0);
  }

  it("linked to this Google account: refused with a clear message and no session", async () => {
    const sub = uniqueSub();
    const user = await disabledUser({ googleSub: sub });
    const result = await signInWithGoogle({ sub, email: user.email });
    expectRefused(result, "disabled");
    expectOAuthCookiesCleared(result.headers);
    await expectNothingStarted(user.id);
    expect(await loginMessage("disabled")).toBe(
      "This account has been disabled. If you think this is a mistake, contact us.",
    );
  });

  it("found by its verified address: refused, and Google is not linked to it", async () => {
    const user = await disabledUser();
    const result = await signInWithGoogle({ sub: uniqueSub(), email: user.email });
    expectRefused(result, "disabled");
    await expectNothingStarted(user.id);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).googleSub).toBeNull();
  });

  it("disabled while the person was on the onboarding form: refused there too", async () => {
    const email = uniqueEmail("onboarding-disabled");
    const sub = uniqueSub();
    const started = await signInWithGoogle({ sub, email });
    expect(started.location).toBe("/onboarding/google");
    const cookie = cookieFrom(started.headers, "google_signup");
    // Meanwhile an account with that address was made (a password sign-up) and an admin disabled it.
    const user = await createUser({ email });
    await prisma.user.update({ where: { id: user.id }, data: { disabledAt: new Date() } });
    const form = { displayName: "Ama Mensah", country: "GH", phone: "", ageConfirmed: "on", termsAccepted: "on" };
    const result = await call(onboardingAction, postRequest("/onboarding/google", form, { cookie }));
    expectRefused(result, "disabled");
    await expectNothingStarted(user.id);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).googleSub).toBeNull();
    expect(await prisma.googleSignup.count({ where: { googleSub: sub } })).toBe(0);
  });
});

describe("a new person", () => {
  const goodForm = {
    displayName: "Ama Mensah",
    country: "GH",
    phone: "024 123 4567",
    ageConfirmed: "on",
    termsAccepted: "on",
  };

  async function newPerson() {
    const email = uniqueEmail("newcomer");
    const sub = uniqueSub();
    const result = await signInWithGoogle({ sub, email: email.toUpperCase(), name: "Ama <b>Mensah</b>" });
    return { email, sub, result, cookie: cookieFrom(result.headers, "google_signup") };
  }

  it("is sent to onboarding with a pending sign-up, and no account exists yet", async () => {
    const { email, sub, result, cookie } = await newPerson();
    expect(result.status).toBe(302);
    expect(result.location).toBe("/onboarding/google");
    expect(cookieFrom(result.headers, "session")).toBe("");
    expectOAuthCookiesCleared(result.headers);
    const setCookie = result.headers.getSetCookie().find((value) => value.startsWith("google_signup="))!;
    expect(setCookie).toMatch(/; Max-Age=900; Path=\/onboarding\/google; HttpOnly; SameSite=Lax$/);
    expect(await prisma.user.count({ where: { email } })).toBe(0);

    const rows = await prisma.googleSignup.findMany({ where: { googleSub: sub } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.email).toBe(email);
    expect(rows[0]!.expiresAt.getTime() - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(rows[0]!.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    // Only the hash of the cookie token is stored.
    expect(JSON.stringify(rows)).not.toContain(cookie.split("=")[1]!);

    const page = await call(onboardingLoader, getRequest("/onboarding/google", { cookie }));
    expect(page.data).toEqual({ email, displayName: "Ama bMensah/b" });
  });

  it("gets field errors for bad input and nothing is created", async () => {
    const { email, sub, cookie } = await newPerson();
    const result = await call(
      onboardingAction,
      postRequest(
        "/onboarding/google",
        { displayName: "", country: "ZZ", phone: "12", ageConfirmed: "", termsAccepted: "" },
        { cookie },
      ),
    );
    expect(result.status).toBe(400);
    const reply = result.data as { error: Record<string, string[]> };
    expect(reply.error.displayName?.join(" ")).toContain("Enter your name");
    expect(reply.error.country?.join(" ")).toContain("Choose your country");
    expect(reply.error.ageConfirmed?.join(" ")).toContain("at least 13");
    expect(reply.error.termsAccepted?.join(" ")).toContain("accept the terms");
    const phoneOnly = await call(
      onboardingAction,
      postRequest("/onboarding/google", { ...goodForm, phone: "12" }, { cookie }),
    );
    expect((phoneOnly.data as { error: Record<string, string[]> }).error.phone?.join(" ")).toContain("valid phone");
    expect(await prisma.user.count({ where: { email } })).toBe(0);
    expect(await prisma.googleSignup.count({ where: { googleSub: sub } })).toBe(1);
  });

  it("with good input gets a verified account without a password, linked to Google, and a session", async () => {
    const { email, sub, cookie } = await newPerson();
    const result = await call(
      onboardingAction,
      postRequest("/onboarding/google", goodForm, { cookie, headers: { "user-agent": USER_AGENT } }),
    );
    expect(result.status).toBe(302);
    expect(result.location).toBe("/");
    expect(result.headers.getSetCookie().some((value) => /^google_signup=;.*Max-Age=0/.test(value))).toBe(true);
    const user = await prisma.user.findUniqueOrThrow({ where: { email }, include: { password: true } });
    expect(user.googleSub).toBe(sub);
    expect(user.emailVerifiedAt).not.toBeNull();
    expect(user.password).toBeNull();
    expect(user.displayName).toBe("Ama Mensah");
    expect(user.country).toBe("GH");
    expect(user.phone).toBe("+233241234567");
    expect(user.ageConfirmedAt).not.toBeNull();
    expect(user.termsAcceptedAt).not.toBeNull();
    const signedIn = await sessionUser(result.headers);
    expect(signedIn).toMatchObject({ id: user.id, emailVerified: true, hasPassword: false });
    expect(await prisma.googleSignup.count({ where: { googleSub: sub } })).toBe(0);

    // The pending sign-up is single use; the next Google sign-in finds the account by sub.
    const again = await call(onboardingAction, postRequest("/onboarding/google", goodForm, { cookie }));
    expectRefused(again, "expired");
    expect(await loginMessage("expired")).toMatch(/expired/);
    const returning = await signInWithGoogle({ sub, email });
    expect((await sessionUser(returning.headers))?.id).toBe(user.id);
  });

  it("cannot finish an expired or unknown pending sign-up", async () => {
    const { sub, cookie } = await newPerson();
    await prisma.googleSignup.updateMany({
      where: { googleSub: sub },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expectRefused(await call(onboardingLoader, getRequest("/onboarding/google", { cookie })), "expired");
    expectRefused(await call(onboardingAction, postRequest("/onboarding/google", goodForm, { cookie })), "expired");
    expectRefused(await call(onboardingLoader, getRequest("/onboarding/google")), "expired");
  });
});

describe("without Google keys", () => {
  it("googleConfig is null unless both keys are set (a pure function of the parsed env)", () => {
    expect(googleConfig(parseEnv({}))).toBeNull();
    expect(
      googleConfig(parseEnv({ GOOGLE_CLIENT_ID: "id", GOOGLE_CLIENT_SECRET: "secret", APP_URL: "https://w.test/" })),
    ).toEqual({ clientId: "id", clientSecret: "secret", redirectURI: "https://w.test/auth/google/callback" });
    expect(() => parseEnv({ GOOGLE_CLIENT_ID: "id" })).toThrow(/together/);
  });

  it("every Google route answers 404 and the login page hides the button", async () => {
    // `env` is one parsed object shared by every module: switching it off here is what a server
    // started without the keys sees (afterEach switches it back on).
    env.googleEnabled = false;
    for (const result of [
      await call(startAction, postRequest("/auth/google", {})),
      await call(startLoader, getRequest("/auth/google")),
      await call(callbackLoader, getRequest("/auth/google/callback?state=a&code=b")),
      await call(onboardingLoader, getRequest("/onboarding/google")),
      await call(onboardingAction, postRequest("/onboarding/google", {})),
    ]) {
      expect(result.status).toBe(404);
    }
    const login = await call(loginLoader, getRequest("/login"));
    expect((login.data as { googleEnabled: boolean }).googleEnabled).toBe(false);
    expect(tokenRequests).toBe(0);
  });
});

describe("the login page", () => {
  it("shows only known error codes", async () => {
    expect(await loginMessage("nonsense")).toBeNull();
    const page = await call(loginLoader, getRequest("/login?error=<script>"));
    expect((page.data as { error: string | null }).error).toBeNull();
  });
});

describe("returning to where the sign-in started (redirectTo, item 7)", () => {
  async function startFrom(redirectTo: string) {
    const result = await call(startAction, postRequest("/auth/google", { redirectTo }));
    const url = new URL(result.location!);
    const cookie = ["google_oauth_state", "google_code_verifier", "google_return_to"]
      .map((name) => cookieFrom(result.headers, name))
      .filter(Boolean)
      .join("; ");
    return { result, url, cookie, state: url.searchParams.get("state")! };
  }

  async function finish(started: Awaited<ReturnType<typeof startFrom>>, claims: Claims, cookie = started.cookie) {
    const code = googleAuthorizes(started.url, claims);
    return callback({ state: started.state, code }, cookie);
  }

  it("a returning member lands on the safe target; the return cookie is then cleared", async () => {
    const email = uniqueEmail("return");
    await createUser({ email, verified: true });
    const started = await startFrom("/history?page=2");
    expect(cookieFrom(started.result.headers, "google_return_to")).not.toBe("");
    const result = await finish(started, { sub: uniqueSub(), email });
    expect(result.location).toBe("/history?page=2");
    expect(result.headers.getSetCookie().some((value) => /^google_return_to=;.*Max-Age=0/.test(value))).toBe(true);
  });

  it("a hostile target is never stored, and a forged return cookie is refused on the way out", async () => {
    const email = uniqueEmail("return-hostile");
    await createUser({ email, verified: true });
    const hostile = await startFrom("/\t/evil.example");
    expect(cookieFrom(hostile.result.headers, "google_return_to")).toBe("");
    expect((await finish(hostile, { sub: uniqueSub(), email })).location).toBe("/");

    const { googleReturnCookie } = await import("#app/models/google.server");
    const forged = (await googleReturnCookie.serialize("//evil.example")).split(";")[0]!;
    const other = uniqueEmail("return-forged");
    await createUser({ email: other, verified: true });
    const started = await startFrom("");
    const result = await finish(started, { sub: uniqueSub(), email: other }, `${started.cookie}; ${forged}`);
    expect(result.location).toBe("/");
  });

  it("a new person returns there after the onboarding form", async () => {
    const started = await startFrom("/pricing");
    const result = await finish(started, { sub: uniqueSub(), email: uniqueEmail("return-new"), name: "Ama Mensah" });
    expect(result.location).toBe("/onboarding/google");
    const cookie = [cookieFrom(result.headers, "google_signup"), cookieFrom(started.result.headers, "google_return_to")]
      .filter(Boolean)
      .join("; ");
    const form = { displayName: "Ama Mensah", country: "GH", phone: "", ageConfirmed: "on", termsAccepted: "on" };
    const done = await call(onboardingAction, postRequest("/onboarding/google", form, { cookie }));
    expect(done.location).toBe("/pricing");
    expect(cookieFrom(done.headers, "session")).toMatch(/^session=/);
  });
});
