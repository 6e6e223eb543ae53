import { createHash, randomBytes } from "node:crypto";
import type { DataExportStatus, Prisma } from "@prisma/client";
import { Zip, ZipDeflate, ZipPassThrough } from "fflate";
import { nudgeNotifications, queueNotification } from "#app/notifications/outbox.server";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { extensionFor } from "#app/utils/file-type.server";
import { logger } from "#app/utils/logger.server";
import { microsToDecimalString } from "#app/utils/money";
import { verifyPassword } from "#app/utils/password.server";
import { chunksOf, type FileStorage, getStorage, newStorageKey } from "#app/utils/storage.server";
import { audit } from "./audit.server";
import {
  getWalletBalance,
  PLATFORM_ACCOUNTS,
  redactTransferMetadata,
  transfer,
  walletAccountId,
} from "./ledger.server";
import { revokeAllGrants } from "./support-access.server";
import { describeMovement } from "./wallet.server";

// A member's data rights: a downloadable archive of everything we hold about them (built by a job,
// app/jobs/exports.server.ts), and the erasure of their account. Every query names the member's id.
// Nothing personal is logged: ids, counts and sizes only; the download token lives only in the email (and in
// its queued notification until that is sent).

/** How long a ready archive can be downloaded. */
export const EXPORT_TTL_DAYS = 7;
/**
 * The largest archive (EXPORT_MAX_BYTES, about 2 GB by default; the settings page states it). The archive
 * is streamed, so this is a safety limit, not a memory one: a bigger export fails and stores nothing.
 */
export const EXPORT_MAX_FILE_BYTES = env.EXPORT_MAX_BYTES;
/** A pending export older than this is presumed lost (its job never ran) and no longer blocks a new one. */
export const EXPORT_STALE_MINUTES = 60;
/** After this, a downloaded archive's bytes are removed by the purge even if the download never finished. */
const DOWNLOAD_GRACE_MS = 60 * 60_000;

const DAY_MS = 86_400_000;
export const DELETED_DISPLAY_NAME = "Deleted member";
export const deletedEmailFor = (userId: string) => `deleted-${userId}@invalid`;

const hashExportToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** 32 random bytes as lower-case hex: 64 characters, URL-safe. */
function newExportToken(): string {
  return randomBytes(32).toString("hex");
}

export const EXPORT_TOKEN_PATTERN = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------------------------
// The privacy page

export type ExportSummary = {
  id: string;
  status: DataExportStatus;
  createdAt: Date;
  readyAt: Date | null;
  expiresAt: Date | null;
  size: number | null;
};

export async function getPrivacyOverview(userId: string) {
  const [user, latest, balance, counts] = await Promise.all([
    prisma.user.findUnique({
      where: { id: userId },
      select: { email: true, googleSub: true, password: { select: { userId: true } } },
    }),
    prisma.dataExport.findFirst({
      where: { userId },
      orderBy: { createdAt: "desc" },
      select: { id: true, status: true, createdAt: true, readyAt: true, expiresAt: true, size: true },
    }),
    getWalletBalance(userId),
    Promise.all([
      prisma.generation.count({ where: { userId, deletedAt: null } }),
      prisma.storedFile.count({ where: { ownerId: userId } }),
    ]),
  ]);
  const latestExport: ExportSummary | null = latest
    ? {
        ...latest,
        status:
          latest.status === "ready" && latest.expiresAt && latest.expiresAt <= new Date() ? "expired" : latest.status,
      }
    : null;
  return {
    hasPassword: Boolean(user?.password),
    googleLinked: Boolean(user?.googleSub),
    latestExport,
    balance,
    generations: counts[0],
    files: counts[1],
  };
}

// ---------------------------------------------------------------------------------------------
// Export: request

/** Exports a member can ask for in any 24 hours: enough for a real need, not a way to load the server. */
export const EXPORTS_PER_DAY = 3;

export type RequestExportResult =
  | { ok: true; exportId: string }
  | { ok: false; reason: "pending" }
  /** EXPORTS_PER_DAY already asked for in the last 24 hours; the next one is possible after retryAfterSeconds. */
  | { ok: false; reason: "too_many"; limit: number; retryAfterSeconds: number };

/**
 * Records a pending export (one at a time per member) and audits it. The caller queues the job
 * (app/jobs/exports.server.ts) after this returns: the row is committed first, so the job always finds it.
 */
