import { createHash } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// `env` is parsed when app modules are first imported; vi.hoisted runs before this file's imports, so
// receipts go to a throw-away folder instead of the developer's .data/files.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-receipts-${process.pid}-${Date.now()}`;
  process.env.STORAGE_DIR = dir;
  return dir;
});

import { checkInvariants, getWalletBalance, walletAccountId } from "#app/models/ledger.server";
import {
  creditApprovedTopUps,
  normalizeReference,
  normalizeSenderNumber,
  requestManualTopUp,
  transferKeyFor,
} from "#app/models/manual-topups.server";
import { addMethod, findMethod, listEnabledMethods, setMethodEnabled } from "#app/models/payment-methods.server";
import { grantSupportAccess } from "#app/models/support-access.server";
import { action as adminAction, loader as adminLoader } from "#app/routes/admin.top-ups.$id";
import { loader as queueLoader } from "#app/routes/admin.top-ups._index";
import { loader as fileLoader } from "#app/routes/files.$id";
import { action as requestAction, loader as requestLoader } from "#app/routes/wallet.top-up.manual";
import { loader as listLoader } from "#app/routes/wallet.top-ups";
import { prisma } from "#app/utils/db.server";
import { checkReceipt, MAX_RECEIPT_BYTES, sniffFileType } from "#app/utils/file-type.server";
import { createLocalDiskStorage, saveFile } from "#app/utils/storage.server";
import { main as paymentMethodsMain } from "../../scripts/payment-methods";
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

const USD = (units: string) => {
  const [whole, fraction = ""] = units.split(".");
  return BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
};

// A real 1×1 PNG, and the first bytes of the other types we sniff.
const PNG = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  ),
);
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);
const WEBP = new Uint8Array([...Buffer.from("RIFF"), 0x24, 0, 0, 0, ...Buffer.from("WEBPVP8 ")]);
const GIF = Uint8Array.from(Buffer.from("GIF89a\x01\x00\x01\x00"));
const PDF = Uint8Array.from(Buffer.from("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"));

type Reply = {
  result: { status?: string; error?: Record<string, string[] | null>; initialValue?: Record<string, unknown> };
};
const errorsOf = (result: { data: unknown }) => (result.data as Reply).result.error ?? {};

let sequence = 0;
const uniqueReference = (prefix = "REF") => `${prefix}-${process.pid}-${(sequence += 1)}-${Date.now() % 100000}`;

async function createMethod(name = "MTN MoMo") {
  return addMethod(
    {
      name,
      instructions: "Dial *126#, choose Transfer, and send to the number below.",
      accountNumber: "+237 670 000 000",
      accountName: "AI Wallet Ltd",
      currencyNote: "Send XAF; we credit the USD equivalent.",
    },
    { actorId: null, via: "cli" },
  );
}

async function member(options: { verified?: boolean; role?: "member" | "support" | "admin" } = {}) {
  const user = await createUser({ verified: options.verified, role: options.role });
  const { cookie } = await signedInCookie(user.id);
  return { ...user, cookie };
}

type ReceiptPart = { bytes: Uint8Array; name: string; type: string };

function topUpRequest(fields: Record<string, string>, receipt: ReceiptPart | null, cookie: string) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  if (receipt) form.append("receipt", new Blob([Buffer.from(receipt.bytes)], { type: receipt.type }), receipt.name);
  return new Request(`${BASE_URL}/wallet/top-up/manual`, {
    method: "POST",
    body: form,
    headers: { origin: BASE_URL, cookie },
  });
}

function validFields(methodId: string, overrides: Record<string, string> = {}) {
  return { methodId, amount: "10", senderNumber: "+237 670-12 34 56", reference: uniqueReference(), ...overrides };
}

async function submit(
  cookie: string,
  methodId: string,
  overrides: Record<string, string> = {},
  receipt: ReceiptPart | null = null,
) {
  const fields = validFields(methodId, overrides);
  const result = await call(requestAction, topUpRequest(fields, receipt, cookie));
  return { result, fields };
}

/** A pending request made through the real action; returns its row. */
async function pendingTopUp(
  owner: { id: string; cookie: string },
  methodId: string,
  overrides = {},
  receipt?: ReceiptPart,
) {
  const { result } = await submit(owner.cookie, methodId, overrides, receipt ?? null);
  expect(result.status).toBe(302);
  const id = new URL(result.location!, BASE_URL).searchParams.get("sent")!;
  return prisma.manualTopUp.findUniqueOrThrow({ where: { id } });
}

const decide = (id: string, form: Record<string, string>, cookie: string, ip = "198.51.100.7") =>
  call(adminAction, postRequest(`/admin/top-ups/${id}`, form, { cookie }), { id }, context(ip));

async function storedObjects(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else found.push(full);
    }
  };
  await walk(storageDir);
  return found;
}

const outbox = async (to: string, tag: string) => {
  await deliverQueuedEmails();
  return prisma.outboxEmail.findMany({ where: { to, tag } });
};

// Every scenario must leave the ledger consistent.
afterEach(async () => {
  const report = await checkInvariants();
  expect(report.problems).toEqual([]);
});

afterAll(async () => {
  await rm(storageDir, { recursive: true, force: true });
});

