import { describe, expect, it } from "vitest";
import { handleError } from "#app/entry.server";
import { loader as healthz } from "#app/routes/healthz";
import { loader as notFound } from "#app/routes/$";
import { loader as outboxLoader } from "#app/routes/dev.outbox";
import { parseEnv } from "#app/utils/env.server";
import { logger, redact, setLogSink } from "#app/utils/logger.server";
import { isForbiddenCrossOrigin } from "#app/utils/origin.server";
import { isCommonPassword, verifyPassword, hashPassword } from "#app/utils/password.server";
import { consumeRateLimit } from "#app/utils/rate-limit.server";
import { getAuth, requireRole, requireVerifiedUser } from "#app/utils/auth.server";
import { prisma } from "#app/utils/db.server";
import { safeRedirectPath } from "#app/utils/redirect.server";
import { describeUserAgent } from "#app/utils/user-agent";
import { call, createUser, getRequest, signedInCookie } from "#tests/helpers";

describe("environment", () => {
  it("needs nothing in development", () => {
    const env = parseEnv({});
    expect(env.NODE_ENV).toBe("development");
    expect(env.APP_URL).toBe("http://localhost:3000");
    expect(env.googleEnabled).toBe(false);
  });

  it("fails fast in production with every missing variable named", () => {
    expect(() => parseEnv({ NODE_ENV: "production" })).toThrowError(
      /DATABASE_URL: is required in production[\s\S]*APP_URL[\s\S]*RESEND_API_KEY/,
    );
  });

  it("rejects half a Google configuration and malformed values", () => {
    expect(() => parseEnv({ GOOGLE_CLIENT_ID: "id" })).toThrowError(/GOOGLE_CLIENT_SECRET/);
    expect(() => parseEnv({ PORT: "eighty" })).toThrowError(/PORT/);
    expect(() => parseEnv({ APP_URL: "ftp://example.com" })).toThrowError(/APP_URL/);
    expect(parseEnv({ GOOGLE_CLIENT_ID: "id", GOOGLE_CLIENT_SECRET: "secret" }).googleEnabled).toBe(true);
  });
});

describe("cross-origin guard", () => {
  const origins = ["https://wallet.example"];
  it.each([
    [{ method: "POST", path: "/login", origin: "https://evil.example" }, true],
    [{ method: "POST", path: "/login", origin: "null" }, true],
    [{ method: "POST", path: "/login", origin: "https://wallet.example" }, false],
    [{ method: "DELETE", path: "/x", secFetchSite: "cross-site" }, true],
    [{ method: "POST", path: "/x", secFetchSite: "same-origin" }, false],
    [{ method: "GET", path: "/login", origin: "https://evil.example" }, false],
    [{ method: "POST", path: "/webhooks/stripe", origin: "https://evil.example" }, false],
    [{ method: "POST", path: "/login" }, false],
  ])("%o → forbidden: %s", (request, forbidden) => {
    expect(isForbiddenCrossOrigin(request, origins)).toBe(forbidden);
  });
});

describe("passwords", () => {
  it("uses Argon2id with at least OWASP's parameters and verifies only the right password", async () => {
    const hash = await hashPassword("a long passphrase 123");
    const [, , , params] = hash.split("$");
    expect(hash.startsWith("$argon2id$")).toBe(true);
    expect(params).toBe("m=19456,t=2,p=1");
    expect(await verifyPassword(hash, "a long passphrase 123")).toBe(true);
    expect(await verifyPassword(hash, "a long passphrase 124")).toBe(false);
    expect(await verifyPassword(null, "anything")).toBe(false);
    expect(await verifyPassword("garbage", "anything")).toBe(false);
  });

  it("knows common passwords regardless of case", () => {
    expect(isCommonPassword("Password1")).toBe(true);
    expect(isCommonPassword("iloveyou")).toBe(true);
    expect(isCommonPassword("violet tractor anchovy")).toBe(false);
  });
});

describe("logs", () => {
  it("never carry secrets or content, only ids and counts", () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      logger.info("test.event", {
        userId: "u1",
        email: "someone@example.com",
        password: "hunter22",
        resetToken: "tok-123",
        prompt: "secret prompt",
        inputTokens: 42,
        error: new Error("boom"),
      });
    } finally {
      setLogSink(null);
    }
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      level: "info",
      event: "test.event",
      userId: "u1",
      inputTokens: 42,
      error: { name: "Error", message: "boom" },
    });
    for (const secret of ["someone@example.com", "hunter22", "tok-123", "secret prompt"])
      expect(lines[0]).not.toContain(secret);
    expect(redact({ email: "a@b.c", clientSecret: "s" })).toEqual({ email: "[redacted]", clientSecret: "[redacted]" });
  });

  it("keep an error's name, code and first line, never the data quoted below it", () => {
    // What Prisma throws for a bad query (its message starts with a newline): the arguments, prompt
    // included, follow the first line.
    const prismaLike = Object.assign(
      new Error('\nInvalid `prisma.generation.create()` invocation:\n\n{ data: { prompt: "my secret plans" } }'),
      { code: "P2000" },
    );
    expect(redact({ error: prismaLike })).toEqual({
      error: { name: "Error", code: "P2000", message: "Invalid `prisma.generation.create()` invocation:" },
    });
  });

  it("get loader and action errors through the logger, without the page's path or the error's data", () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const request = new Request("http://localhost/exports/secret-download-token?x=1", { method: "POST" });
      const args = { request, params: {}, context: {} };
      handleError(new Error("Database unreachable\nprompt: my secret plans"), args);
      const gaveUp = new AbortController();
      gaveUp.abort();
      handleError(new Error("client went away"), { ...args, request: new Request(request, { signal: gaveUp.signal }) });
    } finally {
      setLogSink(null);
    }
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "error",
      event: "http.unhandled_error",
      method: "POST",
      area: "/exports",
      error: { name: "Error", message: "Database unreachable" },
    });
    for (const secret of ["my secret plans", "secret-download-token"]) expect(lines[0]).not.toContain(secret);
  });
});