export async function requestExport(userId: string, ip: string | null): Promise<RequestExportResult> {
  return prisma.$transaction(async (tx) => {
    // Serialise one member's requests so a double click makes one export.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`data-export:${userId}`}, 0))`;
    const staleBefore = new Date(Date.now() - EXPORT_STALE_MINUTES * 60_000);
    // A pending export whose job was lost (e.g. the queue was down) must not block the member forever.
    await tx.dataExport.updateMany({
      where: { userId, status: "pending", createdAt: { lt: staleBefore } },
      data: { status: "failed" },
    });
    const pending = await tx.dataExport.findFirst({ where: { userId, status: "pending" }, select: { id: true } });
    if (pending) return { ok: false as const, reason: "pending" as const };
    // Counted from the member's own export rows (kept after their archive is gone), under the lock above.
    const dayAgo = new Date(Date.now() - DAY_MS);
    const recent = await tx.dataExport.findMany({
      where: { userId, createdAt: { gt: dayAgo } },
      select: { createdAt: true },
      orderBy: { createdAt: "asc" },
    });
    if (recent.length >= EXPORTS_PER_DAY) {
      const freesAt = recent[recent.length - EXPORTS_PER_DAY]!.createdAt.getTime() + DAY_MS;
      const retryAfterSeconds = Math.max(1, Math.ceil((freesAt - Date.now()) / 1000));
      return { ok: false as const, reason: "too_many" as const, limit: EXPORTS_PER_DAY, retryAfterSeconds };
    }
    const row = await tx.dataExport.create({ data: { userId }, select: { id: true } });
    await audit(
      { actorId: userId, action: "data.export_requested", targetType: "data_export", targetId: row.id, ip },
      tx,
    );
    return { ok: true as const, exportId: row.id };
  });
}

// ---------------------------------------------------------------------------------------------
// Export: build (run by the job)

const money = (micros: bigint | null | undefined) =>
  micros === null || micros === undefined ? null : microsToDecimalString(micros);

function filePath(file: { id: string; mediaType: string }) {
  return `files/${file.id}.${extensionFor(file.mediaType)}`;
}

const README = (days: number, currency: string) => `Your ${"AI Wallet"} data export
==========================

This archive holds everything we keep about you, as it was when it was made.

data.json
  profile          your account: email, display name, country, phone, role, and the dates you
                   signed up, confirmed your age and accepted the terms (never your password).
  sessions         where you are signed in: device (browser), IP address, when it started, last used.
  generations      every generation you kept: model, prompt, parameters, output text, status,
                   cost, timings, and the files it used and produced (see "files").
  deletedGenerations  generations you deleted: only id, model, cost and when it was deleted. Their
                   content and files are gone for good; the amounts stay because your wallet
                   statement refers to them.
  conversations    your chats (title and dates); their turns are in "generations".
  topUps           card payments (Stripe checkouts) and manual top-ups (method, amount, sender
                   number, reference, status, decision).
  wallet           your balance and the full statement: every movement of your wallet.
  contactMessages  messages you sent us through the contact form while signed in.
  files            a list of the files below: id, purpose, type, size, SHA-256, original name.

files/
  every file we keep for you (generation inputs and outputs, payment receipts), named
  <file id>.<extension>. Each one is byte-for-byte what we store; its SHA-256 is in data.json.

Amounts are decimal strings in ${currency}, exactly (no rounding). Dates are ISO 8601 in UTC.
This archive could be downloaded once, within ${days} days. Keep it somewhere safe.
`;

/** Stored files in these types are compressed already: deflating them again costs time for nothing. */
const ALREADY_COMPRESSED = /^(image\/(jpeg|png|webp|gif|avif)|video\/|audio\/|application\/(pdf|zip|gzip))/;
// fflate writes classic ZIP only (no ZIP64): at most 65,535 entries, README and data.json included.
const ZIP_MAX_ENTRIES = 65_535;
/** Rows read per query: the history is paged, never loaded whole. */
const PAGE_SIZE = 500;

export class ExportTooLargeError extends Error {
  constructor(
    readonly reason: "bytes" | "files",
    limitBytes: number | null,
  ) {
    super(
      reason === "bytes"
        ? `data export: the archive would exceed the limit of ${limitBytes} bytes (EXPORT_MAX_BYTES)`
        : `data export: more than ${ZIP_MAX_ENTRIES - 2} files, the most one ZIP archive can hold`,
    );
    this.name = "ExportTooLargeError";
  }
}

type Cursor = { createdAt: Date; id: string };
const byCreation = [{ createdAt: "asc" as const }, { id: "asc" as const }];
const after = (cursor: Cursor | null) =>
  cursor
    ? { OR: [{ createdAt: { gt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { gt: cursor.id } }] }
    : {};

/** Rows in creation order, PAGE_SIZE at a time (keyset pagination on createdAt, id). */
async function* paged<T extends Cursor>(page: (cursor: Cursor | null) => Promise<T[]>): AsyncGenerator<T> {
  for (let cursor: Cursor | null = null; ;) {
    const rows = await page(cursor);
    yield* rows;
    if (rows.length < PAGE_SIZE) return;
    const last = rows.at(-1)!;
    cursor = { createdAt: last.createdAt, id: last.id };
  }
}

// data.json is written as it is read from the database. Its long lists are StreamedArrays; the result is
// byte for byte what JSON.stringify(data, replacer, 2) gives for the same data held in memory.
class StreamedArray {
  constructor(readonly items: () => AsyncIterable<unknown>) {}
}

const jsonReplacer = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);
const indent = (depth: number) => "  ".repeat(depth);

