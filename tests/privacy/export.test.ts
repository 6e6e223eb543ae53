import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

// Data export end to end: two members with real data (text and image generations through the demo
// provider, a manual top-up with a receipt, a card checkout, a deleted generation), the request from
// /settings/privacy, the real pg-boss worker building the archive, the emailed one-time link, and the
// download route. Files go to a throw-away folder.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-export-${process.pid}-${Date.now()}`;
  process.env.STORAGE_DIR = dir;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
  return dir;
});

import { unzipSync } from "fflate";
import { runExportJob, startExportWorker } from "#app/jobs/exports.server";
import { purgeExpiredJob } from "#app/jobs/maintenance.server";
import { EXPORT_TTL_DAYS, requestExport } from "#app/models/data-rights.server";
import { prepareMedia, prepareText, runMedia, streamText } from "#app/models/generation.server";
import { deleteGeneration } from "#app/models/history.server";
import { checkInvariants } from "#app/models/ledger.server";
import { requestManualTopUp } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { loader as downloadLoader } from "#app/routes/exports.$token";
import { action as privacyAction, loader as privacyLoader } from "#app/routes/settings.privacy";
import { prisma } from "#app/utils/db.server";
import { stopBoss } from "#app/utils/jobs.server";
import { DEFAULT_PART_SIZE } from "#app/utils/s3.server";
import { createS3Storage, type FileStorage, getStorage, readAllBytes, saveFile } from "#app/utils/storage.server";
import { type FakeS3, startFakeS3 } from "#tests/fakes/s3-server";
import {
  call,
  createUser,
  fundWallet,
  getRequest,
  latestOutboxEmail,
  postRequest,
  signedInCookie,
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
  await stopBoss();
  await rm(storageDir, { recursive: true, force: true });
});

let counter = 0;
const requestId = () => `exp${process.pid}x${(counter += 1)}x${Math.random().toString(36).slice(2, 8)}`;

async function runText(userId: string, prompt: string) {
  const prepared = await prepareText({ userId, requestId: requestId(), modelId: "demo:chat", prompt, files: [] });
  if (prepared.replayed) throw new Error("unexpected replay");
  return streamText(prepared, () => undefined);
}

async function runImage(userId: string, prompt: string) {
  const { row } = await prepareMedia("image", {
    userId,
    requestId: requestId(),
    modelId: "demo:image",
    prompt,
    n: 2,
    size: "512x512",
  });
  expect(await runMedia(row.id)).toEqual({ next: "done" });
  return row;
}

let methodId: string | null = null;
async function paymentMethod() {
  methodId ??= (
    await addMethod(
      { name: "MTN MoMo", instructions: "Send to the number below.", accountNumber: "+237 670 000 000" },
      { actorId: null, via: "cli" },
    )
  ).id;
  return methodId;
}

/** A member with a text and an image generation, a deleted one, a manual top-up with a receipt, a card checkout. */
async function memberWithData(tag: string) {
  const email = uniqueEmail(tag);
  const user = await createUser({ email, displayName: `${tag} Person` });
  await fundWallet(user.id, 5n * DOLLAR);
  const { cookie } = await signedInCookie(user.id);
  const text = await runText(user.id, `${tag} asks about the weather`);
  const image = await runImage(user.id, `${tag} draws a lighthouse`);
  const gone = await runText(user.id, `${tag} secret prompt to delete`);
  expect((await deleteGeneration(user.id, gone.id)).status).toBe("deleted");
  const topUp = await requestManualTopUp({
    userId: user.id,
    methodId: await paymentMethod(),
    amount: 2n * DOLLAR,
    senderNumber: "+237670000111",
    reference: `${tag.toUpperCase()}REF${counter}`,
    receipt: { bytes: PNG, filename: "receipt.png" },
  });
  expect(topUp.ok).toBe(true);
  await prisma.stripeCheckout.create({
    data: { id: `cs_test_${tag}_${counter}`, userId: user.id, amount: 10n * DOLLAR, currency: "usd", status: "paid" },
  });
  return { user, email, cookie, text, image, gone };
}

/** The "export ready" email: the job marks the export ready first and sends the email right after. */
function readyEmail(address: string) {
  return vi.waitFor(
    async () => {
      const email = await latestOutboxEmail(address, "export-ready");
      expect(email).not.toBeNull();
      return email!;
    },
    { timeout: 10_000, interval: 50 },
  );
}

async function requestExportFor(cookie: string) {
  return call(privacyAction, postRequest("/settings/privacy", { intent: "export" }, { cookie }));
}

