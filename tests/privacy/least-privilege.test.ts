import { rm } from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// Least privilege and privacy leftovers: who may open a top-up receipt, what the ledger keeps of a manual
// top-up after the member's account is deleted, and how often a member can ask for a data export.
vi.hoisted(() => {
  process.env.STORAGE_DIR = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-least-${process.pid}-${Date.now()}`;
  process.env.WALLET_CURRENCY = "USD";
});

import {
  checkInvariants,
  ensureWallet,
  getWalletBalance,
  PLATFORM_ACCOUNTS,
  transfer,
  walletAccountId,
} from "#app/models/ledger.server";
import { approveManualTopUp, requestManualTopUp } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { grantSupportAccess, revokeSupportAccess } from "#app/models/support-access.server";
import { loader as topUpLoader } from "#app/routes/admin.top-ups.$id";
import { loader as fileLoader } from "#app/routes/files.$id";
import { action as privacyAction } from "#app/routes/settings.privacy";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { call, context, createUser, getRequest, postRequest, signedInCookie, TEST_PASSWORD } from "#tests/helpers";

const PNG = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  ),
);

afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});

afterAll(async () => {
  await rm(env.STORAGE_DIR, { recursive: true, force: true });
});

let sequence = 0;

async function person(role: "member" | "support" | "admin" = "member") {
  const user = await createUser({ role });
  const { cookie } = await signedInCookie(user.id);
  return { ...user, cookie };
}

async function topUpWithReceipt(userId: string, reference = `LP-${process.pid}-${(sequence += 1)}`) {
  const method = await addMethod(
    { name: "Orange Money", instructions: "Send to the number below.", accountNumber: "+237 690 000 000" },
    { actorId: null, via: "cli" },
  );
  const result = await requestManualTopUp({
    userId,
    methodId: method.id,
    amount: 10_000_000n,
    senderNumber: "+237 690 11 22 33",
    reference,
    receipt: { bytes: PNG, filename: "receipt.png" },
  });
  if (!result.ok) throw new Error(result.error);
  return result.topUp;
}

const openFile = (fileId: string, cookie: string) =>
  call(fileLoader, getRequest(`/files/${fileId}`, { cookie }), { id: fileId }, context("192.0.2.10"));

describe("top-up receipts: who may open them", () => {
  it("support needs the member's running account-wide grant; admins (who decide top-ups) and the owner may", async () => {
    const owner = await person();
    const support = await person("support");
    const admin = await person("admin");
    const topUp = await topUpWithReceipt(owner.id);
    const fileId = topUp.receiptFileId!;

    // No grant: the same 404 as a file that does not exist, and nothing audited.
    expect((await openFile(fileId, support.cookie)).status).toBe(404);
    expect(await prisma.auditEvent.count({ where: { targetId: fileId } })).toBe(0);
    const page = await call(topUpLoader, getRequest(`/admin/top-ups/${topUp.id}`, support), { id: topUp.id });
    expect(page.data).toMatchObject({ topUp: { receipt: null, receiptHidden: true } });

    // A grant for one generation covers that generation only, not the member's receipts.
    const generation = await prisma.generation.create({
      data: {
        userId: owner.id,
        requestId: `req-${owner.id}`,
        modelId: "demo:chat",
        modelLabel: "Demo chat",
        modality: "text",
        prompt: "hi",
        status: "succeeded",
      },
    });
    expect((await grantSupportAccess(owner.id, { generationId: generation.id, duration: "1h" })).ok).toBe(true);
    expect((await openFile(fileId, support.cookie)).status).toBe(404);

    // The member lets support see their account: the receipt opens, and the view is audited with the grant.
    const granted = await grantSupportAccess(owner.id, { wholeHistory: true, duration: "1h" });
    if (!granted.ok) throw new Error("grant failed");
    const opened = await openFile(fileId, support.cookie);
    expect(opened.status).toBe(200);
    expect(opened.headers.get("content-type")).toBe("image/png");
    expect(await prisma.auditEvent.findMany({ where: { targetId: fileId } })).toEqual([
      expect.objectContaining({
        action: "receipt.view",
        actorId: support.id,
        ip: "192.0.2.10",
        after: { purpose: "receipt", ownerId: owner.id, manualTopUpId: topUp.id, grantId: granted.grant.id },
      }),
    ]);
    const withGrant = await call(topUpLoader, getRequest(`/admin/top-ups/${topUp.id}`, support), { id: topUp.id });
    expect(withGrant.data).toMatchObject({ topUp: { receipt: { url: `/files/${fileId}` }, receiptHidden: false } });

    // Revoked: closed again.
    await revokeSupportAccess(owner.id, granted.grant.id);
    expect((await openFile(fileId, support.cookie)).status).toBe(404);

    // An admin opens it without a grant (they decide top-ups), audited; the owner, not audited.
    expect((await openFile(fileId, admin.cookie)).status).toBe(200);
    expect((await openFile(fileId, owner.cookie)).status).toBe(200);
    expect(await prisma.auditEvent.count({ where: { targetId: fileId, action: "receipt.view" } })).toBe(2);
  });
});

describe("account deletion and the ledger", () => {
  it("a manual top-up's credit carries no payment reference in the ledger", async () => {
    const owner = await person();
    const admin = await person("admin");
    const topUp = await topUpWithReceipt(owner.id, "MP-SECRET-REF-1");
    const approved = await approveManualTopUp({ id: topUp.id, actorId: admin.id, ip: null });
    expect(approved.ok).toBe(true);
    const credit = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { idempotencyKey: `manual-topup:${topUp.id}` },
    });
    expect(credit.metadata).toEqual({ manualTopUpId: topUp.id, methodId: topUp.methodId });
  });

  it("deleting the account removes payment references kept in older ledger metadata; amounts stay", async () => {
    const owner = await person();
    const other = await person();
    // What earlier versions wrote for a manual top-up's credit (and what stays for another member).
    const legacy = async (userId: string, reference: string) => {
      await ensureWallet(userId);
      const { transferId } = await transfer({
        key: `legacy-manual:${userId}`,
        kind: "topup_manual",
        description: "Top-up by Orange Money",
        postings: [
          { accountId: PLATFORM_ACCOUNTS.manualClearing, amount: -5_000_000n },
          { accountId: walletAccountId(userId), amount: 5_000_000n },
        ],
        metadata: { manualTopUpId: `legacy-${userId}`, methodId: "m1", reference, senderNumber: "+237690112233" },
      });
      return transferId;
    };
    const ownerTransfer = await legacy(owner.id, "MPREF0001");
    const otherTransfer = await legacy(other.id, "MPREF0002");
    const entriesBefore = await prisma.ledgerEntry.findMany({ where: { transferId: ownerTransfer } });

    const deleted = await call(
      privacyAction,
      postRequest("/settings/privacy", { intent: "delete", password: TEST_PASSWORD, confirm: "on" }, owner),
    );
    expect(deleted.status).toBe(302);

    const after = await prisma.ledgerTransfer.findUniqueOrThrow({ where: { id: ownerTransfer } });
    expect(after).toMatchObject({
      kind: "topup_manual",
      description: "Top-up by Orange Money",
      metadata: { manualTopUpId: `legacy-${owner.id}`, methodId: "m1" },
    });
    expect(JSON.stringify(after.metadata)).not.toMatch(/MPREF0001|237690112233/);
    expect(await prisma.ledgerEntry.findMany({ where: { transferId: ownerTransfer } })).toEqual(entriesBefore);
    // Another member's ledger is untouched.
    expect((await prisma.ledgerTransfer.findUniqueOrThrow({ where: { id: otherTransfer } })).metadata).toMatchObject({
      reference: "MPREF0002",
    });
    expect((await getWalletBalance(owner.id)).balance).toBe(0n); // forfeited on deletion, as before
  });

  it("the ledger stays append-only: no other change to a transfer gets through", async () => {
    const owner = await person();
    await ensureWallet(owner.id);
    const { transferId } = await transfer({
      key: `append-only:${owner.id}`,
      kind: "grant",
      description: "Test",
      postings: [
        { accountId: PLATFORM_ACCOUNTS.promotions, amount: -1_000_000n },
        { accountId: walletAccountId(owner.id), amount: 1_000_000n },
      ],
      metadata: { reference: "X" },
    });
    const attempts = [
      () => prisma.$executeRaw`UPDATE ledger_transfers SET metadata = '{}'::jsonb WHERE id = ${transferId}`,
      () => prisma.$executeRaw`UPDATE ledger_transfers SET description = 'changed' WHERE id = ${transferId}`,
      () =>
        prisma.$transaction(async (tx) => {
          await tx.$executeRaw`SELECT set_config('ledger.redact', 'on', true)`;
          await tx.$executeRaw`UPDATE ledger_transfers SET metadata = '{"reference":"Y"}'::jsonb WHERE id = ${transferId}`;
        }),
      () =>
        prisma.$transaction(async (tx) => {
          await tx.$executeRaw`SELECT set_config('ledger.redact', 'on', true)`;
          await tx.$executeRaw`UPDATE ledger_transfers SET kind = 'other', metadata = '{}'::jsonb WHERE id = ${transferId}`;
        }),
      () => prisma.$executeRaw`DELETE FROM ledger_transfers WHERE id = ${transferId}`,
    ];
    for (const attempt of attempts) await expect(attempt()).rejects.toThrow(/append-only/);
    expect(await prisma.ledgerTransfer.findUniqueOrThrow({ where: { id: transferId } })).toMatchObject({
      kind: "grant",
      description: "Test",
      metadata: { reference: "X" },
    });
  });
});

describe("data export requests", () => {
  it("a member can ask for 3 exports a day; the fourth is refused with a clear message and queues nothing", async () => {
    const owner = await person();
    const ask = () =>
      call(privacyAction, postRequest("/settings/privacy", { intent: "export" }, owner), {}, context("192.0.2.20"));
    for (let round = 0; round < 3; round += 1) {
      expect((await ask()).status).toBe(302);
      // The export finished (or failed): the next request is not blocked by a pending one.
      await prisma.dataExport.updateMany({
        where: { userId: owner.id, status: "pending" },
        data: { status: "failed" },
      });
    }
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect((refused.data as { export: string }).export).toMatch(
      /^You can ask for 3 exports a day\. Try again in (about )?\d+ hours?\.$/,
    );
    expect(await prisma.dataExport.count({ where: { userId: owner.id } })).toBe(3);
    expect(await prisma.auditEvent.count({ where: { actorId: owner.id, action: "data.export_requested" } })).toBe(3);

    // Another member is not affected; a day later the member can ask again.
    const other = await person();
    const theirs = await call(privacyAction, postRequest("/settings/privacy", { intent: "export" }, other));
    expect(theirs.status).toBe(302);
    await prisma.dataExport.updateMany({
      where: { userId: owner.id },
      data: { createdAt: new Date(Date.now() - 25 * 3_600_000) },
    });
    expect((await ask()).status).toBe(302);
  });
});