/** JSON.stringify(value, jsonReplacer, 2) as it appears `depth` levels deep (JSON strings hold no raw newline). */
function stringifyAt(value: unknown, depth: number): string | undefined {
  const text = JSON.stringify(value, jsonReplacer, 2) as string | undefined;
  return text === undefined || depth === 0 ? text : text.replaceAll("\n", `\n${indent(depth)}`);
}

function holdsStreamed(value: unknown): value is Record<string, unknown> {
  if (value instanceof StreamedArray) return true;
  if (value === null || typeof value !== "object" || Array.isArray(value) || value instanceof Date) return false;
  return Object.values(value).some(holdsStreamed);
}

async function* jsonText(value: unknown, depth: number): AsyncGenerator<string> {
  if (value instanceof StreamedArray) {
    let first = true;
    for await (const item of value.items()) {
      yield `${first ? "[" : ","}\n${indent(depth + 1)}${stringifyAt(item, depth + 1) ?? "null"}`;
      first = false;
    }
    yield first ? "[]" : `\n${indent(depth)}]`;
    return;
  }
  if (!holdsStreamed(value)) {
    yield stringifyAt(value, depth) ?? "null";
    return;
  }
  let first = true;
  for (const [key, member] of Object.entries(value)) {
    const text = holdsStreamed(member) ? null : stringifyAt(member, depth + 1);
    if (text === undefined) continue; // as JSON.stringify: undefined members are left out
    yield `${first ? "{" : ","}\n${indent(depth + 1)}${JSON.stringify(key)}: `;
    first = false;
    if (text === null) yield* jsonText(member, depth + 1);
    else yield text;
  }
  yield first ? "{}" : `\n${indent(depth)}}`;
}

/** Text as UTF-8, in chunks of about 64 KiB (small pushes would make the deflater work harder). */
async function* utf8(parts: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  let pending = "";
  for await (const part of parts) {
    pending += part;
    if (pending.length >= 64 * 1024) {
      yield encoder.encode(pending);
      pending = "";
    }
  }
  if (pending) yield encoder.encode(pending);
}

/**
 * data.json's content: small collections are read at once, the member's history (generations,
 * conversations, wallet statement, files) page by page while it is written. Every file listed is added
 * to `listed`, so that the archive holds exactly the files data.json lists.
 */