async function waitForExport(userId: string, timeoutMs = 20_000) {
  const started = Date.now();
  for (;;) {
    const row = await prisma.dataExport.findFirst({ where: { userId }, orderBy: { createdAt: "desc" } });
    if (row && row.status !== "pending") return row;
    if (Date.now() - started > timeoutMs) throw new Error("export was not built in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function linkToken(text: string) {
  const match = /\/exports\/([0-9a-f]{64})/.exec(text);
  if (!match) throw new Error("no export link in the email");
  return match[1]!;
}

const download = (cookie: string, token: string) =>
  downloadLoader({
    request: getRequest(`/exports/${token}`, { cookie }),
    params: { token },
    context: { clientIp: "203.0.113.9" },
  }).catch((thrown: unknown) => thrown as Response);

describe("data export", () => {
  it("builds an archive of exactly the member's data, emailed as a link that works once", async () => {
    const a = await memberWithData("alpha");
    const b = await memberWithData("bravo");

    const requested = await requestExportFor(a.cookie);
    expect(requested.status).toBe(302);
    expect(requested.location).toBe("/settings/privacy?export=requested");
    // One pending export at a time, refused politely.
    const again = await requestExportFor(a.cookie);
    expect(again.status).toBe(409);
    expect(again.data).toMatchObject({ export: expect.stringContaining("already being prepared") });
    expect(await prisma.dataExport.count({ where: { userId: a.user.id } })).toBe(1);

    const page = await call(privacyLoader, getRequest("/settings/privacy?export=requested", { cookie: a.cookie }));
    expect(page.data).toMatchObject({
      requested: true,
      exportDays: EXPORT_TTL_DAYS,
      latestExport: { status: "pending" },
    });

    // The real worker picks the job up from pg-boss.
    await startExportWorker();
    const row = await waitForExport(a.user.id);
    expect(row).toMatchObject({ status: "ready", size: expect.any(Number) });
    expect(row.expiresAt!.getTime() - row.readyAt!.getTime()).toBe(EXPORT_TTL_DAYS * 86_400_000);
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);

    const email = await readyEmail(a.email);
    const token = linkToken(email!.text);
    expect(email!.text).toContain(`http://localhost:3000/exports/${token}`);
    expect(row.tokenHash).not.toContain(token);

    // Another member's session: the link does not exist for them.
    const stranger = await download(b.cookie, token);
    expect(stranger.status).toBe(404);
    // Signed out: to the login page, the link is kept for afterwards.
    const anonymous = await download("", token);
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toMatch(/^\/login\?redirectTo=/);

    const response = await download(a.cookie, token);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/zip");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename="ai-wallet-data-[\d-]+\.zip"$/);
    const zip = unzipSync(new Uint8Array(await response.arrayBuffer()));

    const names = Object.keys(zip).sort();
    expect(names).toContain("README.txt");
    expect(names).toContain("data.json");
    const raw = new TextDecoder().decode(zip["data.json"]);
    const data = JSON.parse(raw) as {
      profile: Record<string, unknown>;
      sessions: { ip: string; device: string }[];
      generations: {
        id: string;
        prompt: string;
        outputText: string | null;
        model: string;
        cost: string;
        files: unknown[];
      }[];
      deletedGenerations: Record<string, unknown>[];
      conversations: unknown[];
      topUps: { card: { checkoutSessionId: string }[]; manual: { senderNumber: string; receipt: string }[] };
      wallet: { statement: { amount: string }[]; balance: string };
      files: { id: string; path: string; sha256: string }[];
    };

    // Profile, without the password hash.
    expect(data.profile).toMatchObject({ id: a.user.id, email: a.email, displayName: "alpha Person", country: "CM" });
    expect(raw).not.toMatch(/argon2/);
    expect(data.sessions).toEqual([expect.objectContaining({ ip: "203.0.113.9", device: "vitest" })]);

    // Generations kept in full; the deleted one as id, model, cost, deletedAt only.
    expect(data.generations.map((g) => g.id).sort()).toEqual([a.text.id, a.image.id].sort());
    const text = data.generations.find((g) => g.id === a.text.id)!;
    expect(text).toMatchObject({ prompt: "alpha asks about the weather", model: "demo:chat" });
    expect(text.outputText).toBe(a.text.outputText);
    expect(data.deletedGenerations).toHaveLength(1);
    expect(Object.keys(data.deletedGenerations[0]!).sort()).toEqual(["cost", "deletedAt", "id", "model"]);
    expect(data.deletedGenerations[0]).toMatchObject({ id: a.gone.id, model: "demo:chat" });
    expect(raw).not.toContain("secret prompt to delete");

    expect(data.topUps.card.map((c) => c.checkoutSessionId)).toEqual([expect.stringMatching(/^cs_test_alpha_/)]);
    expect(data.topUps.manual).toEqual([expect.objectContaining({ senderNumber: "+237670000111" })]);
    expect(data.topUps.manual[0]!.receipt).toMatch(/^files\/.+\.png$/);
    // Every wallet movement.
    const entries = await prisma.ledgerEntry.count({ where: { accountId: `wallet:${a.user.id}` } });
    expect(data.wallet.statement).toHaveLength(entries);

    // Nothing of the other member.
    for (const needle of [b.user.id, b.email, "bravo", b.text.id, b.image.id]) expect(raw).not.toContain(needle);

    // Every file the member owns, byte for byte, and no other.
    const owned = await prisma.storedFile.findMany({ where: { ownerId: a.user.id } });
    expect(owned.length).toBe(3); // two images and the receipt
    const filesInZip = names.filter((name) => name.startsWith("files/"));
    expect(filesInZip.sort()).toEqual(data.files.map((f) => f.path).sort());
    expect(data.files.map((f) => f.id).sort()).toEqual(owned.map((f) => f.id).sort());
    for (const file of owned) {
      const entry = data.files.find((f) => f.id === file.id)!;
      expect(Buffer.from(zip[entry.path]!).equals(Buffer.from((await readAllBytes(file.storageKey))!))).toBe(true);
      expect(entry.sha256).toBe(file.sha256);
    }

    // Used once: the row says so, the object is gone, a second try is 410 with a page that says why.
    const used = await prisma.dataExport.findUniqueOrThrow({ where: { id: row.id } });
    expect(used).toMatchObject({ status: "downloaded", storageKey: null });
    expect(await getStorage().get(row.storageKey!)).toBeNull();
    const second = await download(a.cookie, token);
    expect(second.status).toBe(410);
    expect(await second.text()).toContain("already been used");

    const actions = await prisma.auditEvent.findMany({
      where: { actorId: a.user.id, targetId: row.id },
      select: { action: true, ip: true },
      orderBy: { createdAt: "asc" },
    });
    expect(actions.map((event) => event.action)).toEqual(["data.export_requested", "data.export_downloaded"]);
  });

  it("answers 410 after the expiry, and the purge removes the archive", async () => {
    const member = await memberWithData("charlie");
    expect((await requestExportFor(member.cookie)).status).toBe(302);
    // Built by the worker started above (still running in this process).
    const pending = await waitForExport(member.user.id);
    expect(pending.status).toBe("ready");
    expect(await runExportJob(pending.id)).toBe("skipped"); // a repeated job does nothing
    const token = linkToken((await readyEmail(member.email)).text);
    const ready = await prisma.dataExport.findUniqueOrThrow({ where: { id: pending.id } });
    expect(await getStorage().get(ready.storageKey!)).not.toBeNull();

    await prisma.dataExport.update({ where: { id: ready.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const late = await download(member.cookie, token);
    expect(late.status).toBe(410);
    expect(await late.text()).toContain("expired");
    expect(await prisma.dataExport.findUniqueOrThrow({ where: { id: ready.id } })).toMatchObject({
      status: "expired",
      storageKey: null,
    });
    expect(await getStorage().get(ready.storageKey!)).toBeNull();

    // An archive nobody downloaded: the hourly purge expires it and deletes its bytes.
    expect((await requestExportFor(member.cookie)).status).toBe(302);
    const next = await waitForExport(member.user.id);
    expect(next.status).toBe("ready");
    const built = await prisma.dataExport.findUniqueOrThrow({ where: { id: next.id } });
    const result = await purgeExpiredJob(new Date(Date.now() + (EXPORT_TTL_DAYS + 1) * 86_400_000));
    expect(result).toMatchObject({ exportsExpired: 1, exportObjectsDeleted: 1 });
    expect(await getStorage().get(built.storageKey!)).toBeNull();
    expect(await prisma.dataExport.findUniqueOrThrow({ where: { id: next.id } })).toMatchObject({
      status: "expired",
      storageKey: null,
    });
  });

  it("gives the same 404 for a malformed or unknown token", async () => {
    const member = await createUser();
    const { cookie } = await signedInCookie(member.id);
    expect((await download(cookie, "not-a-token")).status).toBe(404);
    expect((await download(cookie, "0".repeat(64))).status).toBe(404);
  });
});

// The archive streamed from storage to storage: member files in a fake S3 bucket (which checks every
// signature and part size), the archive written back to it as a multipart upload.
describe("data export streamed through S3", () => {
  let fake: FakeS3;
  let storage: FileStorage;
  const PREFIX = "stream-test";
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    fake = await startFakeS3();
    storage = createS3Storage({
      bucket: fake.bucket,
      region: fake.region,
      endpoint: fake.url,
      accessKeyId: fake.accessKeyId,
      secretAccessKey: fake.secretAccessKey,
      forcePathStyle: true,
      prefix: PREFIX,
    });
  });
  beforeEach(() => fake.reset());
  afterAll(async () => {
    await fake?.close();
  });

  /**
   * A member whose files (in the bucket) add up to more than one upload part: four 3 MiB PNGs (random, so
   * incompressible) and, unless left out, 2 MiB of text.
   */
  async function memberWithBigFiles({ withText = true } = {}) {
    const user = await createUser({ email: uniqueEmail("stream") });
    await fundWallet(user.id, 3n * DOLLAR);
    const originals = new Map<string, Uint8Array>();
    const png = () => [Uint8Array.from(randomBytes(3 * MiB)), "image/png"] as const;
    const text = new TextEncoder().encode("the same line of text, again and again\n".repeat(55_000));
    const inputs = [png(), ...(withText ? [[text, "application/octet-stream"] as const] : []), png(), png(), png()];
    for (const [bytes, mediaType] of inputs) {
      const file = await saveFile({ ownerId: user.id, purpose: "generation_output", bytes, mediaType }, { storage });
      originals.set(file.id, bytes);
    }
    // In the order the export reads them.
    const files = await prisma.storedFile.findMany({
      where: { ownerId: user.id },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    return { user, originals, files };
  }

  const objectKey = (storageKey: string) => `${PREFIX}/${storageKey}`;
  const requestsFor = (storageKey: string) =>
    fake.requests.filter((request) => request.url.split("?")[0]!.endsWith(`/${storageKey}`));
  const abortRequests = () =>
    fake.requests.filter((request) => request.method === "DELETE" && request.url.includes("uploadId="));

  async function pendingExport(userId: string) {
    const requested = await requestExport(userId, null);
    if (!requested.ok) throw new Error("export not requested");
    return requested.exportId;
  }

  it("streams a large export through a multipart upload, reading each file as a stream while it uploads", async () => {
    const { user, originals, files } = await memberWithBigFiles();
    const totalFileBytes = files.reduce((sum, file) => sum + file.size, 0);
    expect(totalFileBytes).toBeGreaterThan(DEFAULT_PART_SIZE);
    fake.requests.length = 0;

    const exportId = await pendingExport(user.id);
    expect(await runExportJob(exportId, { lastAttempt: true, storage })).toBe("ready");
    const row = await prisma.dataExport.findUniqueOrThrow({ where: { id: exportId } });
    expect(row).toMatchObject({ status: "ready", storageKey: expect.stringMatching(/^[0-9a-f]{32}$/) });

    const archive = fake.objects.get(objectKey(row.storageKey!));
    expect(archive?.contentType).toBe("application/zip");
    expect(row.size).toBe(archive!.bytes.byteLength);
    // Sent as a multipart upload: full parts, then a shorter last one.
    const upload = requestsFor(row.storageKey!);
    const parts = upload.filter((request) => request.method === "PUT");
    expect(upload[0]!.url).toMatch(/\?uploads=$/);
    expect(parts.length).toBe(Math.ceil(archive!.bytes.byteLength / DEFAULT_PART_SIZE));
    expect(parts.slice(0, -1).every((part) => part.bodyLength === DEFAULT_PART_SIZE)).toBe(true);
    expect(upload.at(-1)).toMatchObject({ method: "POST", url: expect.stringContaining("uploadId=") });
    expect(fake.uploads.size).toBe(0);

    // Streamed, not gathered first: each file is read once, with one GET, and the first part was uploaded
    // before the last file was even asked for (reading everything into memory first would do all the GETs
    // before any upload).
    const firstPart = fake.requests.indexOf(parts[0]!);
    const reads = files.map((file) =>
      fake.requests.findIndex((r) => r.method === "GET" && r.url.endsWith(file.storageKey)),
    );
    expect(reads.every((index) => index >= 0)).toBe(true);
    expect(files.map((file) => requestsFor(file.storageKey).length)).toEqual(files.map(() => 1));
    expect(firstPart).toBeLessThan(reads.at(-1)!);

    // The same archive as ever: README, data.json listing every file, and the files byte for byte.
    const zip = unzipSync(new Uint8Array(archive!.bytes));
    expect(Object.keys(zip).sort()).toEqual(
      [
        "README.txt",
        "data.json",
        ...files.map((file) => `files/${file.id}.${file.mediaType === "image/png" ? "png" : "bin"}`),
      ].sort(),
    );
    const data = JSON.parse(new TextDecoder().decode(zip["data.json"])) as {
      profile: { id: string };
      files: { id: string; path: string; size: number; sha256: string }[];
      wallet: { statement: unknown[] };
    };
    expect(data.profile.id).toBe(user.id);
    expect(data.wallet.statement.length).toBeGreaterThan(0);
    expect(data.files.map((file) => file.id)).toEqual(files.map((file) => file.id));
    for (const file of data.files) {
      expect(Buffer.from(zip[file.path]!).equals(Buffer.from(originals.get(file.id)!))).toBe(true);
    }
    // Media are stored as they are; text is deflated (the archive is smaller than its files).
    expect(archive!.bytes.byteLength).toBeLessThan(totalFileBytes);
  });

  it("fails the export after the last attempt when a file cannot be read mid-way, leaving nothing behind", async () => {
    const { user, files } = await memberWithBigFiles();
    // The last file: by then a part of the archive has been uploaded.
    fake.brokenReads.add(objectKey(files.at(-1)!.storageKey));
    const filesInBucket = fake.objects.size;
    fake.requests.length = 0;
    const exportId = await pendingExport(user.id);

    // An attempt that is not the last leaves the export pending, for the retry.
    await expect(runExportJob(exportId, { storage })).rejects.toThrow();
    expect(await prisma.dataExport.findUniqueOrThrow({ where: { id: exportId } })).toMatchObject({
      status: "pending",
      storageKey: null,
    });
    expect(fake.requests.some((request) => request.method === "PUT" && request.url.includes("partNumber="))).toBe(true);
    expect(abortRequests()).toHaveLength(1);

    await expect(runExportJob(exportId, { lastAttempt: true, storage })).rejects.toThrow();
    expect(await prisma.dataExport.findUniqueOrThrow({ where: { id: exportId } })).toMatchObject({
      status: "failed",
      storageKey: null,
      tokenHash: null,
    });
    expect(abortRequests()).toHaveLength(2);
    // No archive and no half-finished upload: only the member's own files are in the bucket.
    expect(fake.objects.size).toBe(filesInBucket);
    expect(fake.uploads.size).toBe(0);
    expect(await latestOutboxEmail(user.email, "export-ready")).toBeNull();
  });

  it("fails an export over the size limit for good, at once when the files alone exceed it, and stores nothing", async () => {
    const { user, files } = await memberWithBigFiles({ withText: false });
    const totalFileBytes = files.reduce((sum, file) => sum + file.size, 0);
    const filesInBucket = fake.objects.size;

    // The files alone are too big: refused before anything is read or written.
    fake.requests.length = 0;
    const first = await pendingExport(user.id);
    expect(await runExportJob(first, { storage, maxBytes: totalFileBytes - 1 })).toBe("too_large");
    expect(await prisma.dataExport.findUniqueOrThrow({ where: { id: first } })).toMatchObject({ status: "failed" });
    expect(fake.requests).toEqual([]);

    // At the configured limit (EXPORT_MAX_BYTES, about 2 GB by default): rows saying 4 GB of files.
    const hoarder = await createUser({ email: uniqueEmail("hoarder") });
    for (let i = 0; i < 2; i += 1) {
      await prisma.storedFile.create({
        data: {
          ownerId: hoarder.id,
          purpose: "generation_output",
          mediaType: "video/mp4",
          size: 2_000_000_000,
          sha256: "0".repeat(64),
          storageKey: randomBytes(16).toString("hex"),
        },
      });
    }
    const hoarded = await pendingExport(hoarder.id);
    expect(await runExportJob(hoarded, { storage })).toBe("too_large");
    expect(await prisma.dataExport.findUniqueOrThrow({ where: { id: hoarded } })).toMatchObject({ status: "failed" });
    expect(fake.requests).toEqual([]);

    // The (incompressible) files just fit, the ZIP around them does not: found while streaming, after a
    // part was uploaded; the upload is aborted.
    const second = await pendingExport(user.id);
    expect(await runExportJob(second, { storage, maxBytes: totalFileBytes })).toBe("too_large");
    expect(await prisma.dataExport.findUniqueOrThrow({ where: { id: second } })).toMatchObject({
      status: "failed",
      storageKey: null,
    });
    expect(fake.requests.some((request) => request.method === "PUT" && request.url.includes("partNumber="))).toBe(true);
    expect(abortRequests()).toHaveLength(1);
    expect(fake.objects.size).toBe(filesInBucket);
    expect(fake.uploads.size).toBe(0);
    expect(await latestOutboxEmail(user.email, "export-ready")).toBeNull();
  });
});
