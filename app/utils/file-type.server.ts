import { unstable_parseMultipartFormData, type UploadHandlerPart } from "@remix-run/node";

// What a file really is, from its first bytes (never from the browser's Content-Type or the file name),
// and reading uploads with hard size limits that apply while the body streams in, before anything
// larger than the limit is held in memory.

export type SniffedType =
  | { mediaType: "image/jpeg"; extension: "jpg"; label: "JPEG" }
  | { mediaType: "image/png"; extension: "png"; label: "PNG" }
  | { mediaType: "image/webp"; extension: "webp"; label: "WebP" }
  | { mediaType: "image/gif"; extension: "gif"; label: "GIF" }
  | { mediaType: "application/pdf"; extension: "pdf"; label: "PDF" };

export type SniffedMediaType = SniffedType["mediaType"];

function startsWith(bytes: Uint8Array, signature: ReadonlyArray<number>, offset = 0) {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((byte, index) => bytes[offset + index] === byte);
}

const ascii = (text: string) => Array.from(text, (char) => char.charCodeAt(0));

const JPEG = [0xff, 0xd8, 0xff];
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const GIF87 = ascii("GIF87a");
const GIF89 = ascii("GIF89a");
const RIFF = ascii("RIFF");
const WEBP = ascii("WEBP");
const PDF = ascii("%PDF-");

/** The type of a file from its magic bytes, or null when it is none of the types we know. */
export function sniffFileType(bytes: Uint8Array): SniffedType | null {
  if (startsWith(bytes, PNG)) return { mediaType: "image/png", extension: "png", label: "PNG" };
  if (startsWith(bytes, JPEG)) return { mediaType: "image/jpeg", extension: "jpg", label: "JPEG" };
  if (startsWith(bytes, GIF87) || startsWith(bytes, GIF89))
    return { mediaType: "image/gif", extension: "gif", label: "GIF" };
  // RIFF <4-byte little-endian size> WEBP: a WebP image (RIFF alone is also WAV/AVI).
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8))
    return { mediaType: "image/webp", extension: "webp", label: "WebP" };
  if (startsWith(bytes, PDF)) return { mediaType: "application/pdf", extension: "pdf", label: "PDF" };
  return null;
}

/** Extension for a media type we stored after sniffing (used to name downloads). */
export function extensionFor(mediaType: string): string {
  const known: Record<string, string> = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
  };
  return known[mediaType] ?? "bin";
}

// ---------------------------------------------------------------------------------------------
// Receipts for manual top-ups.

export const RECEIPT_MEDIA_TYPES: ReadonlyArray<SniffedMediaType> = [
  "image/jpeg",
  "image/png",
  "image/webp",
  "application/pdf",
];
/** 5 MB (MiB): the limit stated to members. */
export const MAX_RECEIPT_BYTES = 5 * 1024 * 1024;
export const RECEIPT_ACCEPT = ".jpg,.jpeg,.png,.webp,.pdf,image/jpeg,image/png,image/webp,application/pdf";
export const RECEIPT_TOO_LARGE = "The receipt is larger than 5 MB. Attach a smaller photo or PDF.";
export const RECEIPT_WRONG_TYPE = "The receipt must be a JPEG, PNG or WebP image, or a PDF.";

export type ReceiptCheck = { ok: true; type: SniffedType } | { ok: false; error: string };

export function checkReceipt(bytes: Uint8Array): ReceiptCheck {
  if (bytes.byteLength > MAX_RECEIPT_BYTES) return { ok: false, error: RECEIPT_TOO_LARGE };
  const type = sniffFileType(bytes);
  if (!type || !RECEIPT_MEDIA_TYPES.includes(type.mediaType)) return { ok: false, error: RECEIPT_WRONG_TYPE };
  return { ok: true, type };
}

// ---------------------------------------------------------------------------------------------
// Reading a form that may carry files, with limits enforced while streaming.

export type UploadedFile = {
  /** The name the browser sent (basename only). Informational: never used as a path or trusted for the type. */
  filename: string;
  bytes: Uint8Array;
};

export type UploadLimits = {
  /** File inputs we accept, each with its own byte limit. Any other file part is refused. */
  files: Record<string, { maxBytes: number }>;
  /** Per text field. */
  maxFieldBytes?: number;
  /** Parts of any kind. */
  maxParts?: number;
  /**
   * After a file goes over its limit, how many more bytes of it are read and thrown away (never kept) so
   * the client, still uploading, receives the answer: a server that stops reading mid-upload makes the
   * connection reset and the browser shows its own error page instead of the form. Beyond this, reading
   * stops anyway (abusive bodies). Default 25 MiB.
   */
  maxDiscardBytes?: number;
};

export type UploadForm = {
  /** Text fields (files are not in here). */
  fields: FormData;
  files: Map<string, UploadedFile>;
  /** File inputs whose content went over their limit (their bytes were discarded, never kept). */
  tooLarge: Set<string>;
};

export type UploadErrorCode = "malformed" | "unsupported" | "too_many_parts" | "field_too_large" | "unexpected_file";

