import { z } from "zod";
import { parseAmount } from "./money";

// The generation form's fields, checked the same way in the browser and on the server.

export const MAX_PROMPT_CHARACTERS = 100_000;
export const MAX_ATTACHMENTS = 5;
/** Upload limit per attachment before the model's own (smaller) limit is applied. */
export const MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;
export const ATTACHMENT_FIELDS = Array.from({ length: MAX_ATTACHMENTS }, (_, index) => `file${index}`);

const optionalId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "Invalid id")
  .optional();

const optionalNumber = (schema: z.ZodNumber) =>
  z.preprocess(
    (value) => (value === "" || value === null ? undefined : value),
    z.coerce.number().pipe(schema).optional(),
  );

export function generationSchema(currency: string) {
  return z.object({
    requestId: z
      .string({ error: "Reload the page and try again" })
      .regex(/^[A-Za-z0-9_-]{8,64}$/, "Reload the page and try again"),
    model: z.string({ error: "Choose a model" }).trim().min(3, "Choose a model").max(200),
    prompt: z
      .string({ error: "Write a prompt" })
      .max(MAX_PROMPT_CHARACTERS, `At most ${MAX_PROMPT_CHARACTERS.toLocaleString("en")} characters`)
      .refine((value) => value.trim().length > 0, "Write a prompt"),
    maxOutputTokens: optionalNumber(
      z.number().int("Use a whole number").min(1, "At least 1").max(1_000_000, "That is more than any model writes"),
    ),
    temperature: optionalNumber(z.number().min(0, "From 0 to 2").max(2, "From 0 to 2")),
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
        return parsed.micros;
      }),
    conversationId: optionalId,
    regeneratesId: optionalId,
    compareGroup: optionalId,
    size: z.string().trim().max(20).optional(),
    quality: z.string().trim().max(20).optional(),
    n: optionalNumber(z.number().int("Use a whole number").min(1, "At least 1").max(10, "At most 10")),
    voice: z.string().trim().max(100).optional(),
    seconds: optionalNumber(z.number().int("Use a whole number").min(1, "At least 1 second").max(60, "At most 60 s")),
    aspectRatio: z.string().trim().max(10).optional(),
  });
}

export type GenerationForm = z.infer<ReturnType<typeof generationSchema>>;

/** A request id for one submit: a retried or double-clicked submit sends the same one. */
export function newRequestId(): string {
  return globalThis.crypto.randomUUID().replaceAll("-", "");
}
