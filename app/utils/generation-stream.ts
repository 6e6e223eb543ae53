import { z } from "zod";

// The wire protocol between the text endpoint (/api/generate/text) and the page that reads it
// (use-text-stream.ts), and the generation state /api/generations/:id answers: one schema for both
// sides. A stream is newline-delimited JSON events: one "start", any number of "delta", one "done".
// Money travels as a string of micro-units (JSON has no BigInt) and is a BigInt on both ends.
// Browser-safe: no server imports.

/** Every status a generation can have (the lifecycle checks this list against the database's enum). */
export const GENERATION_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "partial"] as const;
export type GenerationStatusName = (typeof GENERATION_STATUSES)[number];

export const STREAM_CONTENT_TYPE = "application/x-ndjson; charset=utf-8";

const micros = z
  .string()
  .regex(/^-?\d+$/)
  .transform((value) => BigInt(value));

const startEvent = z.object({
  type: z.literal("start"),
  generationId: z.string(),
  conversationId: z.string().nullable(),
  /** The most this generation can cost: held from the wallet until it settles. */
  held: micros,
  /** 0 when the stream replays a generation made before (a double submit). */
  maxOutputTokens: z.number().int().nonnegative(),
  model: z.string(),
});

const deltaEvent = z.object({ type: z.literal("delta"), text: z.string() });

const doneEvent = z.object({
  type: z.literal("done"),
  generationId: z.string(),
  /** "running" when the charge could not be recorded yet (it is, later, in the background). */
  status: z.enum(GENERATION_STATUSES),
  cost: micros,
  /** The whole answer as recorded (what the deltas added up to). */
  text: z.string(),
  /** What the page says about the outcome ("You were not charged.", "Stopped after …"), if anything. */
  message: z.string().nullable(),
});

export const textStreamEventSchema = z.discriminatedUnion("type", [startEvent, deltaEvent, doneEvent]);

/** An event as the server emits it and the page reads it (money as BigInt). */
export type TextStreamEvent = z.output<typeof textStreamEventSchema>;

const withoutBigInt = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);

/** One event as a line of the stream. */
export function encodeStreamEvent(event: TextStreamEvent): string {
  return JSON.stringify(event, withoutBigInt) + "\n";
}

/** One line of the stream as an event; throws on anything that is not one (a broken or foreign stream). */
export function decodeStreamEvent(line: string): TextStreamEvent {
  return textStreamEventSchema.parse(JSON.parse(line));
}

/** A refusal before anything ran (4xx/503 JSON): the message, the form field it is about, and why. */
export const streamRefusalSchema = z.object({
  error: z.string(),
  field: z.string().nullable(),
  code: z.string(),
});
export type StreamRefusal = z.output<typeof streamRefusalSchema>;

/** What /api/generations/:id says about one of the member's generations. */
export const generationStateSchema = z.object({
  id: z.string(),
  status: z.enum(GENERATION_STATUSES),
  progress: z.number(),
  cost: micros.nullable(),
  held: micros,
  message: z.string().nullable(),
});
export type GenerationState = z.output<typeof generationStateSchema>;

/** A generation state as the endpoint's JSON body. */
export function encodeGenerationState(state: GenerationState): z.input<typeof generationStateSchema> {
  return { ...state, cost: state.cost === null ? null : state.cost.toString(), held: state.held.toString() };
}
