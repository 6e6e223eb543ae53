import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { adjustmentKey, redactSecrets } from "#app/models/admin-members.server";
import { checkInvariants, getWalletBalance, PLATFORM_ACCOUNTS, walletAccountId } from "#app/models/ledger.server";
import { createSession } from "#app/models/session.server";
import { loader as overviewLoader } from "#app/routes/admin._index";
import { loader as auditLoader } from "#app/routes/admin.audit";
import { action as memberAction, loader as memberLoader } from "#app/routes/admin.members.$id";
import { loader as membersLoader } from "#app/routes/admin.members._index";
import { action as loginAction } from "#app/routes/login";
import { loader as walletLoader } from "#app/routes/wallet._index";
import { prisma } from "#app/utils/db.server";
import { main as adminCreate } from "../../scripts/admin-create";
import {
  call,
  context,
  createUser,
  fundWallet,
  getRequest,
  postRequest,
  signedInCookie,
  TEST_PASSWORD,
  uniqueEmail,
} from "#tests/helpers";

const units = (n: number) => BigInt(n) * 1_000_000n;
const ADMIN_IP = "198.51.100.23";

let admin: { id: string; email: string; cookie: string };
let support: { id: string; cookie: string };

beforeAll(async () => {
  const a = await createUser({ role: "admin", email: uniqueEmail("admin") });
  admin = { id: a.id, email: a.email, cookie: (await signedInCookie(a.id)).cookie };
  const s = await createUser({ role: "support" });
  support = { id: s.id, cookie: (await signedInCookie(s.id)).cookie };
});

// Every scenario must leave the ledger consistent.
afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});

const post = (memberId: string, form: Record<string, string>, cookie = admin.cookie) =>
  call(memberAction, postRequest(`/admin/members/${memberId}`, form, { cookie }), { id: memberId }, context(ADMIN_IP));

const adjust = (memberId: string, form: Partial<Record<string, string>> = {}, cookie?: string) =>
  post(
    memberId,
    {
      intent: "adjust",
      requestId: crypto.randomUUID(),
      direction: "credit",
      amount: "5",
      reason: "Goodwill for a failed top-up",
      ...form,
    } as Record<string, string>,
    cookie,
  );

type Reply = { result: { error?: Record<string, string[] | null> } };
const errorsOf = (result: { data: unknown }) => (result.data as Reply).result.error ?? {};

const auditFor = (targetId: string, action: string) =>
  prisma.auditEvent.findMany({ where: { targetId, action }, orderBy: { createdAt: "asc" } });

const login = (email: string, password = TEST_PASSWORD) =>
  call(loginAction, postRequest("/login", { email, password }), {}, context("192.0.2.77"));

