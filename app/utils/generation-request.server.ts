import type { Attachment } from "#app/models/generation.server";
import { env } from "./env.server";
import { readUploadForm, sniffAttachment, UploadError } from "./file-type.server";
import {
  ATTACHMENT_FIELDS,
  generationSchema,
  MAX_ATTACHMENT_BYTES,
  MAX_PROMPT_CHARACTERS,
  type GenerationForm,
} from "./generation-form";

// Reads a generation form (fields + file0…file4) with upload limits, validates it with the shared schema
// and sniffs each attachment's real type. A refusal names the field it is about.

export type GenerationRequest =
  | { ok: true; input: GenerationForm; files: Attachment[]; fields: Record<string, string> }
  | { ok: false; status: number; error: string; field: string | null; code: string; fields: Record<string, string> };

// Built once: Zod compiles each new object schema on its first parse (about 1 ms a request otherwise).
let schema: ReturnType<typeof generationSchema> | undefined;
const formSchema = () => (schema ??= generationSchema(env.WALLET_CURRENCY));

export async function readGenerationRequest(request: Request): Promise<GenerationRequest> {
  let form;
  try {
    form = await readUploadForm(request, {
      files: Object.fromEntries(ATTACHMENT_FIELDS.map((name) => [name, { maxBytes: MAX_ATTACHMENT_BYTES }])),
      maxFieldBytes: MAX_PROMPT_CHARACTERS * 4,
    });
  } catch (error) {
    if (!(error instanceof UploadError)) throw error;
    const error400 = "The request could not be read. Reload the page and try again.";
    return { ok: false, status: 400, error: error400, field: null, code: "malformed", fields: {} };
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of form.fields) if (typeof value === "string") fields[key] = value;
  if (form.tooLarge.size > 0) {
    const error = `Each file must be under ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB.`;
    return { ok: false, status: 413, error, field: "files", code: "file_size", fields };
  }
  const parsed = formSchema().safeParse(fields);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return {
      ok: false,
      status: 400,
      error: issue.message,
      field: String(issue.path[0] ?? ""),
      code: "invalid",
      fields,
    };
  }
  const files: Attachment[] = [];
  for (const name of ATTACHMENT_FIELDS) {
    const file = form.files.get(name);
    if (!file) continue;
    const mediaType = sniffAttachment(file.bytes, file.filename);
    if (!mediaType) {
      const error = `${file.filename || "This file"} is not a type any model here can read.`;
      return { ok: false, status: 415, error, field: "files", code: "file_type", fields };
    }
    files.push({ filename: file.filename, bytes: file.bytes, mediaType });
  }
  return { ok: true, input: parsed.data, files, fields };
}
