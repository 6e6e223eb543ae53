import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, open, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Prisma, StoredFile } from "@prisma/client";
import { prisma } from "./db.server";
import { env } from "./env.server";
import { createS3Client, type S3ClientSettings } from "./s3.server";

// Where the bytes of stored files live. Rows in stored_files (owner, purpose, type, size, sha256) say
// what a file is and who may read it; the storage backend only knows opaque random keys.
// The local-disk backend is the default; the S3-compatible one (AWS S3, Cloudflare R2, MinIO) is used
// when S3_BUCKET is set.

/** Bytes that arrive over time: a web stream or any async iterable (an async generator, a Node stream). */
export type ByteSource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export interface FileStorage {
  /** Stores bytes under a new key; never overwrites an existing object. */
  put(key: string, bytes: Uint8Array, mediaType: string): Promise<void>;
  /**
   * Stores a stream under a new key without holding it in memory, reading it only as fast as it is
   * written; the same guarantees as `put`: never overwrites, and the object appears whole or not at all.
   * If the source fails (or the write does), nothing is left behind and the error is rethrown; the source
   * is cancelled when the write gives up first.
   */
  putStream(key: string, source: ByteSource, mediaType: string): Promise<{ size: number }>;
  /**
   * The object's bytes as a stream (only bytes start..end inclusive when a range is given), with the
   * object's whole size; null when there is no such object.
   */
  get(
    key: string,
    range?: { start: number; end: number },
  ): Promise<{ stream: ReadableStream<Uint8Array>; size: number } | null>;
  /** Removes the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
}

const KEY_PATTERN = /^[a-z0-9]{32}$/;

/** A fresh random key (128 bits as 32 hex characters). Keys never contain user input. */
export function newStorageKey(): string {
  return randomBytes(16).toString("hex");
}

function assertKey(key: string) {
  if (!KEY_PATTERN.test(key)) throw new Error("storage: invalid key");
}

/** A source's chunks; stopping early (an error, a break) cancels a web stream so its producer stops too. */
export async function* chunksOf(source: ByteSource): AsyncGenerator<Uint8Array, void, undefined> {
  if (!("getReader" in source)) {
    yield* source;
    return;
  }
  const reader = source.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * Tells a source we will not read (any more of) it, so that its producer can let go of what it holds.
 * Harmless for a source already finished or cancelled.
 */
async function abandon(source: ByteSource) {
  try {
    if ("getReader" in source) {
      if (!source.locked) await source.cancel();
    } else {
      await source[Symbol.asyncIterator]().return?.();
    }
  } catch {
    // The producer's own clean-up failed: nothing more we can do, and the write's error matters more.
  }
}

/** Files on local disk under `root`, spread over 256 folders by the key's first two characters. */
export function createLocalDiskStorage(rootDir: string): FileStorage {
  const root = path.resolve(rootDir);

  function pathFor(key: string) {
    assertKey(key);
    const full = path.join(root, key.slice(0, 2), key);
    // Belt and braces: the key pattern already rules out separators and "..".
    if (!full.startsWith(root + path.sep)) throw new Error("storage: path outside the storage folder");
    return full;
  }

  return {
    async put(key, bytes) {
      const target = pathFor(key);
      await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      // Write to a temporary name, then hard-link it into place: a reader never sees a half-written
      // file, and link() fails with EEXIST instead of overwriting an existing object.
      const temporary = `${target}.${randomBytes(6).toString("hex")}.tmp`;
      try {
        await writeFile(temporary, bytes, { flag: "wx", mode: 0o600 });
        await link(temporary, target);
      } finally {
        await rm(temporary, { force: true });
      }
    },
    async putStream(key, source) {
      try {
        const target = pathFor(key);
        // Fails early for an existing object; link() below is what actually guarantees it.
        if (await stat(target).catch(() => null)) {
          throw Object.assign(new Error("storage: the object already exists"), { code: "EEXIST" });
        }
        await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
        // As put(): a private temporary file, hard-linked into place once complete.
        const temporary = `${target}.${randomBytes(6).toString("hex")}.tmp`;
        let size = 0;
        try {
          const handle = await open(temporary, "wx", 0o600);
          try {
            // One write at a time: the source is read only as fast as the disk takes it.
            for await (const chunk of chunksOf(source)) {
              let written = 0;
              while (written < chunk.byteLength) {
                const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written);
                written += bytesWritten;
              }
              size += chunk.byteLength;
            }
          } finally {
            await handle.close();
          }
          await link(temporary, target);
        } finally {
          await rm(temporary, { force: true });
        }
        return { size };
      } catch (error) {
        await abandon(source);
        throw error;
      }
    },
    async get(key, range) {
      const target = pathFor(key);
      try {
        const info = await stat(target);
        const stream = Readable.toWeb(createReadStream(target, range)) as ReadableStream<Uint8Array>;
        return { stream, size: info.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
    },
    async delete(key) {
      await rm(pathFor(key), { force: true });
    },
  };
}

export type S3StorageSettings = S3ClientSettings & {
  /** Folder-like prefix for every object key, e.g. "files" → "files/<key>" (slashes at either end optional). */
  prefix?: string;
};

/** Objects in an S3-compatible bucket, named by the storage key (under `prefix`). */
export function createS3Storage(settings: S3StorageSettings): FileStorage {
  const client = createS3Client(settings);
  const prefix = (settings.prefix ?? "").replace(/^\/+|\/+$/g, "");
  const objectKey = (key: string) => {
    assertKey(key);
    return prefix ? `${prefix}/${key}` : key;
  };
  // async, so a bad key rejects like every other failure instead of throwing synchronously.
  return {
    put: async (key, bytes, mediaType) => client.putObject(objectKey(key), bytes, mediaType),
    putStream: async (key, source, mediaType) => {
      try {
        return await client.putObjectStream(objectKey(key), chunksOf(source), mediaType);
      } catch (error) {
        await abandon(source);
        throw error;
      }
    },
    get: async (key, range) => client.getObject(objectKey(key), range),
    delete: async (key) => client.deleteObject(objectKey(key)),
  };
}

let storage: FileStorage | undefined;

/** The configured backend: S3 when S3_BUCKET is set (env.server.ts checks the rest), else local disk. */
export function getStorage(): FileStorage {
  storage ??= env.S3_BUCKET
    ? createS3Storage({
        bucket: env.S3_BUCKET,
        region: env.S3_REGION,
        endpoint: env.S3_ENDPOINT,
        accessKeyId: env.S3_ACCESS_KEY_ID ?? "",
        secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "",
        // Custom endpoints (R2, MinIO) usually want path style; AWS itself prefers virtual-hosted.
        forcePathStyle: env.S3_FORCE_PATH_STYLE ?? Boolean(env.S3_ENDPOINT),
        prefix: env.S3_PREFIX,
      })
    : createLocalDiskStorage(env.STORAGE_DIR);
  return storage;
}

/** Reads a whole object into memory (for small files such as receipts; stream anything big with `get`). */
export async function readAllBytes(key: string, backend: FileStorage = getStorage()): Promise<Uint8Array | null> {
  const object = await backend.get(key);
  if (!object) return null;
  return new Uint8Array(await new Response(object.stream).arrayBuffer());
}

export type SaveFileInput = {
  ownerId: string | null;
  /** What the file is for, e.g. "receipt"; access rules depend on it. */
  purpose: string;
  bytes: Uint8Array;
  /** The SNIFFED type (see file-type.server.ts), never the browser's claim. */
  mediaType: string;
  /** As the browser sent it; kept for display only (trimmed, at most 200 characters). */
  originalName?: string | null;
};

function cleanName(name: string | null | undefined): string | null {
  if (!name) return null;
  // Control characters (newlines, NUL…) have no place in a name shown to people.
  const printable = Array.from(name)
    .filter((char) => char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) !== 0x7f)
    .join("");
  const cleaned = printable.trim().slice(0, 200);
  return cleaned || null;
}

/**
 * Stores the bytes under a new random key, then records the stored_files row (in `tx` when given).
 * If the row cannot be written the bytes are removed again. A caller whose surrounding transaction
 * fails later should call `discardFile(file)`.
 */
export async function saveFile(
  input: SaveFileInput,
  options: { tx?: Prisma.TransactionClient; storage?: FileStorage } = {},
): Promise<StoredFile> {
  const backend = options.storage ?? getStorage();
  const storageKey = newStorageKey();
  const sha256 = createHash("sha256").update(input.bytes).digest("hex");
  await backend.put(storageKey, input.bytes, input.mediaType);
  try {
    return await (options.tx ?? prisma).storedFile.create({
      data: {
        ownerId: input.ownerId,
        purpose: input.purpose,
        mediaType: input.mediaType,
        size: input.bytes.byteLength,
        sha256,
        storageKey,
        originalName: cleanName(input.originalName),
      },
    });
  } catch (error) {
    await backend.delete(storageKey).catch(() => undefined);
    throw error;
  }
}

/** A stored file's row by id (access checks are the caller's job: compare ownerId). */
export function getStoredFile(id: string): Promise<StoredFile | null> {
  return prisma.storedFile.findUnique({ where: { id } });
}

/** Removes the bytes of a file whose row was never committed (best effort). */
export async function discardFile(file: Pick<StoredFile, "storageKey">, backend: FileStorage = getStorage()) {
  await backend.delete(file.storageKey).catch(() => undefined);
}