describe("file type sniffing and storage", () => {
  it("knows JPEG, PNG, WebP, GIF and PDF by their bytes, whatever the name says", () => {
    expect(sniffFileType(PNG)?.mediaType).toBe("image/png");
    expect(sniffFileType(JPEG)?.mediaType).toBe("image/jpeg");
    expect(sniffFileType(WEBP)?.mediaType).toBe("image/webp");
    expect(sniffFileType(GIF)?.mediaType).toBe("image/gif");
    expect(sniffFileType(PDF)?.mediaType).toBe("application/pdf");
    expect(sniffFileType(Buffer.from("just some text"))).toBeNull();
    expect(sniffFileType(Buffer.from("RIFF\x00\x00\x00\x00WAVEfmt "))).toBeNull();
    expect(sniffFileType(new Uint8Array())).toBeNull();
  });

  it("accepts JPEG/PNG/WebP/PDF receipts up to 5 MB, and refuses GIF, text and anything larger", () => {
    for (const bytes of [PNG, JPEG, WEBP, PDF]) expect(checkReceipt(bytes).ok).toBe(true);
    expect(checkReceipt(GIF)).toMatchObject({ ok: false, error: expect.stringMatching(/JPEG, PNG or WebP/) });
    expect(checkReceipt(Buffer.from("hello"))).toMatchObject({ ok: false });
    const big = new Uint8Array(MAX_RECEIPT_BYTES + 1);
    big.set(PNG);
    expect(checkReceipt(big)).toMatchObject({ ok: false, error: expect.stringMatching(/5 MB/) });
  });

  it("keeps bytes under random keys only, refusing any key that could leave the folder", async () => {
    const storage = createLocalDiskStorage(path.join(storageDir, "unit"));
    for (const key of ["../../etc/passwd", "..", "a/b", "", "ABCDEF0123456789abcdef0123456789"]) {
      await expect(storage.put(key, PNG, "image/png")).rejects.toThrow(/invalid key/);
      await expect(storage.get(key)).rejects.toThrow(/invalid key/);
    }
    const owner = await createUser();
    const file = await saveFile(
      { ownerId: owner.id, purpose: "receipt", bytes: PNG, mediaType: "image/png", originalName: "../../x.png" },
      { storage },
    );
    expect(file.storageKey).toMatch(/^[a-f0-9]{32}$/);
    expect(file.sha256).toBe(createHash("sha256").update(PNG).digest("hex"));
    expect(file.size).toBe(PNG.byteLength);
    const object = await storage.get(file.storageKey);
    expect(new Uint8Array(await new Response(object!.stream).arrayBuffer())).toEqual(PNG);
    // Never overwrites an existing object.
    await expect(storage.put(file.storageKey, JPEG, "image/jpeg")).rejects.toThrow();
    await storage.delete(file.storageKey);
    expect(await storage.get(file.storageKey)).toBeNull();
  });
});

