import { rm } from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// Account deletion end to end through /settings/privacy: re-authentication, then every trace of the
// member's email, name and phone gone from every table (found by asking information_schema for every text
// and JSON column), their file bytes gone, the ledger intact and balanced, their sessions dead, and a
// confirmation sent to the old address.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-delete-${process.pid}-${Date.now()}`;
  process.env.STORAGE_DIR = dir;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
  return dir;
});

import { requestPasswordReset } from "#app/models/account.server";
import { buildExport, requestExport } from "#app/models/data-rights.server";
import { prepareMedia, prepareText, runMedia, streamText } from "#app/models/generation.server";
import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { requestManualTopUp } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { loader as settingsLoader } from "#app/routes/settings";
import { action as privacyAction, loader as privacyLoader } from "#app/routes/settings.privacy";
import { prisma } from "#app/utils/db.server";
import { consumeRateLimit } from "#app/utils/rate-limit.server";
import { getStorage } from "#app/utils/storage.server";
import {
  call,
  createUser,
  fundWallet,
  getRequest,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
  TEST_PASSWORD,
  uniqueEmail,
} from "#tests/helpers";

const DOLLAR = 1_000_000n;
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
  await rm(storageDir, { recursive: true, force: true });
});

let counter = 0;
const requestId = () => `del${process.pid}x${(counter += 1)}x${Math.random().toString(36).slice(2, 8)}`;
const unique = () => `${process.pid}${(counter += 1)}${Math.random().toString(36).slice(2, 6)}`;