/** The request body cannot be read as the form we expect (a 400, not a field error). */
export class UploadError extends Error {
  constructor(readonly code: UploadErrorCode) {
    super(`upload: ${code}`);
    this.name = "UploadError";
  }
}

/** Thrown from inside the part handler to stop reading the body; caught right below. */
class StopReading extends Error {}

type PartResult = { over: false; bytes: Uint8Array } | { over: true; drained: boolean };

/**
 * Reads one part, keeping at most `limit` bytes: the size is checked before each chunk is kept, so memory
 * never holds more than limit + one network chunk. Past the limit, what was kept is dropped and up to
 * `discard` more bytes are read and thrown away; drained says whether the part's end was reached.
 */
async function readPart(data: AsyncIterable<Uint8Array>, limit: number, discard = 0): Promise<PartResult> {
  let chunks: Uint8Array[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of data) {
    size += chunk.byteLength;
    if (!over && size > limit) {
      over = true;
      chunks = [];
    }
    if (over) {
      if (size > limit + discard) return { over: true, drained: false };
      continue;
    }
    chunks.push(chunk);
  }
  if (over) return { over: true, drained: true };
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes, over: false };
}

async function readLimitedText(request: Request, limit: number): Promise<string> {
  if (!request.body) return "";
  const result = await readPart(request.body as unknown as AsyncIterable<Uint8Array>, limit);
  if (result.over) throw new UploadError("field_too_large");
  return new TextDecoder().decode(result.bytes);
}

/**
 * Reads a multipart (or url-encoded) form. A file larger than its limit is reported in `tooLarge` (its
 * bytes are never kept past the limit) and the other fields are kept, so the form can be shown again with
 * a field error. A body far larger than any limit stops the reading; the fields that came before the file
 * are still kept (browsers send fields in page order, so put the file input last).
 */
export async function readUploadForm(request: Request, limits: UploadLimits): Promise<UploadForm> {
  const maxFieldBytes = limits.maxFieldBytes ?? 8 * 1024;
  const maxParts = limits.maxParts ?? 30;
  const maxDiscardBytes = limits.maxDiscardBytes ?? 25 * 1024 * 1024;
  const fields = new FormData();
  const files = new Map<string, UploadedFile>();
  const tooLarge = new Set<string>();
  const contentType = (request.headers.get("content-type") ?? "").toLowerCase();

  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    const text = await readLimitedText(request, maxFieldBytes * maxParts);
    for (const [key, value] of new URLSearchParams(text)) fields.append(key, value);
    return { fields, files, tooLarge };
  }
  if (!contentType.startsWith("multipart/form-data")) throw new UploadError("unsupported");

  let parts = 0;
  const handler = async (part: UploadHandlerPart) => {
    parts += 1;
    if (parts > maxParts) throw new UploadError("too_many_parts");
    if (typeof part.filename === "string") {
      const fileLimit = limits.files[part.name];
      if (!fileLimit) throw new UploadError("unexpected_file");
      const result = await readPart(part.data, fileLimit.maxBytes, maxDiscardBytes);
      if (result.over) {
        tooLarge.add(part.name);
        if (!result.drained) throw new StopReading();
        return undefined;
      }
      // An empty file input is sent as a part with no file name and no bytes: no file.
      if (result.bytes.byteLength > 0) files.set(part.name, { filename: part.filename, bytes: result.bytes });
      return undefined;
    }
    const result = await readPart(part.data, maxFieldBytes);
    if (result.over) throw new UploadError("field_too_large");
    fields.append(part.name, new TextDecoder().decode(result.bytes));
    return undefined;
  };

  try {
    await unstable_parseMultipartFormData(request, handler);
  } catch (error) {
    if (error instanceof StopReading) return { fields, files, tooLarge };
    if (error instanceof UploadError) throw error;
    // The parser throws plain Errors (and TypeError) for bodies that are not valid multipart.
    throw new UploadError("malformed");
  }
  return { fields, files, tooLarge };
}

// ---------------------------------------------------------------------------------------------
// Attachments for generations: the binary types above, or text when the bytes are valid UTF-8.

const TEXT_TYPES_BY_EXTENSION: Record<string, string> = {
  md: "text/markdown",
  markdown: "text/markdown",
  csv: "text/csv",
  json: "application/json",
};

/**
 * The media type of an attachment from its bytes: an image or PDF by magic number; otherwise text when it
 * decodes as UTF-8 without control characters (then the extension only picks between plain text, Markdown,
 * CSV and JSON). Anything else is null: refused before any charge.
 */
export function sniffAttachment(bytes: Uint8Array, filename: string): string | null {
  const binary = sniffFileType(bytes);
  if (binary) return binary.mediaType;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  // NUL and other C0 controls (except tab, newline, carriage return, form feed) mean binary data.
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d) return null;
  }
  const extension = filename.toLowerCase().split(".").pop() ?? "";
  const byExtension = TEXT_TYPES_BY_EXTENSION[extension];
  if (byExtension === "application/json") {
    try {
      JSON.parse(text);
    } catch {
      return "text/plain";
    }
  }
  return byExtension ?? "text/plain";
}