describe("member: asking for a manual top-up", () => {
  it("a valid request with a PNG receipt is pending, with the file stored under its sniffed type", async () => {
    const method = await createMethod();
    const owner = await member();
    const before = await storedObjects();

    const page = await call(requestLoader, getRequest(`/wallet/top-up/manual?method=${method.id}`, owner));
    expect(page.status).toBe(200);
    expect(page.data).toMatchObject({
      selected: { id: method.id, accountNumber: "+237 670 000 000", accountName: "AI Wallet Ltd" },
    });

    // The browser says text/plain and ".txt"; the bytes say PNG, and the bytes win.
    const { result, fields } = await submit(
      owner.cookie,
      method.id,
      { amount: "12.50", reference: "mp-2403 12.A1 " },
      { bytes: PNG, name: "IMG_2024 receipt.txt", type: "text/plain" },
    );
    expect(result.status).toBe(302);
    const id = new URL(result.location!, BASE_URL).searchParams.get("sent")!;
    expect(result.location).toBe(`/wallet/top-ups?sent=${id}`);

    const row = await prisma.manualTopUp.findUniqueOrThrow({ where: { id }, include: { receiptFile: true } });
    expect(row).toMatchObject({
      userId: owner.id,
      methodId: method.id,
      status: "pending",
      claimedAmount: USD("12.50"),
      creditedAmount: null,
      senderNumber: "+237670123456",
      reference: "mp-2403 12.A1",
      referenceKey: "MP240312.A1",
      transferId: null,
    });
    expect(fields.senderNumber).toBe("+237 670-12 34 56");
    expect(row.receiptFile).toMatchObject({
      ownerId: owner.id,
      purpose: "receipt",
      mediaType: "image/png",
      size: PNG.byteLength,
      sha256: createHash("sha256").update(PNG).digest("hex"),
      originalName: "IMG_2024 receipt.txt",
    });
    const after = await storedObjects();
    expect(after.length).toBe(before.length + 1);
    const written = after.find((file) => !before.includes(file))!;
    expect(path.basename(written)).toBe(row.receiptFile!.storageKey);
    expect(new Uint8Array(await readFile(written))).toEqual(PNG);

    // The confirmation and the list show it; nothing was credited.
    const list = await call(listLoader, getRequest(result.location!, owner));
    expect(list.status).toBe(200);
    expect(list.data).toMatchObject({
      sent: { id, status: "pending", claimed: "$12.50", method: "MTN MoMo" },
      topUps: [{ id, status: "pending", receiptUrl: `/files/${row.receiptFileId}` }],
    });
    expect((await getWalletBalance(owner.id)).balance).toBe(0n);

    // The owner can download the receipt, served with the sniffed type; no audit for the owner.
    const file = await call(fileLoader, getRequest(`/files/${row.receiptFileId}`, owner), { id: row.receiptFileId! });
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("image/png");
    expect(file.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await prisma.auditEvent.count({ where: { targetId: row.receiptFileId } })).toBe(0);
  });

  it("a receipt is optional, and an empty file input is no receipt", async () => {
    const method = await createMethod();
    const owner = await member();
    const row = await pendingTopUp(
      owner,
      method.id,
      {},
      { bytes: new Uint8Array(), name: "", type: "application/octet-stream" },
    );
    expect(row.receiptFileId).toBeNull();
    expect(await prisma.storedFile.count({ where: { ownerId: owner.id } })).toBe(0);
  });

  it("refuses a receipt that is not an image or PDF (a .png name on text bytes) and stores nothing", async () => {
    const method = await createMethod();
    const owner = await member();
    const before = await storedObjects();
    const { result } = await submit(
      owner.cookie,
      method.id,
      {},
      {
        bytes: Buffer.from("this is not an image, whatever the name says"),
        name: "receipt.png",
        type: "image/png",
      },
    );
    expect(result.status).toBe(400);
    expect(errorsOf(result)).toMatchObject({ receipt: [expect.stringMatching(/JPEG, PNG or WebP image, or a PDF/)] });
    expect(await prisma.manualTopUp.count({ where: { userId: owner.id } })).toBe(0);
    expect(await prisma.storedFile.count({ where: { ownerId: owner.id } })).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });

  it("refuses a 6 MB receipt with a field error, keeps what was typed, and stores nothing", async () => {
    const method = await createMethod();
    const owner = await member();
    const before = await storedObjects();
    const big = new Uint8Array(6 * 1024 * 1024);
    big.set(PNG);
    const { result } = await submit(
      owner.cookie,
      method.id,
      { amount: "7" },
      { bytes: big, name: "big.png", type: "image/png" },
    );
    expect(result.status).toBe(400);
    expect(errorsOf(result)).toEqual({ receipt: [expect.stringMatching(/larger than 5 MB/)] });
    expect((result.data as Reply).result.initialValue).toMatchObject({ amount: "7", methodId: method.id });
    expect(await prisma.manualTopUp.count({ where: { userId: owner.id } })).toBe(0);
    expect(await prisma.storedFile.count({ where: { ownerId: owner.id } })).toBe(0);
    expect(await storedObjects()).toEqual(before);
  });

  it("never keeps more than the limit, and stops reading a huge upload after a bounded discard", async () => {
    const method = await createMethod();
    const owner = await member();
    const boundary = "----limit-test-boundary";
    const encoder = new TextEncoder();
    const head = encoder.encode(
      Object.entries(validFields(method.id))
        .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
        .join("") +
        `--${boundary}\r\nContent-Disposition: form-data; name="receipt"; filename="huge.png"\r\nContent-Type: image/png\r\n\r\n`,
    );
    // A 200 MB upload produced lazily: count how much of it the server actually pulls.
    const total = 200 * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled === 0) {
          pulled += head.byteLength;
          controller.enqueue(head);
          return;
        }
        if (sent >= total) {
          controller.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
          controller.close();
          return;
        }
        sent += chunk.byteLength;
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const request = new Request(`${BASE_URL}/wallet/top-up/manual`, {
      method: "POST",
      body,
      headers: { origin: BASE_URL, cookie: owner.cookie, "content-type": `multipart/form-data; boundary=${boundary}` },
      duplex: "half",
    } as RequestInit);
    const result = await call(requestAction, request);
    expect(result.status).toBe(400);
    expect(errorsOf(result)).toEqual({ receipt: [expect.stringMatching(/larger than 5 MB/)] });
    // Past the limit, up to 25 MiB more are read and thrown away (so a browser still uploading gets the
    // answer instead of a connection reset), then reading stops: far from the 200 MB sent.
    expect(pulled).toBeGreaterThan(MAX_RECEIPT_BYTES);
    expect(pulled).toBeLessThan(MAX_RECEIPT_BYTES + 26 * 1024 * 1024);
    expect(await prisma.manualTopUp.count({ where: { userId: owner.id } })).toBe(0);
  });

  it.each([
    ["0", /more than zero/],
    ["-5", /positive/],
    ["10.123", /at most 2 decimals/],
    ["ten", /Enter an amount, like 10 or 10\.50 \(digits, with a dot for decimals\)/],
    ["", /Enter the amount/],
    ["0.50", /from \$1\.00 to \$500\.00/],
    ["100000", /from \$1\.00 to \$500\.00/],
    ["99999999999999", /too large/],
    ["1,5", /^Use a dot for decimals, e\.g\. 1\.5$/],
    ["1e3", /Enter an amount/],
  ])("refuses the amount %j and changes nothing", async (amount, message) => {
    const method = await createMethod();
    const owner = await member();
    const { result } = await submit(
      owner.cookie,
      method.id,
      { amount },
      { bytes: PNG, name: "r.png", type: "image/png" },
    );
    expect(result.status).toBe(400);
    expect(errorsOf(result).amount).toEqual([expect.stringMatching(message)]);
    expect(await prisma.manualTopUp.count({ where: { userId: owner.id } })).toBe(0);
    expect(await prisma.storedFile.count({ where: { ownerId: owner.id } })).toBe(0);
  });

  it("refuses a sender that is not a phone number, a missing reference, and a disabled or unknown method", async () => {
    const method = await createMethod();
    const disabled = await createMethod("Old bank");
    await setMethodEnabled(disabled.id, false, { actorId: null, via: "cli" });
    const owner = await member();

    const badSender = await submit(owner.cookie, method.id, { senderNumber: "call me" });
    expect(badSender.result.status).toBe(400);
    expect(Object.keys(errorsOf(badSender.result))).toEqual(["senderNumber"]);

    const noReference = await submit(owner.cookie, method.id, { reference: " - - " });
    expect(noReference.result.status).toBe(400);
    expect(Object.keys(errorsOf(noReference.result))).toEqual(["reference"]);

    for (const methodId of [disabled.id, "no-such-method"]) {
      const { result } = await submit(owner.cookie, methodId);
      expect(result.status).toBe(400);
      expect(errorsOf(result)).toEqual({ methodId: [expect.stringMatching(/payment methods shown/)] });
    }
    expect(await prisma.manualTopUp.count({ where: { userId: owner.id } })).toBe(0);
    // The page lists only enabled methods.
    const page = await call(requestLoader, getRequest("/wallet/top-up/manual", owner));
    const ids = (page.data as { methods: Array<{ id: string }> }).methods.map((item) => item.id);
    expect(ids).toContain(method.id);
    expect(ids).not.toContain(disabled.id);
  });

  it("the same member cannot queue the same reference twice while it is pending", async () => {
    const method = await createMethod();
    const owner = await member();
    const reference = uniqueReference("TWICE");
    const results = await Promise.all([
      submit(owner.cookie, method.id, { reference }),
      submit(owner.cookie, method.id, { reference: reference.toLowerCase() }),
    ]);
    expect(results.map(({ result }) => result.status).sort()).toEqual([302, 400]);
    const refused = results.find(({ result }) => result.status === 400)!;
    expect(errorsOf(refused.result).reference).toEqual([expect.stringMatching(/already sent this reference/)]);
    expect(await prisma.manualTopUp.count({ where: { userId: owner.id } })).toBe(1);
  });

  it("an unverified member is sent to /verify, and a visitor to sign in", async () => {
    const method = await createMethod();
    const unverified = await member({ verified: false });
    const page = await call(requestLoader, getRequest("/wallet/top-up/manual", unverified));
    expect(page).toMatchObject({ status: 302, location: "/verify" });
    const { result } = await submit(unverified.cookie, method.id, {}, { bytes: PNG, name: "r.png", type: "image/png" });
    expect(result).toMatchObject({ status: 302, location: "/verify" });
    expect(await prisma.manualTopUp.count({ where: { userId: unverified.id } })).toBe(0);
    expect(await prisma.storedFile.count({ where: { ownerId: unverified.id } })).toBe(0);
    const list = await call(listLoader, getRequest("/wallet/top-ups", unverified));
    expect(list).toMatchObject({ status: 302, location: "/verify" });

    const anonymous = await call(requestLoader, getRequest("/wallet/top-up/manual"));
    expect(anonymous.status).toBe(302);
    expect(anonymous.location).toMatch(/^\/login\?redirectTo=/);
  });

  it("a member cannot see another member's request, receipt or the admin pages (404)", async () => {
    const method = await createMethod();
    const alice = await member();
    const bob = await member();
    const row = await pendingTopUp(alice, method.id, {}, { bytes: PNG, name: "r.png", type: "image/png" });

    const confirmation = await call(listLoader, getRequest(`/wallet/top-ups?sent=${row.id}`, bob));
    expect(confirmation.status).toBe(404);
    const bobsList = await call(listLoader, getRequest("/wallet/top-ups", bob));
    expect((bobsList.data as { topUps: unknown[] }).topUps).toEqual([]);

    const file = await call(fileLoader, getRequest(`/files/${row.receiptFileId}`, bob), { id: row.receiptFileId! });
    expect(file.status).toBe(404);
    const missing = await call(fileLoader, getRequest("/files/nope", bob), { id: "nope" });
    expect(missing.status).toBe(404);

    for (const loader of [queueLoader, adminLoader]) {
      const result = await call(loader, getRequest(`/admin/top-ups/${row.id}`, bob), { id: row.id });
      expect(result.status).toBe(404);
    }
  });
});