describe("rate limits", () => {
  it("count in PostgreSQL and reopen after the window", async () => {
    const rule = { limit: 2, windowSeconds: 60 };
    const key = `test:${Math.random()}`;
    expect((await consumeRateLimit(key, rule)).allowed).toBe(true);
    expect((await consumeRateLimit(key, rule)).allowed).toBe(true);
    const third = await consumeRateLimit(key, rule);
    expect(third.allowed).toBe(false);
    expect(third.retryAfterSeconds).toBeGreaterThan(0);
    const { prisma } = await import("#app/utils/db.server");
    await prisma.rateLimit.update({ where: { key }, data: { resetAt: new Date(Date.now() - 1) } });
    expect(await consumeRateLimit(key, rule)).toMatchObject({ allowed: true, count: 1 });
  });

  it("is exact under concurrency", async () => {
    const key = `test:${Math.random()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => consumeRateLimit(key, { limit: 5, windowSeconds: 60 })),
    );
    expect(results.filter((result) => result.allowed)).toHaveLength(5);
  });
});

describe("roles and verification gates", () => {
  it("requireRole answers 404 to members and lets admins in", async () => {
    const member = await createUser();
    const admin = await createUser({ role: "admin" });
    const memberCookie = (await signedInCookie(member.id)).cookie;
    const adminCookie = (await signedInCookie(admin.id)).cookie;
    const gate = ({ request }: { request: Request }) => requireRole(request, "admin");
    expect((await call(gate, getRequest("/admin", { cookie: memberCookie }))).status).toBe(404);
    expect((await call(gate, getRequest("/admin", { cookie: adminCookie }))).data).toMatchObject({ role: "admin" });
    expect((await call(gate, getRequest("/admin"))).location).toBe("/login?redirectTo=%2Fadmin");
  });

  it("checks the session once for all the loaders of a page (each gets its own Request copy), afresh later", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    const original = getRequest("/settings", { cookie });
    // Remix hands each loader a copy made like this.
    const copies = [original, new Request(original.url, original), new Request(original.url, original)];
    const checks = copies.map((request) => getAuth(request));
    expect(new Set(checks).size).toBe(1);
    expect((await checks[0])!.user?.id).toBe(user.id);
    // Once settled, the next request is checked again: a session ended meanwhile is refused at once.
    await prisma.session.deleteMany({ where: { userId: user.id } });
    expect((await getAuth(getRequest("/settings", { cookie }))).user).toBeNull();
  });

  it("requireVerifiedUser sends unverified members to /verify", async () => {
    const user = await createUser({ verified: false });
    const { cookie } = await signedInCookie(user.id);
    const gate = ({ request }: { request: Request }) => requireVerifiedUser(request);
    expect((await call(gate, getRequest("/wallet", { cookie }))).location).toBe("/verify");
  });
});

describe("small helpers", () => {
  it("safeRedirectPath keeps same-site paths only", () => {
    expect(safeRedirectPath("/settings")).toBe("/settings");
    expect(safeRedirectPath("//evil.example")).toBe("/");
    expect(safeRedirectPath("/\\evil.example")).toBe("/");
    expect(safeRedirectPath("https://evil.example")).toBe("/");
    expect(safeRedirectPath(null)).toBe("/");
  });

  it("describes user agents", () => {
    expect(
      describeUserAgent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605 Version/17 Mobile Safari/604",
      ),
    ).toBe("Safari on iOS");
    expect(describeUserAgent(null)).toBe("Unknown device");
  });
});

describe("operational routes", () => {
  it("/healthz answers 200 when the database is reachable", async () => {
    const response = await healthz();
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("unknown URLs are a real 404", async () => {
    expect((await call(notFound, getRequest("/nope"))).status).toBe(404);
  });

  it("the dev outbox is readable outside production", async () => {
    expect((await call(outboxLoader, getRequest("/dev/outbox"))).status).toBe(200);
  });
});

describe("public pages", () => {
  it("the privacy page states the retention numbers the code actually uses", async () => {
    const { loader } = await import("#app/routes/privacy");
    expect(await loader()).toMatchObject({
      sessionDays: 30,
      verificationMinutes: 15,
      resetMinutes: 60,
      longestRateWindowMinutes: 60,
    });
  });
});