async function exportData(userId: string, now: Date, listed: Set<string>) {
  const [user, sessions, checkouts, manualTopUps, contactMessages, balance] = await Promise.all([
    prisma.user.findUniqueOrThrow({
      where: { id: userId },
      select: {
        id: true,
        email: true,
        emailVerifiedAt: true,
        displayName: true,
        country: true,
        phone: true,
        role: true,
        googleSub: true,
        ageConfirmedAt: true,
        termsAcceptedAt: true,
        createdAt: true,
        lowBalanceThreshold: true,
      },
    }),
    prisma.session.findMany({
      where: { userId },
      orderBy: { createdAt: "asc" },
      select: { userAgent: true, ip: true, createdAt: true, lastSeenAt: true, expiresAt: true },
    }),
    prisma.stripeCheckout.findMany({ where: { userId }, orderBy: { createdAt: "asc" } }),
    prisma.manualTopUp.findMany({
      where: { userId },
      orderBy: { createdAt: "asc" },
      include: {
        method: { select: { name: true } },
        receiptFile: { select: { id: true, ownerId: true, mediaType: true } },
      },
    }),
    prisma.contactMessage.findMany({ where: { userId }, orderBy: { createdAt: "asc" } }),
    getWalletBalance(userId),
  ]);

  // Files are named by id and type, so a path needs no lookup; only the member's own files are in the archive.
  const ownPath = (file: { id: string; ownerId: string | null; mediaType: string } | null) =>
    file && file.ownerId === userId ? filePath(file) : null;

  const generations = (deleted: boolean) =>
    paged((cursor) =>
      prisma.generation.findMany({
        where: { userId, deletedAt: deleted ? { not: null } : null, ...after(cursor) },
        orderBy: byCreation,
        take: PAGE_SIZE,
        include: {
          files: {
            where: { file: { ownerId: userId } },
            orderBy: [{ position: "asc" }, { fileId: "asc" }],
            include: { file: { select: { id: true, ownerId: true, mediaType: true } } },
          },
        },
      }),
    );

  async function* keptGenerations() {
    for await (const row of generations(false)) {
      yield {
        id: row.id,
        conversationId: row.conversationId,
        regeneratesId: row.regeneratesId,
        compareGroup: row.compareGroup,
        model: row.modelId,
        modelLabel: row.modelLabel,
        modality: row.modality,
        status: row.status,
        prompt: row.prompt,
        params: row.params,
        outputText: row.outputText,
        finishReason: row.finishReason,
        usage: row.usage,
        error: row.errorKind ? { kind: row.errorKind, message: row.errorMessage } : null,
        costCap: money(row.costCap),
        held: money(row.heldAmount),
        cost: money(row.cost),
        createdAt: row.createdAt,
        startedAt: row.startedAt,
        firstOutputAt: row.firstOutputAt,
        finishedAt: row.finishedAt,
        files: row.files.map((link) => ({ fileId: link.fileId, role: link.role, path: ownPath(link.file) })),
      };
    }
  }

  async function* deletedGenerations() {
    for await (const row of generations(true)) {
      yield { id: row.id, model: row.modelId, cost: money(row.cost), deletedAt: row.deletedAt };
    }
  }

  async function* conversations() {
    const rows = paged((cursor) =>
      prisma.conversation.findMany({
        where: { userId, ...after(cursor) },
        orderBy: byCreation,
        take: PAGE_SIZE,
        select: { id: true, title: true, createdAt: true, updatedAt: true },
      }),
    );
    for await (const row of rows) yield row;
  }

  async function* statement() {
    for (let cursor: bigint | null = null; ;) {
      const rows: Prisma.LedgerEntryGetPayload<{ include: { transfer: true } }>[] = await prisma.ledgerEntry.findMany({
        where: {
          accountId: walletAccountId(userId),
          account: { userId },
          ...(cursor === null ? {} : { id: { gt: cursor } }),
        },
        orderBy: { id: "asc" },
        take: 1000,
        include: { transfer: true },
      });
      for (const row of rows) {
        yield {
          id: row.id.toString(),
          date: row.createdAt,
          kind: row.transfer.kind,
          description: describeMovement(row.transfer, row.amount),
          amount: money(row.amount),
          balanceAfter: money(row.balanceAfter),
          transferId: row.transferId,
        };
      }
      if (rows.length < 1000) return;
      cursor = rows.at(-1)!.id;
    }
  }

  async function* files() {
    for await (const file of ownFiles(userId)) {
      listed.add(file.id);
      if (listed.size > ZIP_MAX_ENTRIES - 2) throw new ExportTooLargeError("files", null);
      yield {
        id: file.id,
        path: filePath(file),
        purpose: file.purpose,
        mediaType: file.mediaType,
        size: file.size,
        sha256: file.sha256,
        originalName: file.originalName,
        createdAt: file.createdAt,
      };
    }
  }

  return {
    format: "ai-wallet-data-export/1",
    exportedAt: now,
    currency: balance.currency,
    profile: {
      id: user.id,
      email: user.email,
      emailVerifiedAt: user.emailVerifiedAt,
      displayName: user.displayName,
      country: user.country,
      phone: user.phone,
      role: user.role,
      signInWithGoogle: user.googleSub !== null,
      ageConfirmedAt: user.ageConfirmedAt,
      termsAcceptedAt: user.termsAcceptedAt,
      createdAt: user.createdAt,
      lowBalanceAlert: money(user.lowBalanceThreshold),
    },
    sessions: sessions.map((session) => ({
      device: session.userAgent,
      ip: session.ip,
      createdAt: session.createdAt,
      lastSeenAt: session.lastSeenAt,
      expiresAt: session.expiresAt,
    })),
    generations: new StreamedArray(keptGenerations),
    deletedGenerations: new StreamedArray(deletedGenerations),
    conversations: new StreamedArray(conversations),
    topUps: {
      card: checkouts.map((row) => ({
        checkoutSessionId: row.id,
        amount: money(row.amount),
        currency: row.currency,
        status: row.status,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      })),
      manual: manualTopUps.map((row) => ({
        id: row.id,
        method: row.method.name,
        claimedAmount: money(row.claimedAmount),
        creditedAmount: money(row.creditedAmount),
        senderNumber: row.senderNumber,
        reference: row.reference,
        receipt: ownPath(row.receiptFile),
        status: row.status,
        decisionNote: row.decisionNote,
        decidedAt: row.decidedAt,
        createdAt: row.createdAt,
      })),
    },
    wallet: {
      balance: money(balance.balance),
      held: money(balance.held),
      available: money(balance.available),
      statement: new StreamedArray(statement),
    },
    contactMessages: contactMessages.map((row) => ({
      name: row.name,
      email: row.email,
      subject: row.subject,
      message: row.message,
      createdAt: row.createdAt,
      handledAt: row.handledAt,
    })),
    files: new StreamedArray(files),
  };
}

function ownFiles(userId: string) {
  return paged((cursor) =>
    prisma.storedFile.findMany({
      where: { ownerId: userId, ...after(cursor) },
      orderBy: byCreation,
      take: PAGE_SIZE,
    }),
  );
}

type ArchiveEntry = { name: string; compress: boolean; data: AsyncIterable<Uint8Array> };

async function* once(bytes: Uint8Array) {
  yield bytes;
}

/** A stored object's chunks, failing if it ends before its announced size (a cut connection, a truncated file). */
async function* wholeObject(object: { stream: ReadableStream<Uint8Array>; size: number }) {
  let read = 0;
  for await (const chunk of chunksOf(object.stream)) {
    read += chunk.byteLength;
    yield chunk;
  }
  if (read !== object.size) throw new Error("data export: a stored file ended early");
}

