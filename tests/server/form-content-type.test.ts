import type { ActionFunctionArgs } from "@remix-run/node";
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";
import { googleSignupCookie } from "#app/models/google.server";
import { requestManualTopUp } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { hashToken } from "#app/models/session.server";
import { action as adminContact } from "#app/routes/admin.contact";
import { action as adminMember } from "#app/routes/admin.members.$id";
import { action as adminModel } from "#app/routes/admin.models.$id";
import { action as adminTopUp } from "#app/routes/admin.top-ups.$id";
import { action as contact } from "#app/routes/contact";
import { action as forgotPassword } from "#app/routes/forgot-password";
import { action as generate } from "#app/routes/generate";
import { action as historyItem } from "#app/routes/history.$id";
import { action as login } from "#app/routes/login";
import { action as onboardingGoogle } from "#app/routes/onboarding.google";
import { action as resetPassword } from "#app/routes/reset-password";
import { action as settingsEmail } from "#app/routes/settings.email";
import { action as settingsProfile } from "#app/routes/settings._index";
import { action as settingsPassword } from "#app/routes/settings.password";
import { action as settingsPrivacy } from "#app/routes/settings.privacy";
import { action as settingsSessions } from "#app/routes/settings.sessions";
import { action as signup } from "#app/routes/signup";
import { action as verify } from "#app/routes/verify";
import { action as wallet } from "#app/routes/wallet._index";
import { action as cardTopUp } from "#app/routes/wallet.top-up._index";
import { action as manualTopUp } from "#app/routes/wallet.top-up.manual";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { BASE_URL, call, createUser, signedInCookie, uniqueEmail } from "#tests/helpers";

// Every page form's action, posted with a body that is not a form (item 17): a clear 415 (or, for the
// two upload forms, their own 4xx), never a 500, and nothing written.

type Action = (args: ActionFunctionArgs) => unknown;
type Case = { path: string; action: Action; params?: Record<string, string>; cookie: () => string };

const cookies = { anonymous: "", member: "", unverified: "", admin: "", google: "" };
let memberId = "";
let topUpId = "";

beforeAll(async () => {
  const member = await createUser();
  memberId = member.id;
  cookies.member = (await signedInCookie(member.id)).cookie;
  cookies.unverified = (await signedInCookie((await createUser({ verified: false })).id)).cookie;
  cookies.admin = (await signedInCookie((await createUser({ role: "admin" })).id)).cookie;
  const method = await addMethod(
    { name: "MTN MoMo", instructions: "Send to the number below.", accountNumber: "+237 670 000 000" },
    { actorId: null, via: "cli" },
  );
  const requested = await requestManualTopUp({
    userId: member.id,
    methodId: method.id,
    amount: 10_000_000n,
    senderNumber: "+237670123456",
    reference: `REF-${process.pid}-${Date.now()}`,
  });
  if (!requested.ok) throw new Error(requested.error);
  topUpId = requested.topUp.id;
  // A Google sign-up waiting for its onboarding form.
  Object.assign(env, { googleEnabled: true, GOOGLE_CLIENT_ID: "id.test", GOOGLE_CLIENT_SECRET: "secret" });
  const token = `pending-${process.pid}-${Date.now()}`;
  await prisma.googleSignup.create({
    data: {
      tokenHash: hashToken(token),
      googleSub: `sub-${token}`,
      email: uniqueEmail("google"),
      displayName: "Ama",
      expiresAt: new Date(Date.now() + 600_000),
    },
  });
  cookies.google = (await googleSignupCookie.serialize(token)).split(";")[0]!;
});

const formRoutes: Case[] = [
  { path: "/login", action: login, cookie: () => cookies.anonymous },
  { path: "/signup", action: signup, cookie: () => cookies.anonymous },
  { path: "/contact", action: contact, cookie: () => cookies.anonymous },
  { path: "/forgot-password", action: forgotPassword, cookie: () => cookies.anonymous },
  { path: "/reset-password", action: resetPassword, cookie: () => cookies.anonymous },
  { path: "/verify", action: verify, cookie: () => cookies.unverified },
  { path: "/onboarding/google", action: onboardingGoogle, cookie: () => cookies.google },
  { path: "/settings", action: settingsProfile, cookie: () => cookies.member },
  { path: "/settings/email", action: settingsEmail, cookie: () => cookies.member },
  { path: "/settings/password", action: settingsPassword, cookie: () => cookies.member },
  { path: "/settings/privacy", action: settingsPrivacy, cookie: () => cookies.member },
  { path: "/settings/sessions", action: settingsSessions, cookie: () => cookies.member },
  { path: "/wallet", action: wallet, cookie: () => cookies.member },
  { path: "/wallet/top-up", action: cardTopUp, cookie: () => cookies.member },
  { path: "/history/x", action: historyItem, params: { id: "x" }, cookie: () => cookies.member },
  { path: "/admin/contact", action: adminContact, cookie: () => cookies.admin },
  { path: "/admin/models/x", action: adminModel, params: { id: "demo:echo" }, cookie: () => cookies.admin },
  { path: "/admin/members/x", action: adminMember, params: { id: "member" }, cookie: () => cookies.admin },
  { path: "/admin/top-ups/x", action: adminTopUp, params: { id: "top-up" }, cookie: () => cookies.admin },
];