describe("balance adjustments", () => {
  it("credits through a ledger transfer against the adjustments account, audited with before/after and IP", async () => {
    const member = await createUser();
    await fundWallet(member.id, units(2));
    const requestId = crypto.randomUUID();
    const result = await adjust(member.id, { requestId, amount: "5" });
    expect(result.status).toBe(302);
    expect(result.location).toBe(`/admin/members/${member.id}?done=adjusted`);

    expect((await getWalletBalance(member.id)).available).toBe(units(7));
    const transfer = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { idempotencyKey: adjustmentKey(requestId) },
      include: { entries: true },
    });
    expect(transfer.kind).toBe("adjustment");
    expect(transfer.entries.map((e) => [e.accountId, e.amount]).sort()).toEqual(
      [
        [PLATFORM_ACCOUNTS.adjustments, -units(5)],
        [walletAccountId(member.id), units(5)],
      ].sort(),
    );
    const [event] = await auditFor(member.id, "wallet.adjust");
    expect(event).toMatchObject({ actorId: admin.id, ip: ADMIN_IP, targetType: "user" });
    expect(event!.before).toMatchObject({ available: "2", balance: "2" });
    expect(event!.after).toMatchObject({
      available: "7",
      direction: "credit",
      amount: "5",
      reason: "Goodwill for a failed top-up",
      transferId: transfer.id,
    });
  });

  it("a double submit (same form request id) adjusts once", async () => {
    const member = await createUser();
    const form = { requestId: crypto.randomUUID(), amount: "3" };
    const [first, second] = await Promise.all([adjust(member.id, form), adjust(member.id, form)]);
    expect([first.status, second.status]).toEqual([302, 302]);
    const third = await adjust(member.id, form);
    expect(third.location).toContain("done=replayed");
    expect((await getWalletBalance(member.id)).available).toBe(units(3));
    expect(await prisma.ledgerTransfer.count({ where: { idempotencyKey: adjustmentKey(form.requestId) } })).toBe(1);
    expect(await auditFor(member.id, "wallet.adjust")).toHaveLength(1);
  });

  it("debits, and refuses a debit larger than the available balance with nothing changed", async () => {
    const member = await createUser();
    await fundWallet(member.id, units(4));
    const refusedId = crypto.randomUUID();
    const refused = await adjust(member.id, { requestId: refusedId, direction: "debit", amount: "4.01" });
    expect(refused.status).toBe(400);
    expect(errorsOf(refused).amount?.[0]).toMatch(/only \$4\.00 available.*Nothing changed/);
    expect((await getWalletBalance(member.id)).available).toBe(units(4));
    expect(await prisma.ledgerTransfer.count({ where: { idempotencyKey: adjustmentKey(refusedId) } })).toBe(0);
    expect(await auditFor(member.id, "wallet.adjust")).toHaveLength(0);

    const debit = await adjust(member.id, { direction: "debit", amount: "4", reason: "Duplicate credit reversed" });
    expect(debit.status).toBe(302);
    expect((await getWalletBalance(member.id)).available).toBe(0n);
    const [event] = await auditFor(member.id, "wallet.adjust");
    expect(event!.after).toMatchObject({ direction: "debit", amount: "4", available: "0" });
  });

  it("needs a reason and a positive amount; an admin cannot adjust their own wallet", async () => {
    const member = await createUser();
    const noReason = await adjust(member.id, { reason: " " });
    expect(noReason.status).toBe(400);
    expect(errorsOf(noReason).reason).toBeTruthy();
    const zero = await adjust(member.id, { amount: "0" });
    expect(errorsOf(zero).amount).toBeTruthy();
    const self = await adjust(admin.id);
    expect(self.status).toBe(400);
    expect(errorsOf(self)[""]?.[0]).toMatch(/own wallet/);
    expect((await getWalletBalance(member.id)).balance).toBe(0n);
    expect((await getWalletBalance(admin.id)).balance).toBe(0n);
  });

  it("support sees the member but no action forms, and a POST from support is 403 with nothing changed", async () => {
    const member = await createUser();
    const view = await call(memberLoader, getRequest(`/admin/members/${member.id}`, { cookie: support.cookie }), {
      id: member.id,
    });
    expect(view.status).toBe(200);
    expect((view.data as { canAct: boolean }).canAct).toBe(false);
    expect((await adjust(member.id, {}, support.cookie)).status).toBe(403);
    expect((await post(member.id, { intent: "disable" }, support.cookie)).status).toBe(403);
    expect((await post(member.id, { intent: "role", role: "admin" }, support.cookie)).status).toBe(403);
    const after = await prisma.user.findUniqueOrThrow({ where: { id: member.id } });
    expect(after).toMatchObject({ role: "member", disabledAt: null });
    expect((await getWalletBalance(member.id)).balance).toBe(0n);
  });
});

describe("member page", () => {
  it("shows profile, wallet and the last 25 statement lines, generation counts, sessions; never the password hash", async () => {
    const member = await createUser({ displayName: "Page Member" });
    for (let i = 0; i < 27; i += 1) await fundWallet(member.id, units(1));
    await signedInCookie(member.id);
    const result = await call(memberLoader, getRequest(`/admin/members/${member.id}`, { cookie: admin.cookie }), {
      id: member.id,
    });
    expect(result.status).toBe(200);
    const body = result.data as {
      canAct: boolean;
      requestId: string;
      profile: Record<string, unknown>;
      statement: unknown[];
      statementTotal: number;
      sessions: number;
      balance: { available: string };
    };
    expect(body.canAct).toBe(true);
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.statement).toHaveLength(25);
    expect(body.statementTotal).toBe(27);
    expect(body.balance.available).toBe("$27.00");
    expect(body.sessions).toBe(1);
    expect(body.profile).toMatchObject({ email: member.email, hasPassword: true, role: "member" });
    const hash = (await prisma.password.findUniqueOrThrow({ where: { userId: member.id } })).hash;
    expect(JSON.stringify(body)).not.toContain(hash);
  });

  it("searches members by email or name, paginated", async () => {
    const tag = `zq${process.pid}x`;
    const target = await createUser({ email: uniqueEmail(tag), displayName: "Searchable Person" });
    const byEmail = await call(
      membersLoader,
      getRequest(`/admin/members?q=${tag.toUpperCase()}`, { cookie: admin.cookie }),
    );
    const members = (byEmail.data as { members: Array<{ id: string }>; total: number }).members;
    expect(members.map((m) => m.id)).toEqual([target.id]);
    const byName = await call(membersLoader, getRequest(`/admin/members?q=searchable`, { cookie: support.cookie }));
    expect((byName.data as { members: Array<{ id: string }> }).members.map((m) => m.id)).toContain(target.id);
    const farPage = await call(membersLoader, getRequest(`/admin/members?page=999`, { cookie: admin.cookie }));
    const page = farPage.data as { page: number; pageCount: number };
    expect(page.page).toBe(page.pageCount);
  });
});