/**
 * README.txt, data.json, then each listed file read from storage as a stream. Entries are produced only
 * when the zipper asks for them, one at a time: data.json is complete (and `listed` with it) before the
 * first file is opened, and only one file is open at any moment.
 */
async function* archiveEntries(
  userId: string,
  now: Date,
  storage: FileStorage,
  stats: { files: number },
): AsyncGenerator<ArchiveEntry> {
  const listed = new Set<string>();
  const data = await exportData(userId, now, listed);
  yield {
    name: "README.txt",
    compress: true,
    data: once(new TextEncoder().encode(README(EXPORT_TTL_DAYS, data.currency))),
  };
  yield { name: "data.json", compress: true, data: utf8(jsonText(data, 0)) };
  for await (const file of ownFiles(userId)) {
    // Created after data.json was written: not listed, so not included either.
    if (!listed.has(file.id)) continue;
    const object = await storage.get(file.storageKey);
    if (!object) {
      logger.error("data_export.file_missing", { fileId: file.id });
      continue;
    }
    stats.files += 1;
    yield { name: filePath(file), compress: !ALREADY_COMPRESSED.test(file.mediaType), data: wholeObject(object) };
  }
}

/**
 * The ZIP's bytes as fflate's streaming Zip produces them, entry after entry; nothing is read from an
 * entry until the consumer has taken what came before (backpressure), so memory holds a chunk or two.
 * Fails with ExportTooLargeError as soon as the archive passes `maxBytes`.
 */
async function* zipArchive(entries: AsyncIterable<ArchiveEntry>, mtime: Date, maxBytes: number) {
  const ready: Uint8Array[] = [];
  const state: { failure: Error | null; size: number } = { failure: null, size: 0 };
  const zip = new Zip((error, chunk) => {
    if (error) state.failure ??= error;
    else ready.push(chunk);
  });
  function* take() {
    if (state.failure) throw state.failure;
    for (const chunk of ready.splice(0)) {
      state.size += chunk.byteLength;
      if (state.size > maxBytes) throw new ExportTooLargeError("bytes", maxBytes);
      yield chunk;
    }
  }
  for await (const entry of entries) {
    const file = entry.compress ? new ZipDeflate(entry.name, { level: 6 }) : new ZipPassThrough(entry.name);
    file.mtime = mtime;
    zip.add(file);
    for await (const chunk of entry.data) {
      file.push(chunk);
      yield* take();
    }
    file.push(new Uint8Array(0), true);
    yield* take();
  }
  zip.end();
  yield* take();
}

export type BuildExportOptions = {
  /**
   * Where the member's files are read and the archive is written; default: the configured storage (tests
   * pass another backend; download and purge always use the configured one).
   */
  storage?: FileStorage;
  /** The largest archive in bytes; default EXPORT_MAX_BYTES. */
  maxBytes?: number;
};

export type BuildExportOutcome = "ready" | "skipped" | "too_large";

/**
 * The job's work: streams the archive of a pending export into storage under a new key (the ZIP is never
 * whole in memory), marks it ready with the hash of a fresh token and queues the email with the link, in
 * one transaction. Repeating it for an export that is no longer pending does nothing. Any failure leaves no
 * object behind. An archive over EXPORT_MAX_BYTES (or with too many files for a ZIP) fails the export for
 * good ("too_large"). The email is sent in the background, with retries while the provider is down.
 */
