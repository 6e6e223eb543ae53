import { rm } from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// Above this amount (USD) a manual top-up needs two different admins; set before app modules load.
vi.hoisted(() => {
  process.env.STORAGE_DIR = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-four-eyes-${process.pid}-${Date.now()}`;
  process.env.TOPUP_SECOND_APPROVAL_ABOVE = "50";
});

import { checkInvariants, getWalletBalance, walletAccountId } from "#app/models/ledger.server";
import { transferKeyFor } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { action as adminAction, loader as adminLoader } from "#app/routes/admin.top-ups.$id";
import { loader as queueLoader } from "#app/routes/admin.top-ups._index";
import { action as requestAction } from "#app/routes/wallet.top-up.manual";
import { prisma } from "#app/utils/db.server";
import { env, parseEnv } from "#app/utils/env.server";
import {
  BASE_URL,
  call,
  context,
  createUser,
  deliverQueuedEmails,
  getRequest,
  postRequest,
  signedInCookie,
} from "#tests/helpers";

const USD = (units: number) => BigInt(Math.round(units * 100)) * 10_000n;

type Reply = { result: { error?: Record<string, string[] | null> } };
const errorsOf = (result: { data: unknown }) => (result.data as Reply).result.error ?? {};

let sequence = 0;

async function person(role: "member" | "admin" = "member", displayName = "Test Member") {
  const user = await createUser({ role, displayName });
  const { cookie } = await signedInCookie(user.id);
  return { ...user, cookie };
}

async function method() {
  return addMethod(
    { name: "MTN MoMo", instructions: "Send to the number below.", accountNumber: "+237 670 000 000" },
    { actorId: null, via: "cli" },
  );
}

/** A pending request made through the member's real action. */
async function pendingTopUp(owner: { cookie: string }, methodId: string, amount: string) {
  const form = new FormData();
  const fields = {
    methodId,
    amount,
    senderNumber: "+237 670 12 34 56",
    reference: `FE-${process.pid}-${(sequence += 1)}`,
  };
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const request = new Request(`${BASE_URL}/wallet/top-up/manual`, {
    method: "POST",
    body: form,
    headers: { origin: BASE_URL, cookie: owner.cookie },
  });
  const result = await call(requestAction, request);
  expect(result.status).toBe(302);
  const id = new URL(result.location!, BASE_URL).searchParams.get("sent")!;
  return prisma.manualTopUp.findUniqueOrThrow({ where: { id } });
}

const decide = (id: string, form: Record<string, string>, cookie: string, ip = "198.51.100.7") =>
  call(adminAction, postRequest(`/admin/top-ups/${id}`, form, { cookie }), { id }, context(ip));

const approve = (id: string, amount: string, cookie: string, note?: string) =>
  decide(id, { intent: "approve", creditedAmount: amount, ...(note ? { note } : {}) }, cookie);

const credits = (id: string) => prisma.ledgerTransfer.count({ where: { idempotencyKey: transferKeyFor(id) } });

afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});

afterAll(async () => {
  await rm(env.STORAGE_DIR, { recursive: true, force: true });
});

describe("four eyes on manual top-ups", () => {
  it("reads TOPUP_SECOND_APPROVAL_ABOVE strictly, in wallet currency units (default 100)", () => {
    expect(env.topUp.secondApprovalAbove).toBe(USD(50));
    expect(parseEnv({}).topUp.secondApprovalAbove).toBe(USD(100));
    expect(parseEnv({ TOPUP_SECOND_APPROVAL_ABOVE: "0" }).topUp.secondApprovalAbove).toBe(0n);
    for (const bad of ["1,5", "abc", "-1", "1e3"]) {
      expect(() => parseEnv({ TOPUP_SECOND_APPROVAL_ABOVE: bad })).toThrowError(/TOPUP_SECOND_APPROVAL_ABOVE/);
    }
  });

  it("an admin cannot approve a top-up into their own wallet, whatever the amount; each refusal is audited", async () => {
    const { id: methodId } = await method();
    const admin = await person("admin", "Ada Admin");
    const other = await person("admin", "Bo Admin");
    for (const amount of ["10", "80"]) {
      const own = await pendingTopUp(admin, methodId, amount);
      const refused = await approve(own.id, amount, admin.cookie);
      expect(refused.status).toBe(403);
      expect(errorsOf(refused)[""]).toEqual(["You cannot approve a top-up to your own wallet. Another admin must."]);
      expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: own.id } })).toMatchObject({
        status: "pending",
        decidedById: null,
      });
      expect(await prisma.manualTopUpApproval.count({ where: { topUpId: own.id } })).toBe(0);
      expect(await credits(own.id)).toBe(0);
      const events = await prisma.auditEvent.findMany({ where: { targetId: own.id } });
      expect(events).toEqual([
        expect.objectContaining({
          action: "topup.approve_refused",
          actorId: admin.id,
          after: expect.objectContaining({ reason: "own_top_up" }),
        }),
      ]);
      // The detail page does not offer the approve form to them.
      const page = await call(adminLoader, getRequest(`/admin/top-ups/${own.id}`, admin), { id: own.id });
      expect(page.data).toMatchObject({ canApprove: false, approveBlocked: expect.stringMatching(/your own wallet/) });
    }
    expect((await getWalletBalance(admin.id)).balance).toBe(0n);

    // Another admin approves the small one alone.
    const small = await prisma.manualTopUp.findFirstOrThrow({ where: { userId: admin.id, claimedAmount: USD(10) } });
    expect((await approve(small.id, "10", other.cookie)).status).toBe(302);
    expect((await getWalletBalance(admin.id)).balance).toBe(USD(10));
  });

  it("at or below the threshold one admin's approval credits at once", async () => {
    const { id: methodId } = await method();
    const owner = await person();
    const admin = await person("admin", "Ada Admin");
    const row = await pendingTopUp(owner, methodId, "50");
    expect((await approve(row.id, "50", admin.cookie)).status).toBe(302);
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "approved",
      decidedById: admin.id,
    });
    expect(await credits(row.id)).toBe(1);
    expect((await getWalletBalance(owner.id)).balance).toBe(USD(50));
  });

  it("above it, the first approval is 1 of 2 and credits nothing; a second admin's approval credits once", async () => {
    const { id: methodId } = await method();
    const owner = await person();
    const first = await person("admin", "Ada Admin");
    const second = await person("admin", "Bo Admin");
    const row = await pendingTopUp(owner, methodId, "80");

    const queueBefore = await call(queueLoader, getRequest("/admin/top-ups", first));
    const pendingBefore = (queueBefore.data as { pending: Array<Record<string, unknown>> }).pending;
    expect(pendingBefore.find((item) => item.id === row.id)).toMatchObject({
      approvalsLabel: "Needs 2 approvals",
      approvedBy: [],
    });

    const firstApproval = await approve(row.id, "80", first.cookie);
    expect(firstApproval).toMatchObject({ status: 302, location: `/admin/top-ups?done=${row.id}` });
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "pending",
      creditedAmount: null,
      transferId: null,
    });
    expect(await credits(row.id)).toBe(0);
    expect((await getWalletBalance(owner.id)).balance).toBe(0n);
    expect(await prisma.manualTopUpApproval.findMany({ where: { topUpId: row.id } })).toEqual([
      expect.objectContaining({ adminId: first.id, creditedAmount: USD(80) }),
    ]);
    expect(await prisma.auditEvent.findMany({ where: { targetId: row.id } })).toEqual([
      expect.objectContaining({
        action: "topup.approve_first",
        actorId: first.id,
        after: expect.objectContaining({ approvals: 1, approvalsRequired: 2, creditedAmount: "80" }),
      }),
    ]);
    await deliverQueuedEmails();
    expect(await prisma.outboxEmail.count({ where: { to: owner.email } })).toBe(0);

    // The queue and the detail page say so, and who approved.
    const queue = await call(queueLoader, getRequest(`/admin/top-ups?done=${row.id}`, second));
    const queueData = queue.data as { pending: Array<Record<string, unknown>>; done: Record<string, unknown> };
    expect(queueData.pending.find((item) => item.id === row.id)).toMatchObject({
      approvalsLabel: "1 of 2 approvals",
      approvedBy: ["Ada Admin"],
    });
    expect(queueData.done).toMatchObject({ status: "pending", approvalsLabel: "1 of 2 approvals" });
    const detail = await call(adminLoader, getRequest(`/admin/top-ups/${row.id}`, second), { id: row.id });
    expect(detail.data).toMatchObject({
      canApprove: true,
      claimedDecimal: "80",
      topUp: {
        approvalsLabel: "1 of 2 approvals",
        approvals: [expect.objectContaining({ adminName: "Ada Admin", amount: "$80.00" })],
      },
    });

    // The same admin cannot be the second pair of eyes.
    const again = await approve(row.id, "80", first.cookie);
    expect(again.status).toBe(409);
    expect(errorsOf(again)[""]).toEqual([
      "You already approved this top-up. A second admin must approve it before it is credited.",
    ]);
    const mine = await call(adminLoader, getRequest(`/admin/top-ups/${row.id}`, first), { id: row.id });
    expect(mine.data).toMatchObject({ canApprove: false, approveBlocked: expect.stringMatching(/already approved/) });
    expect(await prisma.manualTopUpApproval.count({ where: { topUpId: row.id } })).toBe(1);

    const done = await approve(row.id, "80", second.cookie);
    expect(done).toMatchObject({ status: 302, location: `/admin/top-ups?done=${row.id}` });
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "approved",
      creditedAmount: USD(80),
      decidedById: second.id,
      transferId: expect.any(String),
    });
    expect(await credits(row.id)).toBe(1);
    expect((await getWalletBalance(owner.id)).balance).toBe(USD(80));
    const final = await prisma.auditEvent.findFirstOrThrow({ where: { targetId: row.id, action: "topup.approve" } });
    expect(final).toMatchObject({
      actorId: second.id,
      after: expect.objectContaining({ approvedBy: [first.id, second.id], creditedAmount: "80" }),
    });
    await deliverQueuedEmails();
    expect(await prisma.outboxEmail.count({ where: { to: owner.email, tag: "manual-topup-approved" } })).toBe(1);

    // Approving after it was credited changes nothing.
    const third = await person("admin", "Cy Admin");
    expect((await approve(row.id, "80", third.cookie)).status).toBe(409);
    expect(await credits(row.id)).toBe(1);
    expect((await getWalletBalance(owner.id)).balance).toBe(USD(80));
  });

  it("the second admin approves the amount the first one did, or nothing happens", async () => {
    const { id: methodId } = await method();
    const owner = await person();
    const first = await person("admin", "Ada Admin");
    const second = await person("admin", "Bo Admin");
    const row = await pendingTopUp(owner, methodId, "90");
    const note = "The operator took a 5 dollar fee.";
    expect((await approve(row.id, "85", first.cookie, note)).status).toBe(302);

    const differs = await approve(row.id, "90", second.cookie);
    expect(differs.status).toBe(400);
    expect(errorsOf(differs).creditedAmount).toEqual([
      "The first approval credits $85.00. Approve that amount, or reject the request.",
    ]);
    expect(await credits(row.id)).toBe(0);
    expect(await prisma.manualTopUpApproval.count({ where: { topUpId: row.id } })).toBe(1);

    // The detail page starts the second admin from the first approval's amount.
    const detail = await call(adminLoader, getRequest(`/admin/top-ups/${row.id}`, second), { id: row.id });
    expect(detail.data).toMatchObject({ approveDefault: "85" });

    expect((await approve(row.id, "85", second.cookie)).status).toBe(302);
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "approved",
      creditedAmount: USD(85),
      decisionNote: note,
    });
    expect((await getWalletBalance(owner.id)).balance).toBe(USD(85));
  });

  it("a rejection by any admin after the first approval ends it: nothing is credited", async () => {
    const { id: methodId } = await method();
    const owner = await person();
    const [first, second, third] = [
      await person("admin", "Ada Admin"),
      await person("admin", "Bo Admin"),
      await person("admin", "Cy Admin"),
    ];
    const row = await pendingTopUp(owner, methodId, "75");
    expect((await approve(row.id, "75", first.cookie)).status).toBe(302);
    const rejected = await decide(
      row.id,
      { intent: "reject", reason: "No such payment on our statement." },
      second.cookie,
    );
    expect(rejected.status).toBe(302);
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "rejected",
      decidedById: second.id,
      creditedAmount: null,
    });
    const late = await approve(row.id, "75", third.cookie);
    expect(late.status).toBe(409);
    expect(errorsOf(late)[""]).toEqual([expect.stringMatching(/already rejected/)]);
    expect(await credits(row.id)).toBe(0);
    expect((await getWalletBalance(owner.id)).balance).toBe(0n);
  });

  it("admins approving at the same moment: two approvals are recorded and the top-up is credited once", async () => {
    const { id: methodId } = await method();
    const admins = [
      await person("admin", "Ada Admin"),
      await person("admin", "Bo Admin"),
      await person("admin", "Cy Admin"),
    ];
    for (let round = 0; round < 3; round += 1) {
      const owner = await person();
      const row = await pendingTopUp(owner, methodId, "60");
      const results = await Promise.all(admins.map((admin) => approve(row.id, "60", admin.cookie)));
      expect(results.map((result) => result.status).sort()).toEqual([302, 302, 409]);
      expect(await prisma.manualTopUpApproval.count({ where: { topUpId: row.id } })).toBe(2);
      expect(await credits(row.id)).toBe(1);
      expect(await getWalletBalance(owner.id)).toMatchObject({ balance: USD(60), available: USD(60) });
      const transfers = await prisma.ledgerTransfer.findMany({
        where: { entries: { some: { accountId: walletAccountId(owner.id) } } },
      });
      expect(transfers).toHaveLength(1);
      expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
        status: "approved",
      });
    }
  });
});