/** A member whose email, name and phone are spread over as many tables as the product allows. */
async function richMember() {
  const id = unique();
  const email = uniqueEmail("erase");
  const displayName = `Zephyrine Quillfeather ${id}`;
  const phone = `+23767${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  const user = await createUser({ email, displayName });
  await prisma.user.update({ where: { id: user.id }, data: { phone } });
  await fundWallet(user.id, 5n * DOLLAR);
  const { cookie } = await signedInCookie(user.id);

  // Generations that mention the member, with files.
  const prepared = await prepareText({
    userId: user.id,
    requestId: requestId(),
    modelId: "demo:chat",
    prompt: `My name is ${displayName}, call me on ${phone} or write to ${email}`,
    files: [
      { filename: "note.txt", bytes: new TextEncoder().encode(`${displayName} ${phone}`), mediaType: "text/plain" },
    ],
  });
  if (prepared.replayed) throw new Error("unexpected replay");
  await streamText(prepared, () => undefined);
  const { row: image } = await prepareMedia("image", {
    userId: user.id,
    requestId: requestId(),
    modelId: "demo:image",
    prompt: `A portrait of ${displayName}`,
    n: 1,
    size: "512x512",
  });
  expect(await runMedia(image.id)).toEqual({ next: "done" });

  const method = await addMethod(
    { name: "Orange Money", instructions: "Send to the number below.", accountNumber: "+237 690 000 000" },
    { actorId: null, via: "cli" },
  );
  const topUp = await requestManualTopUp({
    userId: user.id,
    methodId: method.id,
    amount: 2n * DOLLAR,
    senderNumber: phone,
    reference: `TX${id}`,
    receipt: { bytes: PNG, filename: `${displayName}.png` },
  });
  expect(topUp.ok).toBe(true);
  const contacted = await prisma.contactMessage.create({
    data: {
      userId: user.id,
      name: displayName,
      email,
      subject: "Hello",
      message: `Call me on ${phone}`,
      ip: "203.0.113.9",
    },
  });
  // Staff answers quote what they were told (the name and the number, here): erased with the account too.
  await prisma.contactReply.create({
    data: { messageId: contacted.id, body: `Hello ${displayName}, we will call ${phone}.`, emailId: `em-${id}` },
  });
  await prisma.contactMessage.create({
    data: { userId: null, name: displayName, email, subject: "Before I signed up", message: "Hi", ip: null },
  });
  await prisma.googleSignup.create({
    data: {
      tokenHash: `gs${id}`,
      googleSub: `sub-${id}`,
      email,
      displayName,
      expiresAt: new Date(Date.now() + 600_000),
    },
  });
  await requestPasswordReset(email); // a reset token + an email (with the name) in the outbox
  await consumeRateLimit(`reset:account:${email}`, { limit: 10, windowSeconds: 3600 });
  const exported = await requestExport(user.id, "203.0.113.9");
  if (!exported.ok) throw new Error("export refused");
  expect(await buildExport(exported.exportId)).toBe("ready");

  const storageKeys = [
    ...(await prisma.storedFile.findMany({ where: { ownerId: user.id } })).map((file) => file.storageKey),
    ...(await prisma.dataExport.findMany({ where: { userId: user.id } })).map((row) => row.storageKey!),
  ];
  expect(storageKeys.length).toBe(4); // the text attachment, the image, the receipt, the export
  return { user, email, displayName, phone, cookie, storageKeys };
}

type Hit = { table: string; column: string; count: number };

/** Every text, varchar and JSON column of every table in the public schema, searched for each needle. */
async function findEverywhere(needles: string[]): Promise<Hit[]> {
  const columns = await prisma.$queryRaw<{ table: string; column: string }[]>`
    SELECT c.table_name AS "table", c.column_name AS "column"
    FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'tsvector')
    ORDER BY 1, 2`;
  expect(columns.length).toBeGreaterThan(50);
  const hits: Hit[] = [];
  for (const { table, column } of columns) {
    for (const needle of needles) {
      const [row] = await prisma.$queryRawUnsafe<{ count: number }[]>(
        `SELECT count(*)::int AS count FROM "${table}" WHERE "${column}"::text ILIKE '%' || $1 || '%'`,
        needle,
      );
      if (row && row.count > 0) hits.push({ table, column: `${column} ~ ${needle}`, count: row.count });
    }
  }
  return hits;
}

const remove = (cookie: string, form: Record<string, string>) =>
  call(privacyAction, postRequest("/settings/privacy", { intent: "delete", ...form }, { cookie }));

describe("account deletion", () => {
  it("refuses a wrong password or a missing confirmation, and changes nothing", async () => {
    const member = await richMember();
    const before = await prisma.user.findUniqueOrThrow({ where: { id: member.user.id } });
    const sessionsBefore = await prisma.session.count({ where: { userId: member.user.id } });

    const wrong = await remove(member.cookie, { password: "not my password", confirm: "on" });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.data)).toContain("That is not your password.");
    expect(JSON.stringify(wrong.data)).not.toContain("not my password"); // never echoed back

    const unticked = await remove(member.cookie, { password: TEST_PASSWORD });
    expect(unticked.status).toBe(400);
    expect(JSON.stringify(unticked.data)).toContain("Tick the box");

    expect(await prisma.user.findUniqueOrThrow({ where: { id: member.user.id } })).toEqual(before);
    expect(await prisma.session.count({ where: { userId: member.user.id } })).toBe(sessionsBefore);
    expect(await prisma.storedFile.count({ where: { ownerId: member.user.id } })).toBe(3);
    expect(await prisma.generation.count({ where: { userId: member.user.id, deletedAt: null } })).toBe(2);
    expect(await latestOutboxEmail(member.email, "account-deleted")).toBeNull();
    for (const key of member.storageKeys) expect(await getStorage().get(key)).not.toBeNull();
  });

  it("erases the member's personal data everywhere, keeps the ledger, signs them out, and tells them", async () => {
    const member = await richMember();
    const other = await richMember();
    const walletEntries = await prisma.ledgerEntry.count({ where: { accountId: `wallet:${member.user.id}` } });
    const balance = await getWalletBalance(member.user.id);
    expect(balance.available).toBeGreaterThan(0n);

    const page = await call(privacyLoader, getRequest("/settings/privacy", { cookie: member.cookie }));
    expect(page.data).toMatchObject({ hasPassword: true, hasBalance: true, balance: expect.stringContaining("$") });

    const done = await remove(member.cookie, { password: TEST_PASSWORD, confirm: "on" });
    expect(done.status).toBe(302);
    expect(done.location).toBe("/?accountDeleted=1");
    expect(done.headers.get("set-cookie")).toMatch(/^session=;.*Max-Age=0/i);

    // Once the queued confirmation is sent: no trace of the email, the name or the phone in any table,
    // except that confirmation in the development outbox (which stands in for the email provider).
    const confirmation = await latestOutboxEmail(member.email, "account-deleted");
    const hits = await findEverywhere([member.email, member.displayName, member.phone]);
    expect(confirmation).not.toBeNull();
    expect(hits).toEqual([{ table: "outbox_emails", column: `to ~ ${member.email}`, count: 1 }]);
    expect(confirmation!.html).not.toContain(member.displayName);
    expect(confirmation!.text).toContain("forfeited");

    // The bytes are gone too.
    for (const key of member.storageKeys) expect(await getStorage().get(key)).toBeNull();

    // The anonymised row, the kept money records.
    const row = await prisma.user.findUniqueOrThrow({ where: { id: member.user.id } });
    expect(row).toMatchObject({
      email: `deleted-${member.user.id}@invalid`,
      displayName: "Deleted member",
      phone: null,
      country: "ZZ",
      googleSub: null,
    });
    expect(row.disabledAt).not.toBeNull();
    expect(await prisma.password.count({ where: { userId: member.user.id } })).toBe(0);
    const generations = await prisma.generation.findMany({ where: { userId: member.user.id } });
    expect(generations).toHaveLength(2);
    for (const generation of generations) {
      expect(generation).toMatchObject({ prompt: "", outputText: null, params: {}, usage: {} });
      expect(generation.deletedAt).not.toBeNull();
      expect(generation.cost).not.toBeNull();
    }
    expect(await prisma.manualTopUp.findMany({ where: { userId: member.user.id } })).toEqual([
      expect.objectContaining({ senderNumber: "deleted", reference: "deleted", receiptFileId: null }),
    ]);
    // Every wallet entry is still there, plus the one that closes the balance.
    expect(await prisma.ledgerEntry.count({ where: { accountId: `wallet:${member.user.id}` } })).toBe(
      walletEntries + 1,
    );
    expect((await getWalletBalance(member.user.id)).balance).toBe(0n);
    expect(await prisma.ledgerAccount.findUnique({ where: { id: `wallet:${member.user.id}` } })).toMatchObject({
      userId: member.user.id,
    });

    // The audit event says what happened without saying who.
    const event = await prisma.auditEvent.findFirstOrThrow({
      where: { action: "account.deleted", targetId: member.user.id },
    });
    expect(event.ip).toBeNull();

    // The old cookie is dead: the settings layout sends it to the login page.
    const after = await call(settingsLoader, getRequest("/settings", { cookie: member.cookie }));
    expect(after.status).toBe(302);
    expect(after.location).toMatch(/^\/login/);

    // The other member is untouched.
    expect(await findEverywhere([other.email])).not.toEqual([]);
    expect(await prisma.storedFile.count({ where: { ownerId: other.user.id } })).toBe(3);
    for (const key of other.storageKeys) expect(await getStorage().get(key)).not.toBeNull();
    const otherPage = await call(settingsLoader, getRequest("/settings", { cookie: other.cookie }));
    expect(otherPage.status).toBe(200);
  });

  it("asks a Google-only member to type their email address instead of a password", async () => {
    const email = uniqueEmail("google");
    const user = await createUser({ email, password: null, displayName: `Googler ${unique()}` });
    await prisma.user.update({ where: { id: user.id }, data: { googleSub: `google-${user.id}` } });
    const { cookie } = await signedInCookie(user.id);

    const page = await call(privacyLoader, getRequest("/settings/privacy", { cookie }));
    expect(page.data).toMatchObject({ hasPassword: false, email });

    const wrong = await remove(cookie, { confirmEmail: "someone@example.com", confirm: "on" });
    expect(wrong.status).toBe(400);
    expect(JSON.stringify(wrong.data)).toContain("not your account's email address");
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ email });

    const done = await remove(cookie, { confirmEmail: email.toUpperCase(), confirm: "on" });
    expect(done.status).toBe(302);
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({
      email: `deleted-${user.id}@invalid`,
      googleSub: null,
    });
    expect(await latestOutboxEmail(email, "account-deleted")).not.toBeNull();
  });

  it("waits while a generation is still running", async () => {
    const user = await createUser();
    const { cookie } = await signedInCookie(user.id);
    await prisma.generation.create({
      data: {
        userId: user.id,
        requestId: requestId(),
        modelId: "demo:image",
        modelLabel: "Demo image",
        modality: "image",
        status: "running",
        prompt: "still drawing",
      },
    });
    const refused = await remove(cookie, { password: TEST_PASSWORD, confirm: "on" });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.data)).toContain("still running");
    expect(await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ email: user.email });
    expect(await prisma.session.count({ where: { userId: user.id } })).toBe(1);
  });
});
