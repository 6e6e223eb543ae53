import type { SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { Attachment } from "#app/models/generation.server";
import { env } from "./env.server";
import { readUploadForm, sniffAttachment, UploadError } from "./file-type.server";
import {
  ATTACHMENT_FIELDS,
  generationSchema,
  MAX_ATTACHMENT_BYTES,
  MAX_PROMPT_CHARACTERS,
  refusalResult,
  type GenerationForm,
} from "./generation-form";

// Reads a generation form (fields + file0…file4, one file per part: the script sends the chosen files that
// way, and the plain HTML form has one input per file) with upload limits, validates the fields with the
// schema the browser uses (Conform's parseWithZod) and sniffs each attachment's real type. A refusal names
// the field it is about, and comes with Conform's result for the form (errors tied to the fields, what was
// typed kept). How many files a model takes is checked with the model (prepareText / prepareMedia), still
// before anything is held.

export type GenerationRequest =
  | { ok: true; input: GenerationForm; files: Attachment[]; fields: Record<string, string> }
  | {
      ok: false;
      status: number;
      error: string;
      field: string | null;
      code: string;
      fields: Record<string, string>;
      /** For the form: Conform's lastResult. */
      result: SubmissionResult;
    };

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
    if (error.code === "unsupported") {
      return refused(415, "Send the request as a multipart form.", null, "unsupported_media_type", {});
    }
    if (error.code === "field_too_large") {
      const message = `A field is too long: a prompt holds at most ${MAX_PROMPT_CHARACTERS.toLocaleString("en")} characters.`;
      return refused(413, message, "prompt", "too_large", {});
    }
    const message = "The request could not be read. Reload the page and try again.";
    return refused(400, message, null, "malformed", {});
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of form.fields) if (typeof value === "string") fields[key] = value;
  if (form.tooLarge.size > 0) {
    const error = `Each file must be under ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MB.`;
    return refused(413, error, "files", "file_size", fields);
  }
  const submission = parseWithZod(form.fields, { schema: formSchema() });
  if (submission.status !== "success") {
    const errors = submission.error ?? {};
    const [field, messages] = Object.entries(errors).find(([, list]) => list?.length) ?? ["", null];
    const message = messages?.[0] ?? "Check the form and try again.";
    return {
      ok: false,
      status: 400,
      error: message,
      field,
      code: "invalid",
      fields,
      result: refusalResult(errors, fields),
    };
  }
  const files: Attachment[] = [];
  for (const name of ATTACHMENT_FIELDS) {
    const file = form.files.get(name);
    if (!file) continue;
    const mediaType = sniffAttachment(file.bytes, file.filename);
    if (!mediaType) {
      const error = `${file.filename || "This file"} is not a type any model here can read.`;
      return refused(415, error, "files", "file_type", fields);
    }
    files.push({ filename: file.filename, bytes: file.bytes, mediaType });
  }
  return { ok: true, input: submission.value, files, fields };
}

function refused(
  status: number,
  error: string,
  field: string | null,
  code: string,
  fields: Record<string, string>,
): Extract<GenerationRequest, { ok: false }> {
  const result = refusalResult({ [field ?? ""]: [error] }, fields);
  return { ok: false, status, error, field, code, fields, result };
}