export async function buildExport(
  exportId: string,
  now = new Date(),
  options: BuildExportOptions = {},
): Promise<BuildExportOutcome> {
  const row = await prisma.dataExport.findUnique({
    where: { id: exportId },
    select: { id: true, userId: true, status: true },
  });
  if (!row || row.status !== "pending") return "skipped";

  const storage = options.storage ?? getStorage();
  const maxBytes = options.maxBytes ?? EXPORT_MAX_FILE_BYTES;
  const storageKey = newStorageKey();
  const stats = { files: 0 };
  let size: number;
  try {
    // Hopeless exports fail before anything is read or written.
    const totals = await prisma.storedFile.aggregate({
      where: { ownerId: row.userId },
      _sum: { size: true },
      _count: true,
    });
    if ((totals._sum.size ?? 0) > maxBytes) throw new ExportTooLargeError("bytes", maxBytes);
    if (totals._count > ZIP_MAX_ENTRIES - 2) throw new ExportTooLargeError("files", maxBytes);
    const archive = zipArchive(archiveEntries(row.userId, now, storage, stats), now, maxBytes);
    ({ size } = await storage.putStream(storageKey, archive, "application/zip"));
  } catch (error) {
    if (error instanceof ExportTooLargeError) {
      await prisma.dataExport.updateMany({ where: { id: row.id, status: "pending" }, data: { status: "failed" } });
      logger.warn("data_export.too_large", {
        exportId: row.id,
        userId: row.userId,
        reason: error.reason,
        limitBytes: maxBytes,
      });
      return "too_large";
    }
    throw error;
  }

  const token = newExportToken();
  const expiresAt = new Date(now.getTime() + EXPORT_TTL_DAYS * DAY_MS);
  // Ready and its email (the one-time link) commit together; the email goes out in the background.
  const ready = await prisma.$transaction(async (tx) => {
    const { count } = await tx.dataExport.updateMany({
      where: { id: row.id, userId: row.userId, status: "pending" },
      data: {
        status: "ready",
        tokenHash: hashExportToken(token),
        storageKey,
        size,
        readyAt: now,
        expiresAt,
      },
    });
    if (count === 0) return null;
    const user = await tx.user.findUniqueOrThrow({
      where: { id: row.userId },
      select: { email: true, displayName: true },
    });
    const notificationId = await queueNotification(tx, {
      kind: "export-ready",
      to: user.email,
      userId: row.userId,
      dedupeKey: `export-ready:${row.id}`,
      props: {
        displayName: user.displayName,
        link: `${env.APP_URL}/exports/${token}`,
        expiresAt: expiresAt.toUTCString(),
        days: EXPORT_TTL_DAYS,
      },
    });
    return { notificationId };
  });
  if (!ready) {
    // Deleted (with the account) or finished by another worker meanwhile.
    await storage.delete(storageKey).catch(() => undefined);
    return "skipped";
  }
  await nudgeNotifications([ready.notificationId]);

  // Only the newest archive stays downloadable.
  await expireOtherExports(row.userId, row.id);

  logger.info("data_export.ready", {
    exportId: row.id,
    userId: row.userId,
    size,
    files: stats.files,
  });
  return "ready";
}

async function expireOtherExports(userId: string, keepId: string) {
  const others = await prisma.dataExport.findMany({
    where: { userId, status: "ready", id: { not: keepId } },
    select: { id: true, storageKey: true },
  });
  if (others.length === 0) return;
  await prisma.dataExport.updateMany({
    where: { userId, id: { in: others.map((other) => other.id) }, status: "ready" },
    data: { status: "expired", storageKey: null },
  });
  await deleteObjects(others.map((other) => other.storageKey));
}

async function deleteObjects(keys: (string | null)[]) {
  const storage = getStorage();
  for (const key of keys) {
    if (!key) continue;
    await storage.delete(key).catch((error: unknown) =>
      logger.error("data_rights.object_delete_failed", {
        storageKey: key,
        errorName: error instanceof Error ? error.name : "unknown",
      }),
    );
  }
}

/** Marks an export failed (e.g. after the job gave up). */
export async function markExportFailed(exportId: string) {
  await prisma.dataExport.updateMany({ where: { id: exportId, status: "pending" }, data: { status: "failed" } });
}

// ---------------------------------------------------------------------------------------------
// Export: download

export type DownloadResult =
  | { status: "ok"; stream: ReadableStream<Uint8Array>; size: number; filename: string }
  | { status: "not_found" }
  | { status: "gone"; reason: "expired" | "downloaded" };

/**
 * Hands the archive to its owner, once: the row is claimed (ready → downloaded) before the bytes are read,
 * so two concurrent downloads cannot both succeed, and the object is removed once it has been streamed
 * (the purge removes it too, should the stream be abandoned). Another member's token is "not found".
 */
export async function downloadExport(
  userId: string,
  token: string,
  ip: string | null,
  now = new Date(),
): Promise<DownloadResult> {
  if (!EXPORT_TOKEN_PATTERN.test(token)) return { status: "not_found" };
  const row = await prisma.dataExport.findFirst({
    where: { tokenHash: hashExportToken(token), userId },
    select: { id: true, status: true, storageKey: true, expiresAt: true, size: true },
  });
  if (!row) return { status: "not_found" };
  if (row.status === "downloaded") return { status: "gone", reason: "downloaded" };
  if (row.status !== "ready" || !row.storageKey || !row.expiresAt || row.expiresAt <= now) {
    if (row.status === "ready") await expireExport(row.id, row.storageKey);
    return { status: "gone", reason: "expired" };
  }
  const { count } = await prisma.dataExport.updateMany({
    where: { id: row.id, userId, status: "ready", expiresAt: { gt: now } },
    data: { status: "downloaded", downloadedAt: now },
  });
  if (count === 0) return { status: "gone", reason: "downloaded" };
  await audit({ actorId: userId, action: "data.export_downloaded", targetType: "data_export", targetId: row.id, ip });

  const storage = getStorage();
  const object = await storage.get(row.storageKey);
  if (!object) {
    logger.error("data_export.object_missing", { exportId: row.id });
    return { status: "gone", reason: "expired" };
  }
  const storageKey = row.storageKey;
  const reader = object.stream.getReader();
  const removeObject = async () => {
    await deleteObjects([storageKey]);
    await prisma.dataExport.updateMany({ where: { id: row.id, storageKey }, data: { storageKey: null } });
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        await removeObject();
        return;
      }
      controller.enqueue(value);
    },
    async cancel(reason) {
      await reader.cancel(reason);
      await removeObject();
    },
  });
  const day = (row.expiresAt ?? now).toISOString().slice(0, 10);
  return { status: "ok", stream, size: object.size, filename: `ai-wallet-data-${day}.zip` };
}