describe("disable and enable", () => {
  it("a disabled member cannot sign in, their session stops working, and re-enabling restores sign-in", async () => {
    const member = await createUser({ email: uniqueEmail("disable") });
    const { cookie } = await signedInCookie(member.id);
    expect((await call(walletLoader, getRequest("/wallet", { cookie }))).status).toBe(200);

    const disabled = await post(member.id, { intent: "disable" });
    expect(disabled.status).toBe(302);
    expect(disabled.location).toContain("done=disabled");
    expect(await prisma.session.count({ where: { userId: member.id } })).toBe(0);
    const [event] = await auditFor(member.id, "account.disable");
    expect(event).toMatchObject({ actorId: admin.id, ip: ADMIN_IP });
    expect(event!.before).toEqual({ disabledAt: null });
    expect(event!.after).toMatchObject({ sessionsEnded: 1 });

    // The old cookie: a protected page sends the browser to sign in.
    const stale = await call(walletLoader, getRequest("/wallet", { cookie }));
    expect(stale.status).toBe(302);
    expect(stale.location).toMatch(/^\/login/);
    // A session that slipped through (started by another path) is refused too, and deleted.
    const slipped = await createSession(member.id, { ip: null, userAgent: "race" });
    const slippedCookie = slipped.cookie.split(";")[0]!;
    expect((await call(walletLoader, getRequest("/wallet", { cookie: slippedCookie }))).location).toMatch(/^\/login/);
    expect(await prisma.session.count({ where: { userId: member.id } })).toBe(0);

    // The right password gets exactly the wrong-password answer (no enumeration of disabled accounts).
    const refused = await login(member.email);
    const wrong = await login(member.email, "not the password at all");
    expect(refused.status).toBe(400);
    expect(errorsOf({ data: { result: refused.data } })[""]).toEqual(errorsOf({ data: { result: wrong.data } })[""]);
    expect(refused.headers.get("set-cookie")).toBeNull();

    // Disabling twice changes nothing and writes no second audit event.
    expect((await post(member.id, { intent: "disable" })).location).toContain("done=unchanged");
    expect(await auditFor(member.id, "account.disable")).toHaveLength(1);

    const enabled = await post(member.id, { intent: "enable" });
    expect(enabled.location).toContain("done=enabled");
    const [enableEvent] = await auditFor(member.id, "account.enable");
    expect(enableEvent!.after).toEqual({ disabledAt: null });
    const again = await login(member.email);
    expect(again.status).toBe(302);
    expect(again.headers.get("set-cookie")).toMatch(/session=/);
  });

  it("an admin cannot disable their own account", async () => {
    const result = await post(admin.id, { intent: "disable" });
    expect(result.status).toBe(400);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).disabledAt).toBeNull();
  });
});

describe("role changes", () => {
  it("changes another account's role, audited; never your own", async () => {
    const member = await createUser();
    const result = await post(member.id, { intent: "role", role: "support" });
    expect(result.location).toContain("done=role");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: member.id } })).role).toBe("support");
    const [event] = await auditFor(member.id, "account.role_change");
    expect(event).toMatchObject({
      actorId: admin.id,
      ip: ADMIN_IP,
      before: { role: "member" },
      after: { role: "support" },
    });

    const own = await post(admin.id, { intent: "role", role: "member" });
    expect(own.status).toBe(400);
    expect(errorsOf(own)[""]?.[0]).toMatch(/own role/);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: admin.id } })).role).toBe("admin");

    const bogus = await post(member.id, { intent: "role", role: "owner" });
    expect(bogus.status).toBe(400);
  });
});

