import type { SubmissionResult } from "@conform-to/react";
import { z } from "zod";
import { parseAmount } from "./money";

// The generation form's fields, checked the same way in the browser and on the server: both parse the form
// data with Conform's parseWithZod and this schema (empty fields count as left out, numbers are coerced).

export const MAX_PROMPT_CHARACTERS = 100_000;
export const MAX_ATTACHMENTS = 5;
/** Upload limit per attachment before the model's own (smaller) limit is applied. */
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;
/** One file per part: the script appends the chosen files under these names; the plain form has one input each. */
export const ATTACHMENT_FIELDS = Array.from({ length: MAX_ATTACHMENTS }, (_, index) => `file${index}`);

/** The most a member may set as a cost limit: far above any request, far below the bigint column's range. */
export const MAX_COST_CAP_MICROS = 10n ** 15n;

// PostgreSQL text and jsonb cannot hold NUL, and no one types it: refused as a field error, never sent on.
const NUL = "\u0000";
const noNul = (value: string) => !value.includes(NUL);
const NUL_MESSAGE = "Remove the invisible control character (NUL) from this field";
const text = (max: number) => z.string().trim().max(max).refine(noNul, NUL_MESSAGE);

const optionalId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "Invalid id")
  .optional();

const number = () => z.number({ error: "Enter a number" });

export function generationSchema(currency: string) {
  return z.object({
    requestId: z
      .string({ error: "Reload the page and try again" })
      .regex(/^[A-Za-z0-9_-]{8,64}$/, "Reload the page and try again"),
    model: z
      .string({ error: "Choose a model" })
      .trim()
      .min(3, "Choose a model")
      .max(200, "Choose a model")
      .refine(noNul, "Choose a model"),
    prompt: z
      .string({ error: "Write a prompt" })
      .max(MAX_PROMPT_CHARACTERS, `At most ${MAX_PROMPT_CHARACTERS.toLocaleString("en")} characters`)
      .refine((value) => value.trim().length > 0, "Write a prompt")
      .refine(noNul, NUL_MESSAGE),
    maxOutputTokens: number()
      .int("Use a whole number")
      .min(1, "At least 1")
      .max(1_000_000, "That is more than any model writes")
      .optional(),
    temperature: number().min(0, "From 0 to 2").max(2, "From 0 to 2").optional(),
    costCap: z
      .string()
      .trim()
      .optional()
      .transform((text, ctx) => {
        if (!text) return null;
        const parsed = parseAmount(text, currency, { precise: true });
        if (!parsed.ok) {
          ctx.addIssue({ code: "custom", message: parsed.error });
          return z.NEVER;
        }
        if (parsed.micros > MAX_COST_CAP_MICROS) {
          ctx.addIssue({ code: "custom", message: "That limit is higher than any request can cost: leave it empty" });
          return z.NEVER;
        }
        return parsed.micros;
      }),
    conversationId: optionalId,
    regeneratesId: optionalId,
    compareGroup: optionalId,
    size: text(20).optional(),
    quality: text(20).optional(),
    n: number().int("Use a whole number").min(1, "At least 1").max(10, "At most 10").optional(),
    voice: text(100).optional(),
    seconds: number().int("Use a whole number").min(1, "At least 1 second").max(60, "At most 60 s").optional(),
    aspectRatio: text(10).optional(),
  });
}

export type GenerationForm = z.infer<ReturnType<typeof generationSchema>>;

/** A request id for one submit: a retried or double-clicked submit sends the same one. */
export function newRequestId(): string {
  return globalThis.crypto.randomUUID().replaceAll("-", "");
}

/**
 * A refusal as Conform's result (the form's lastResult): each message under its field, or for the whole
 * form when it is about none the member can change (the hidden request id). With `fields` (a page posted
 * without JavaScript), what was typed is sent back so the form shows it again; without, the form keeps its
 * current values.
 */
export function refusalResult(
  errors: Record<string, string[] | null | undefined>,
  fields?: Record<string, string>,
): SubmissionResult {
  const error: Record<string, string[]> = {};
  for (const [field, messages] of Object.entries(errors)) {
    if (!messages?.length) continue;
    const name = field === "requestId" ? "" : field;
    error[name] = [...(error[name] ?? []), ...messages];
  }
  if (!fields) return { status: "error", error };
  const { requestId: _requestId, ...initialValue } = fields;
  return { status: "error", initialValue, error };
}

/**
 * The /compare form, derived from the generation form: one prompt and longest answer for two models (`left`,
 * `right`, each checked as `model` is), which must differ. Each side is then sent as its own generation.
 */
export function compareSchema(currency: string) {
  const base = generationSchema(currency);
  return base
    .pick({ prompt: true, maxOutputTokens: true })
    .extend({ left: base.shape.model, right: base.shape.model })
    .refine((value) => value.left !== value.right, {
      message: "Choose two different models",
      path: ["right"],
      // Also when another field is in error, so every problem shows at once.
      when: (payload) => {
        const value = payload.value as { left?: unknown; right?: unknown };
        return typeof value?.left === "string" && typeof value.right === "string";
      },
    });
}

/**
 * A refusal from /api/generate/text ({ error, field }) as an entry of Conform's errors, for a form that
 * shows only some of the generation fields: under the field it is about when the form shows it (renamed
 * with `names`, e.g. `model` → `right`), else under the whole form ("").
 */
export function refusalEntry(
  refusal: { message: string; field: string | null },
  shown: readonly string[],
  names: Record<string, string> = {},
): [field: string, message: string] {
  const name = refusal.field ? (names[refusal.field] ?? refusal.field) : "";
  return [shown.includes(name) ? name : "", refusal.message];
}