// Forms that carry files read the body with upload limits (file-type.server.ts) and answer their own 4xx.
const uploadRoutes: Case[] = [
  { path: "/wallet/top-up/manual", action: manualTopUp, cookie: () => cookies.member },
  { path: "/generate", action: generate, cookie: () => cookies.member },
];

const bodies = [
  { type: "text/plain", body: "email=member@example.com&password=x&intent=delete" },
  { type: "application/json", body: JSON.stringify({ email: "member@example.com", intent: "delete" }) },
  { type: null, body: "email=member@example.com" },
];

function post(path: string, cookie: string, type: string | null, body: string) {
  const headers: Record<string, string> = { origin: BASE_URL };
  if (cookie) headers.cookie = cookie;
  // A Blob body with no type sends no Content-Type at all.
  const content = type ? body : new Blob([body]);
  if (type) headers["content-type"] = type;
  return new Request(BASE_URL + path, { method: "POST", headers, body: content });
}

function resolvedParams(params: Record<string, string> | undefined): Record<string, string> {
  if (!params) return {};
  const ids: Record<string, string> = { member: memberId, "top-up": topUpId };
  return Object.fromEntries(Object.entries(params).map(([key, value]) => [key, ids[value] ?? value]));
}

/** Row counts of the tables a form could write to. */
async function snapshot() {
  const [users, sessions, rateLimits, outbox, audit, transfers, topUps, contacts, verifications, resets] =
    await Promise.all([
      prisma.user.count(),
      prisma.session.count(),
      prisma.rateLimit.count(),
      prisma.outboxEmail.count(),
      prisma.auditEvent.count(),
      prisma.ledgerTransfer.count(),
      prisma.manualTopUp.count(),
      prisma.contactMessage.count(),
      prisma.emailVerification.count(),
      prisma.passwordReset.count(),
    ]);
  const user = await prisma.user.findUniqueOrThrow({ where: { id: memberId } });
  const topUp = await prisma.manualTopUp.findUniqueOrThrow({ where: { id: topUpId } });
  return {
    counts: { users, sessions, rateLimits, outbox, audit, transfers, topUps, contacts, verifications, resets },
    member: { ...user, updatedAt: null },
    topUp: topUp.status,
  };
}

describe("a body that is not a form", () => {
  it.each(formRoutes)("POST $path answers 415 with a clear message and changes nothing", async (route) => {
    const before = await snapshot();
    for (const { type, body } of bodies) {
      const result = await call(
        route.action as never,
        post(route.path, route.cookie(), type, body),
        resolvedParams(route.params),
      );
      expect({ type, status: result.status }).toEqual({ type, status: 415 });
      expect(String(result.data)).toMatch(/form.*application\/x-www-form-urlencoded or multipart\/form-data/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it.each(uploadRoutes)("POST $path (an upload form) answers 4xx and changes nothing", async (route) => {
    const before = await snapshot();
    for (const { type, body } of bodies) {
      const result = await call(route.action as never, post(route.path, route.cookie(), type, body));
      expect(result.status).toBeGreaterThanOrEqual(400);
      expect(result.status).toBeLessThan(500);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("answers 400 to a multipart body that cannot be read, and changes nothing", async () => {
    const before = await snapshot();
    const request = post(
      "/contact",
      "",
      "multipart/form-data; boundary=----x",
      '------x\r\nContent-Disposition: form-data; name="email"\r\n\r\nno closing boundary',
    );
    const result = await call(contact as never, request);
    expect(result.status).toBe(400);
    expect(String(result.data)).toMatch(/could not be read/);
    expect(await snapshot()).toEqual(before);
  });
});

describe("the lint rule that keeps it so", () => {
  const eslint = new ESLint();
  const lint = async (code: string, filePath: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages.map((message) => message.message);
  };

  it("refuses request.formData() in a route, and allows readForm", async () => {
    const direct =
      "export async function action({ request }: { request: Request }) {\n  return request.formData();\n}\n";
    expect((await lint(direct, "app/routes/example.tsx")).join(" ")).toContain("readForm(request)");
    const helper =
      'import { readForm } from "#app/utils/form.server";\n' +
      "export async function action({ request }: { request: Request }) {\n  return readForm(request);\n}\n";
    expect(await lint(helper, "app/routes/example.tsx")).toEqual([]);
  });
});