async function expireExport(id: string, storageKey: string | null) {
  await prisma.dataExport.updateMany({ where: { id, status: "ready" }, data: { status: "expired", storageKey: null } });
  await deleteObjects([storageKey]);
}

/**
 * Retention (run by purgeExpiredJob): ready archives past their expiry become expired, and the bytes of
 * expired, failed and downloaded archives (after a grace for a download still in flight) are removed.
 */
export async function purgeExports(now = new Date()) {
  const expired = await prisma.dataExport.updateMany({
    where: { status: "ready", expiresAt: { lte: now } },
    data: { status: "expired" },
  });
  const leftovers = await prisma.dataExport.findMany({
    where: {
      storageKey: { not: null },
      OR: [
        { status: { in: ["expired", "failed"] } },
        { status: "downloaded", downloadedAt: { lt: new Date(now.getTime() - DOWNLOAD_GRACE_MS) } },
      ],
    },
    select: { id: true, storageKey: true },
    take: 500,
  });
  await deleteObjects(leftovers.map((row) => row.storageKey));
  if (leftovers.length > 0) {
    await prisma.dataExport.updateMany({
      where: { id: { in: leftovers.map((row) => row.id) } },
      data: { storageKey: null },
    });
  }
  return { exportsExpired: expired.count, exportObjectsDeleted: leftovers.length };
}

// ---------------------------------------------------------------------------------------------
// Account deletion

export type DeleteAccountInput = {
  userId: string;
  /** The current password (accounts with one). */
  password?: string | null;
  /** Accounts without a password (Google only) type their email address instead. */
  confirmEmail?: string | null;
  ip: string | null;
};

export type DeleteAccountResult =
  | { ok: true; forfeited: bigint; currency: string }
  | { ok: false; reason: "password" | "email" | "in_flight" | "not_found" };

const IN_FLIGHT_STATUSES = ["queued", "running"] as const;

/** Ledger metadata keys that can hold a member's payment details (see redactTransferMetadata). */
const LEDGER_PERSONAL_KEYS = ["reference", "senderNumber", "sender_number"];

/**
 * Erases the member's personal data and closes the account. In one transaction: generations' content
 * (prompt, output, parameters, usage, errors) is wiped and they are marked deleted; support-access grants
 * are revoked; their files, every
 * other stored file, conversations, exports, sessions, verification and reset tokens, the password and
 * pending Google sign-ups are deleted; manual top-ups lose the sender number and reference (in their rows
 * and in the metadata of the ledger transfers that credited them); contact
 * messages lose name, email, message and IP; dev-outbox copies of emails to the address, emails still
 * queued for the member or the address, and rate-limit counters keyed by it go; a confirmation to the old
 * address is queued; the user row is anonymised (kept, so the wallet account, the ledger and the
 * payment records still point at a row: see the report/decision). After the commit: file bytes are
 * removed and the remaining balance is forfeited by a ledger transfer. Refused while a generation is still running (its worker would write content back).
 */