describe("audit log page", () => {
  it("filters by action, actor email, target and dates; shows readable before/after without secrets", async () => {
    const member = await createUser();
    await post(member.id, { intent: "role", role: "support" });
    await adjust(member.id, { amount: "1" });
    const today = new Date().toISOString().slice(0, 10);
    const query = new URLSearchParams({
      action: "account.role_change",
      actor: admin.email.slice(0, 12).toUpperCase(),
      target: member.id,
      from: today,
      to: today,
    });
    const result = await call(auditLoader, getRequest(`/admin/audit?${query}`, { cookie: support.cookie }));
    expect(result.status).toBe(200);
    const body = result.data as {
      total: number;
      actions: string[];
      events: Array<{ action: string; actorEmail: string; before: string; after: string; href: string }>;
    };
    expect(body.total).toBe(1);
    expect(body.actions).toEqual(expect.arrayContaining(["account.role_change", "wallet.adjust"]));
    expect(body.events[0]).toMatchObject({
      action: "account.role_change",
      actorEmail: admin.email,
      href: `/admin/members/${member.id}`,
    });
    expect(body.events[0]!.before).toBe(JSON.stringify({ role: "member" }, null, 2));

    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const none = await call(
      auditLoader,
      getRequest(`/admin/audit?target=${member.id}&to=${yesterday}`, { cookie: admin.cookie }),
    );
    expect((none.data as { total: number }).total).toBe(0);

    expect(redactSecrets({ passwordHash: "x", nested: { token: "t", amount: "1" } })).toEqual({
      passwordHash: "[redacted]",
      nested: { token: "[redacted]", amount: "1" },
    });
  });
});

describe("overview", () => {
  it("counts members and money, and reports the ledger invariants", async () => {
    const member = await createUser();
    await fundWallet(member.id, units(2));
    await prisma.user.update({ where: { id: member.id }, data: { disabledAt: new Date() } });
    const result = await call(overviewLoader, getRequest("/admin", { cookie: support.cookie }));
    expect(result.status).toBe(200);
    const body = result.data as {
      isAdmin: boolean;
      members: { total: number; verified: number; disabled: number };
      money: { walletBalances: string };
      ledger: Promise<{ ok: boolean; problems: unknown[] }>;
    };
    expect(body.isAdmin).toBe(false);
    expect(body.members.total).toBe(await prisma.user.count());
    expect(body.members.disabled).toBeGreaterThanOrEqual(1);
    expect(body.money.walletBalances).toMatch(/^\$/);
    await expect(body.ledger).resolves.toMatchObject({ ok: true, problems: [] });
  });
});

describe("npm run admin:create", () => {
  it("promotes an existing account, audited as the command line; refuses unknown addresses", async () => {
    const person = await createUser({ email: uniqueEmail("boot") });
    const out: string[] = [];
    const err: string[] = [];
    const log = (line: string) => out.push(line);
    const fail = (line: string) => err.push(line);

    expect(await adminCreate(["--email", person.email.toUpperCase()], log, fail)).toBe(0);
    expect(out.join("\n")).toContain(`${person.email} is now admin (was member)`);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: person.id } })).role).toBe("admin");
    const [event] = await auditFor(person.id, "account.role_change");
    expect(event).toMatchObject({ actorId: null, before: { role: "member" }, after: { role: "admin", via: "cli" } });

    expect(await adminCreate(["--email", person.email, "--role", "support"], log, fail)).toBe(0);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: person.id } })).role).toBe("support");
    expect(await adminCreate(["--email", person.email, "--role", "support"], log, fail)).toBe(0);
    expect(out.at(-1)).toContain("already support: nothing changed");
    expect(await auditFor(person.id, "account.role_change")).toHaveLength(2);

    const before = await prisma.user.count();
    expect(await adminCreate(["--email", "nobody-here@example.com"], log, fail)).toBe(1);
    expect(err.at(-1)).toMatch(/no account has the address nobody-here@example.com/);
    expect(await prisma.user.count()).toBe(before);

    expect(await adminCreate(["--email", person.email, "--role", "owner"], log, fail)).toBe(1);
    expect(err.at(-1)).toMatch(/--role: use admin or support/);
    expect(await adminCreate(["--nope"], log, fail)).toBe(2);
  });
});