describe("admin: the queue and decisions", () => {
  it("lists pending requests oldest first with member, method, amounts, receipt link and a duplicate flag", async () => {
    const method = await createMethod("Orange Money");
    const admin = await member({ role: "admin" });
    const alice = await member();
    const bob = await member();
    const shared = uniqueReference("DUP");
    const first = await pendingTopUp(
      alice,
      method.id,
      { reference: shared, amount: "20" },
      { bytes: PDF, name: "r.pdf", type: "application/pdf" },
    );
    const second = await pendingTopUp(bob, method.id, { reference: ` ${shared.toLowerCase().replace(/-/g, " ")} ` });
    const alone = await pendingTopUp(bob, method.id);
    expect(second.referenceKey).toBe(first.referenceKey);

    const queue = await call(queueLoader, getRequest("/admin/top-ups", admin));
    expect(queue.status).toBe(200);
    type Row = { id: string; duplicates: number; memberEmail: string; receiptUrl: string | null };
    const pending = (queue.data as { pending: Row[]; canDecide: boolean }).pending;
    const ours = pending.filter((row) => [first.id, second.id, alone.id].includes(row.id));
    expect(ours.map((row) => row.id)).toEqual([first.id, second.id, alone.id]);
    expect(ours[0]).toMatchObject({
      duplicates: 1,
      memberEmail: alice.email,
      memberName: "Test Member",
      method: "Orange Money",
      claimed: "$20.00",
      senderNumber: "+237670123456",
      reference: shared,
      receiptUrl: `/files/${first.receiptFileId}`,
      receiptKind: "PDF",
    });
    expect(ours[1]).toMatchObject({ duplicates: 1, memberEmail: bob.email, receiptUrl: null });
    expect(ours[2]).toMatchObject({ duplicates: 0 });
    expect((queue.data as { canDecide: boolean }).canDecide).toBe(true);

    const detail = await call(adminLoader, getRequest(`/admin/top-ups/${second.id}`, admin), { id: second.id });
    expect(detail.data).toMatchObject({
      topUp: { id: second.id, duplicates: 1 },
      sameReference: [{ id: first.id, memberEmail: alice.email }],
      claimedDecimal: "10",
    });

    // Still flagged after the other one is decided (any status counts).
    await decide(first.id, { intent: "reject", reason: "No such payment received." }, admin.cookie);
    const again = await call(adminLoader, getRequest(`/admin/top-ups/${second.id}`, admin), { id: second.id });
    expect(again.data).toMatchObject({ topUp: { duplicates: 1 }, sameReference: [{ status: "rejected" }] });
  });

  it("approving credits the claimed amount once, even with two admins approving at the same moment", async () => {
    const method = await createMethod();
    const owner = await member();
    const [adminA, adminB] = [await member({ role: "admin" }), await member({ role: "admin" })];
    const row = await pendingTopUp(owner, method.id, { amount: "25" });

    const results = await Promise.all([
      decide(row.id, { intent: "approve", creditedAmount: "25" }, adminA.cookie, "198.51.100.1"),
      decide(row.id, { intent: "approve", creditedAmount: "25" }, adminB.cookie, "198.51.100.2"),
    ]);
    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual([302, 409]);
    const loser = results.find((result) => result.status === 409)!;
    expect(errorsOf(loser)[""]).toEqual([expect.stringMatching(/already approved/)]);
    const winner = results.find((result) => result.status === 302)!;
    expect(winner.location).toBe(`/admin/top-ups?done=${row.id}`);

    expect(await getWalletBalance(owner.id)).toMatchObject({ balance: USD("25"), available: USD("25") });
    const transfers = await prisma.ledgerTransfer.findMany({
      where: { entries: { some: { accountId: walletAccountId(owner.id) } } },
      include: { entries: true },
    });
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ idempotencyKey: transferKeyFor(row.id), kind: "topup_manual" });
    expect(transfers[0]!.entries.map((entry) => [entry.accountId, entry.amount]).sort()).toEqual(
      [
        ["platform:manual_clearing", -USD("25")],
        [walletAccountId(owner.id), USD("25")],
      ].sort(),
    );

    const decided = await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } });
    expect(decided).toMatchObject({
      status: "approved",
      creditedAmount: USD("25"),
      transferId: transfers[0]!.id,
      decisionNote: null,
    });
    expect([adminA.id, adminB.id]).toContain(decided.decidedById);
    expect(decided.decidedAt).toBeInstanceOf(Date);

    const events = await prisma.auditEvent.findMany({ where: { targetId: row.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: "topup.approve",
      actorId: decided.decidedById,
      targetType: "manual_top_up",
      ip: decided.decidedById === adminA.id ? "198.51.100.1" : "198.51.100.2",
      before: { status: "pending", claimedAmount: "25", currency: "USD" },
      after: { status: "approved", claimedAmount: "25", creditedAmount: "25", currency: "USD", note: null },
    });

    const emails = await outbox(owner.email, "manual-topup-approved");
    expect(emails).toHaveLength(1);
    expect(emails[0]!.subject).toContain("$25.00");
    expect(emails[0]!.text).toContain("added $25.00 to your wallet");
    expect(emails[0]!.text).toContain(row.reference);

    // The member sees it approved, with the credited amount.
    const list = await call(listLoader, getRequest("/wallet/top-ups", owner));
    expect((list.data as { topUps: unknown[] }).topUps).toEqual([
      expect.objectContaining({ id: row.id, status: "approved", credited: "$25.00", creditPending: false }),
    ]);
  });

  it("an approval racing a rejection: exactly one wins, and the ledger agrees with the winner", async () => {
    const method = await createMethod();
    const admins = [await member({ role: "admin" }), await member({ role: "admin" })];
    for (let round = 0; round < 4; round += 1) {
      const owner = await member();
      const row = await pendingTopUp(owner, method.id, { amount: "8" });
      const [approve, reject] = await Promise.all([
        decide(row.id, { intent: "approve", creditedAmount: "8" }, admins[0]!.cookie),
        decide(row.id, { intent: "reject", reason: "Not received." }, admins[1]!.cookie),
      ]);
      expect([approve.status, reject.status].sort()).toEqual([302, 409]);
      const final = await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } });
      const credits = await prisma.ledgerTransfer.count({ where: { idempotencyKey: transferKeyFor(row.id) } });
      expect(final.status).toBe(approve.status === 302 ? "approved" : "rejected");
      expect(credits).toBe(final.status === "approved" ? 1 : 0);
      expect((await getWalletBalance(owner.id)).balance).toBe(final.status === "approved" ? USD("8") : 0n);
      expect(await prisma.auditEvent.count({ where: { targetId: row.id } })).toBe(1);
    }
  });

  it("a different credited amount needs a note; with one, that amount is credited and explained", async () => {
    const method = await createMethod();
    const owner = await member();
    const admin = await member({ role: "admin" });
    const row = await pendingTopUp(owner, method.id, { amount: "10" });

    const noNote = await decide(row.id, { intent: "approve", creditedAmount: "9.50", note: "  " }, admin.cookie);
    expect(noNote.status).toBe(400);
    expect(errorsOf(noNote).note).toEqual([expect.stringMatching(/differs from the claimed/)]);
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({ status: "pending" });
    expect((await getWalletBalance(owner.id)).balance).toBe(0n);

    for (const creditedAmount of ["0", "-1", "9.505", "abc", "100000"]) {
      const bad = await decide(row.id, { intent: "approve", creditedAmount, note: "typo?" }, admin.cookie);
      expect(bad.status).toBe(400);
      expect(Object.keys(errorsOf(bad))).toEqual(["creditedAmount"]);
    }

    const note = "We received $9.50 after the operator fee.";
    const ok = await decide(row.id, { intent: "approve", creditedAmount: "9.50", note }, admin.cookie);
    expect(ok.status).toBe(302);
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "approved",
      claimedAmount: USD("10"),
      creditedAmount: USD("9.50"),
      decisionNote: note,
    });
    expect((await getWalletBalance(owner.id)).balance).toBe(USD("9.50"));
    const [event] = await prisma.auditEvent.findMany({ where: { targetId: row.id, action: "topup.approve" } });
    expect(event!.after).toMatchObject({ claimedAmount: "10", creditedAmount: "9.5", note });
    const [email] = await outbox(owner.email, "manual-topup-approved");
    expect(email!.text).toContain("You told us you sent $10.00; we credited $9.50.");
    expect(email!.text).toContain(note);
  });

  it("rejecting needs a reason; the member is told why and nothing is credited", async () => {
    const method = await createMethod();
    const owner = await member();
    const admin = await member({ role: "admin" });
    const row = await pendingTopUp(owner, method.id);

    for (const reason of ["", "  ", "no"]) {
      const refused = await decide(row.id, { intent: "reject", reason }, admin.cookie);
      expect(refused.status).toBe(400);
      expect(Object.keys(errorsOf(refused))).toEqual(["reason"]);
    }
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({ status: "pending" });

    const reason = "We found no payment with this reference.";
    const ok = await decide(row.id, { intent: "reject", reason }, admin.cookie, "198.51.100.9");
    expect(ok).toMatchObject({ status: 302, location: `/admin/top-ups?done=${row.id}` });
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: "rejected",
      decisionNote: reason,
      decidedById: admin.id,
      creditedAmount: null,
      transferId: null,
    });
    expect((await getWalletBalance(owner.id)).balance).toBe(0n);
    expect(await prisma.ledgerTransfer.count({ where: { idempotencyKey: transferKeyFor(row.id) } })).toBe(0);
    const events = await prisma.auditEvent.findMany({ where: { targetId: row.id } });
    expect(events).toEqual([
      expect.objectContaining({
        action: "topup.reject",
        actorId: admin.id,
        ip: "198.51.100.9",
        before: { status: "pending", claimedAmount: "10", currency: "USD" },
        after: expect.objectContaining({ status: "rejected", reason }),
      }),
    ]);
    const emails = await outbox(owner.email, "manual-topup-rejected");
    expect(emails).toHaveLength(1);
    expect(emails[0]!.text).toContain(`Reason: ${reason}`);
    expect(emails[0]!.text).toContain("Nothing was added to your wallet");

    const list = await call(listLoader, getRequest("/wallet/top-ups", owner));
    expect((list.data as { topUps: unknown[] }).topUps).toEqual([
      expect.objectContaining({ status: "rejected", decisionNote: reason, credited: null }),
    ]);
  });

  it("a decided request cannot be decided again, either way", async () => {
    const method = await createMethod();
    const owner = await member();
    const admin = await member({ role: "admin" });
    const approved = await pendingTopUp(owner, method.id, { amount: "5" });
    const rejected = await pendingTopUp(owner, method.id, { amount: "6" });
    expect((await decide(approved.id, { intent: "approve", creditedAmount: "5" }, admin.cookie)).status).toBe(302);
    expect((await decide(rejected.id, { intent: "reject", reason: "Not received." }, admin.cookie)).status).toBe(302);
    const auditCount = await prisma.auditEvent.count();

    const attempts: Array<[string, Record<string, string>, RegExp]> = [
      [approved.id, { intent: "approve", creditedAmount: "5" }, /already approved/],
      [approved.id, { intent: "reject", reason: "Changed my mind." }, /already approved/],
      [rejected.id, { intent: "approve", creditedAmount: "6" }, /already rejected/],
      [rejected.id, { intent: "reject", reason: "Again." }, /already rejected/],
    ];
    for (const [id, form, message] of attempts) {
      const result = await decide(id, form, admin.cookie);
      expect(result.status).toBe(409);
      expect(errorsOf(result)[""]).toEqual([expect.stringMatching(message)]);
    }
    expect((await getWalletBalance(owner.id)).balance).toBe(USD("5"));
    expect(await prisma.auditEvent.count()).toBe(auditCount);
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: rejected.id } })).toMatchObject({
      status: "rejected",
    });
    expect(await outbox(owner.email, "manual-topup-approved")).toHaveLength(1);
    expect(await outbox(owner.email, "manual-topup-rejected")).toHaveLength(1);

    const unknown = await decide("does-not-exist", { intent: "approve", creditedAmount: "5" }, admin.cookie);
    expect(unknown.status).toBe(404);
  });

  it("a member posting to the admin action gets 404 and nothing changes", async () => {
    const method = await createMethod();
    const owner = await member();
    const row = await pendingTopUp(owner, method.id);
    const forms: Array<Record<string, string>> = [
      { intent: "approve", creditedAmount: "10" },
      { intent: "reject", reason: "I decide myself" },
    ];
    for (const form of forms) {
      const result = await decide(row.id, form, owner.cookie);
      expect(result.status).toBe(404);
    }
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({ status: "pending" });
    expect((await getWalletBalance(owner.id)).balance).toBe(0n);
    expect(await prisma.auditEvent.count({ where: { targetId: row.id } })).toBe(0);
  });

  it("support can view the queue and the request, the receipt only with the member's grant (audited), but not decide (403)", async () => {
    const method = await createMethod();
    const owner = await member();
    const support = await member({ role: "support" });
    const row = await pendingTopUp(owner, method.id, {}, { bytes: JPEG, name: "r.jpg", type: "image/jpeg" });

    const queue = await call(queueLoader, getRequest("/admin/top-ups", support));
    expect(queue.status).toBe(200);
    expect((queue.data as { canDecide: boolean }).canDecide).toBe(false);
    const detail = await call(adminLoader, getRequest(`/admin/top-ups/${row.id}`, support), { id: row.id });
    expect(detail.status).toBe(200);
    expect(detail.data).toMatchObject({ canDecide: false, topUp: { id: row.id } });

    const openReceipt = () =>
      call(
        fileLoader,
        getRequest(`/files/${row.receiptFileId}`, support),
        { id: row.receiptFileId! },
        context("192.0.2.44"),
      );
    expect((await openReceipt()).status).toBe(404);
    const grant = await grantSupportAccess(owner.id, { wholeHistory: true, duration: "1h" });
    if (!grant.ok) throw new Error("grant failed");
    const file = await openReceipt();
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("image/jpeg");
    const views = await prisma.auditEvent.findMany({ where: { action: "receipt.view", targetId: row.receiptFileId } });
    expect(views).toEqual([
      expect.objectContaining({
        actorId: support.id,
        targetType: "stored_file",
        ip: "192.0.2.44",
        after: { purpose: "receipt", ownerId: owner.id, manualTopUpId: row.id, grantId: grant.grant.id },
      }),
    ]);

    const forms: Array<Record<string, string>> = [
      { intent: "approve", creditedAmount: "10" },
      { intent: "reject", reason: "Support should not decide" },
    ];
    for (const form of forms) {
      const result = await decide(row.id, form, support.cookie);
      expect(result.status).toBe(403);
    }
    expect(await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({ status: "pending" });
    expect((await getWalletBalance(owner.id)).balance).toBe(0n);
    expect(await prisma.auditEvent.count({ where: { targetId: row.id } })).toBe(0);
  });

  it("admins open receipts (each view audited) but no other kind of member file", async () => {
    const owner = await member();
    const admin = await member({ role: "admin" });
    const method = await createMethod();
    const row = await pendingTopUp(owner, method.id, {}, { bytes: WEBP, name: "r.webp", type: "image/webp" });
    for (let view = 0; view < 2; view += 1) {
      const file = await call(fileLoader, getRequest(`/files/${row.receiptFileId}`, admin), { id: row.receiptFileId! });
      expect(file.status).toBe(200);
    }
    expect(await prisma.auditEvent.count({ where: { action: "receipt.view", targetId: row.receiptFileId } })).toBe(2);

    const output = await saveFile({
      ownerId: owner.id,
      purpose: "generation-output",
      bytes: PNG,
      mediaType: "image/png",
    });
    const refused = await call(fileLoader, getRequest(`/files/${output.id}`, admin), { id: output.id });
    expect(refused.status).toBe(404);
    const mine = await call(fileLoader, getRequest(`/files/${output.id}`, owner), { id: output.id });
    expect(mine.status).toBe(200);
  });

  it("an approval whose credit did not complete (a crash between the two steps) is finished once, later", async () => {
    const method = await createMethod();
    const owner = await member();
    const admin = await member({ role: "admin" });
    const row = await pendingTopUp(owner, method.id, { amount: "15" });
    // The decision was committed, then the process died before the ledger transfer.
    await prisma.manualTopUp.update({
      where: { id: row.id },
      data: { status: "approved", creditedAmount: USD("15"), decidedById: admin.id, decidedAt: new Date() },
    });
    const repaired = await Promise.all([creditApprovedTopUps(), creditApprovedTopUps({ userId: owner.id })]);
    expect(repaired.reduce((sum, count) => sum + count, 0)).toBeGreaterThanOrEqual(1);
    expect(await creditApprovedTopUps({ userId: owner.id })).toBe(0);
    expect((await getWalletBalance(owner.id)).balance).toBe(USD("15"));
    expect(await prisma.ledgerTransfer.count({ where: { idempotencyKey: transferKeyFor(row.id) } })).toBe(1);
    expect((await prisma.manualTopUp.findUniqueOrThrow({ where: { id: row.id } })).transferId).not.toBeNull();
    expect(await outbox(owner.email, "manual-topup-approved")).toHaveLength(1);
  });
});