export async function deleteAccount(input: DeleteAccountInput): Promise<DeleteAccountResult> {
  const { userId } = input;
  const user = await prisma.user.findUnique({
    where: { id: userId },
    select: { email: true, googleSub: true, disabledAt: true, password: { select: { hash: true } } },
  });
  if (!user || user.email === deletedEmailFor(userId)) return { ok: false, reason: "not_found" };
  if (user.password) {
    if (!(await verifyPassword(user.password.hash, input.password ?? ""))) return { ok: false, reason: "password" };
  } else if ((input.confirmEmail ?? "").trim().toLowerCase() !== user.email) {
    return { ok: false, reason: "email" };
  }
  const email = user.email;

  const outcome = await prisma.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId} FOR UPDATE`;
      const running = await tx.generation.count({ where: { userId, status: { in: [...IN_FLIGHT_STATUSES] } } });
      if (running > 0) return { ok: false as const };
      const now = new Date();

      // Files: unlink from generations, detach receipts, then delete every row the member owns.
      await tx.generationFile.deleteMany({
        where: { OR: [{ generation: { userId } }, { file: { ownerId: userId } }] },
      });
      await tx.manualTopUp.updateMany({
        where: { userId },
        data: { senderNumber: "deleted", reference: "deleted", receiptFileId: null },
      });
      // Credits written before the ledger kept ids only carry the payment reference (and maybe the sender
      // number) in their metadata: removed with the rest. Amounts and the transfers themselves stay.
      await redactTransferMetadata(walletAccountId(userId), LEDGER_PERSONAL_KEYS, tx);
      const files = await tx.$queryRaw<{ storageKey: string }[]>`
        DELETE FROM stored_files WHERE owner_id = ${userId} RETURNING storage_key AS "storageKey"`;

      // Generations keep their row (model, amounts, ledger references) without content.
      await tx.generation.updateMany({ where: { userId, deletedAt: null }, data: { deletedAt: now } });
      const generations = await tx.generation.updateMany({
        where: { userId },
        data: {
          prompt: "",
          outputText: null,
          params: {},
          usage: {},
          errorMessage: null,
          upstreamJobId: null,
          conversationId: null,
        },
      });
      await tx.conversation.deleteMany({ where: { userId } });
      // Support can no longer see anything of the account (its generations are deleted anyway).
      const grantsRevoked = await revokeAllGrants(tx, userId, now);

      const exports = await tx.dataExport.findMany({ where: { userId }, select: { storageKey: true } });
      await tx.dataExport.deleteMany({ where: { userId } });

      await tx.session.deleteMany({ where: { userId } });
      await tx.emailVerification.deleteMany({ where: { userId } });
      await tx.passwordReset.deleteMany({ where: { userId } });
      await tx.password.deleteMany({ where: { userId } });
      await tx.googleSignup.deleteMany({
        where: { OR: [{ email }, ...(user.googleSub ? [{ googleSub: user.googleSub }] : [])] },
      });
      // Staff replies may quote the member (a name, a number): they go, the anonymised message stays.
      await tx.contactReply.deleteMany({ where: { message: { OR: [{ userId }, { email }] } } });
      await tx.contactMessage.updateMany({
        where: { OR: [{ userId }, { email }] },
        data: { name: DELETED_DISPLAY_NAME, email: deletedEmailFor(userId), message: "", ip: null },
      });
      // Development outbox: the copies of every email sent to this address. Emails still queued for the
      // member or the address go unsent; only the confirmation below (no account link, nothing to sign in to)
      // is written, for the old address, which the row keeps until it is sent.
      await tx.outboxEmail.deleteMany({ where: { to: email } });
      await tx.notification.deleteMany({ where: { OR: [{ userId }, { recipient: email }] } });
      const goodbyeId = await queueNotification(tx, {
        kind: "account-deleted",
        to: email,
        userId: null,
        props: { when: now.toUTCString(), contactUrl: `${env.APP_URL}/contact` },
      });
      await tx.rateLimit.deleteMany({ where: { key: { endsWith: `:${email}` } } });

      await tx.user.update({
        where: { id: userId },
        data: {
          email: deletedEmailFor(userId),
          emailVerifiedAt: null,
          displayName: DELETED_DISPLAY_NAME,
          phone: null,
          country: "ZZ",
          googleSub: null,
          role: "member",
          lowBalanceThreshold: null,
          lowBalanceNotifiedAt: null,
          disabledAt: user.disabledAt ?? now,
        },
      });
      await audit(
        {
          actorId: userId,
          action: "account.deleted",
          targetType: "user",
          targetId: userId,
          after: { generations: generations.count, files: files.length, exports: exports.length, grantsRevoked },
        },
        tx,
      );
      return {
        ok: true as const,
        keys: [...files.map((file) => file.storageKey), ...exports.map((row) => row.storageKey)],
        generations: generations.count,
        goodbyeId,
      };
    },
    { timeout: 60_000 },
  );
  if (!outcome.ok) return { ok: false, reason: "in_flight" };
  await nudgeNotifications([outcome.goodbyeId]);

  await deleteObjects(outcome.keys);
  const { forfeited, currency } = await forfeitBalance(userId);
  logger.info("account.deleted", { userId, files: outcome.keys.length, generations: outcome.generations });

  return { ok: true, forfeited, currency };
}

/**
 * The wallet's available balance moves to the platform adjustments account (kind "account_closed"), so
 * the books no longer owe it to an account nobody can use. The wallet account and every entry stay. A
 * refund asked for through the contact page is a new transfer from adjustments, as any correction is.
 */
async function forfeitBalance(userId: string): Promise<{ forfeited: bigint; currency: string }> {
  const balance = await getWalletBalance(userId);
  if (balance.available <= 0n) return { forfeited: 0n, currency: balance.currency };
  try {
    await transfer({
      key: `account-closed:${userId}`,
      kind: "account_closed",
      description: "Balance forfeited when the account was deleted",
      postings: [
        { accountId: walletAccountId(userId), amount: -balance.available },
        { accountId: PLATFORM_ACCOUNTS.adjustments, amount: balance.available },
      ],
      metadata: { reason: "account_deleted" },
    });
  } catch (error) {
    // The money stays in the (closed) wallet: safe, and visible to an admin.
    logger.error("account.forfeit_failed", { userId, errorName: error instanceof Error ? error.name : "unknown" });
    return { forfeited: 0n, currency: balance.currency };
  }
  return { forfeited: balance.available, currency: balance.currency };
}
