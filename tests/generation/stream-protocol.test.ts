import { describe, expect, it } from "vitest";
import {
  decodeStreamEvent,
  encodeGenerationState,
  encodeStreamEvent,
  generationStateSchema,
  type TextStreamEvent,
} from "#app/utils/generation-stream";

// The text stream's wire protocol is one schema for the route that writes it and the page that reads it:
// what one side encodes, the other decodes to the same value, and anything else is refused.
describe("the text stream protocol", () => {
  const events: TextStreamEvent[] = [
    {
      type: "start",
      generationId: "g1",
      conversationId: null,
      held: 12_345_678_901_234_567n,
      maxOutputTokens: 512,
      model: "Demo",
    },
    { type: "delta", text: "Hello\nworld" },
    { type: "done", generationId: "g1", status: "partial", cost: 42n, text: "Hello\nworld", message: "Stopped." },
  ];

  it("round-trips every event, money as exact BigInt, one line each", () => {
    for (const event of events) {
      const line = encodeStreamEvent(event);
      expect(line.endsWith("\n")).toBe(true);
      expect(line.slice(0, -1)).not.toContain("\n");
      expect(decodeStreamEvent(line.slice(0, -1))).toEqual(event);
    }
    expect(encodeStreamEvent(events[0]!)).toContain('"held":"12345678901234567"');
  });

  it("refuses a line that is not an event of the protocol", () => {
    for (const line of [
      "not json",
      '{"type":"delta"}',
      '{"type":"done","generationId":"g","status":"exploded","cost":"1","text":"","message":null}',
      '{"type":"start","generationId":"g","conversationId":null,"held":1.5,"maxOutputTokens":1,"model":"m"}',
      '{"type":"surprise"}',
    ]) {
      expect(() => decodeStreamEvent(line), line).toThrow();
    }
  });

  it("encodes a generation's state the way the page parses it", () => {
    const state = { id: "g1", status: "succeeded" as const, progress: 100, cost: 7n, held: 9n, message: null };
    expect(generationStateSchema.parse(JSON.parse(JSON.stringify(encodeGenerationState(state))))).toEqual(state);
  });
});