describe("payment methods", () => {
  it("the operator CLI lists, adds, updates, disables and enables methods, each change audited", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (line: string) => void out.push(line), err: (line: string) => void err.push(line) };
    const name = `Wave ${process.pid}-${Date.now()}`;

    expect(await paymentMethodsMain(["add", "--name", name, "--account", "+221 77 000 00 00"], io)).toBe(1);
    expect(err.join("\n")).toContain("--instructions is missing");

    const code = await paymentMethodsMain(
      [
        "add",
        "--name",
        name,
        "--account",
        "+221 77 000 00 00",
        "--instructions",
        "Open Wave, choose Send,\\nthen send to the number below.",
        "--currency-note",
        "XOF only",
        "--sort",
        "5",
      ],
      io,
    );
    expect(code).toBe(0);
    const method = (await findMethod(name))!;
    expect(method).toMatchObject({
      accountNumber: "+221 77 000 00 00",
      instructions: "Open Wave, choose Send,\nthen send to the number below.",
      currencyNote: "XOF only",
      sortOrder: 5,
      enabled: true,
    });
    expect(await paymentMethodsMain(["update", name, "--account", "+221 78 111 11 11"], io)).toBe(0);
    expect(await paymentMethodsMain(["disable", method.id], io)).toBe(0);
    expect((await listEnabledMethods()).map((item) => item.id)).not.toContain(method.id);
    expect(await findMethod(method.id)).toMatchObject({
      enabled: false,
      accountNumber: "+221 78 111 11 11",
      sortOrder: 5,
    });
    expect(await paymentMethodsMain(["enable", name.toUpperCase()], io)).toBe(0);
    expect(await paymentMethodsMain(["list"], io)).toBe(0);
    expect(out.join("\n")).toContain(method.id);
    expect(await paymentMethodsMain(["disable", "no such method"], io)).toBe(1);
    expect(await paymentMethodsMain(["frobnicate"], io)).toBe(2);

    const events = await prisma.auditEvent.findMany({ where: { targetId: method.id }, orderBy: { createdAt: "asc" } });
    expect(events.map((event) => event.action)).toEqual([
      "payment_method.add",
      "payment_method.update",
      "payment_method.disable",
      "payment_method.enable",
    ]);
    expect(events[1]).toMatchObject({
      before: expect.objectContaining({ accountNumber: "+221 77 000 00 00" }),
      after: expect.objectContaining({ accountNumber: "+221 78 111 11 11", via: "cli" }),
    });
  });

  it("normalises references and sender numbers the same way everywhere", () => {
    expect(normalizeReference(" mp-2403 12\u2013a1 ")).toBe("MP240312A1");
    expect(normalizeSenderNumber("+237 (670) 12-34.56")).toBe("+237670123456");
    expect(normalizeSenderNumber("0712 345678")).toBe("0712345678");
    expect(normalizeSenderNumber("12345")).toBeNull();
    expect(normalizeSenderNumber("+1 234 567 890 123 456")).toBeNull();
    expect(normalizeSenderNumber("abc")).toBeNull();
  });

  it("the model refuses what the form would (defence in depth)", async () => {
    const method = await createMethod();
    const owner = await createUser();
    const base = { userId: owner.id, methodId: method.id, senderNumber: "670123456", reference: uniqueReference() };
    expect(await requestManualTopUp({ ...base, amount: 0n })).toMatchObject({ ok: false, field: "amount" });
    expect(await requestManualTopUp({ ...base, amount: USD("501") })).toMatchObject({ ok: false, field: "amount" });
    expect(await requestManualTopUp({ ...base, amount: USD("5"), senderNumber: "x" })).toMatchObject({
      ok: false,
      field: "senderNumber",
    });
    expect(
      await requestManualTopUp({ ...base, amount: USD("5"), receipt: { bytes: GIF, filename: "r.gif" } }),
    ).toMatchObject({ ok: false, field: "receipt" });
    expect(await prisma.manualTopUp.count({ where: { userId: owner.id } })).toBe(0);
  });
});
