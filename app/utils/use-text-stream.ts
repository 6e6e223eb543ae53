import { useCallback, useEffect, useRef, useState } from "react";
import { decodeStreamEvent, generationStateSchema, streamRefusalSchema } from "./generation-stream";

// Sends a prompt to /api/generate/text and follows the answer as it streams (newline-delimited JSON, the
// protocol of generation-stream.ts, checked event by event: a line that is not one ends the stream as a
// lost connection).
// Stop aborts the request: the server then stops the model and charges only what was delivered; the hook
// asks /api/generations/:id what that came to, so the page can say it.

export type StreamStatus = "idle" | "sending" | "streaming" | "settling" | "done" | "refused";

export type StreamState = {
  status: StreamStatus;
  text: string;
  generationId: string | null;
  conversationId: string | null;
  held: bigint | null;
  cost: bigint | null;
  /** "succeeded" | "partial" | "failed" | "cancelled" once done ("running" when the charge is not recorded yet). */
  outcome: string | null;
  /** What the page says about the outcome ("You were not charged", …). */
  message: string | null;
  /** A refusal before anything ran: the message and the form field it is about. */
  error: { message: string; field: string | null; code: string } | null;
};

const INITIAL: StreamState = {
  status: "idle",
  text: "",
  generationId: null,
  conversationId: null,
  held: null,
  cost: null,
  outcome: null,
  message: null,
  error: null,
};

async function settledOutcome(generationId: string): Promise<Partial<StreamState>> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const response = await fetch(`/api/generations/${generationId}`, { headers: { accept: "application/json" } });
    if (response.ok) {
      const state = generationStateSchema.safeParse(await response.json());
      if (state.success && state.data.status !== "running" && state.data.status !== "queued") {
        return { outcome: state.data.status, cost: state.data.cost, message: state.data.message };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { message: "Stopped. The charge for the part produced will show in your history." };
}

export function useTextStream(onFinished?: (state: StreamState) => void) {
  const [state, setState] = useState<StreamState>(INITIAL);
  const controller = useRef<AbortController | null>(null);
  const finished = useRef(onFinished);
  finished.current = onFinished;

  useEffect(() => () => controller.current?.abort(), []);

  const start = useCallback(async (body: FormData) => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    let current: StreamState = { ...INITIAL, status: "sending" };
    const update = (next: Partial<StreamState>) => {
      current = { ...current, ...next };
      setState(current);
    };
    update({});
    try {
      const response = await fetch("/api/generate/text", { method: "POST", body, signal: abort.signal });
      const type = response.headers.get("content-type") ?? "";
      if (!response.ok || !type.includes("ndjson")) {
        const body = type.includes("json") ? streamRefusalSchema.safeParse(await response.json()) : null;
        const refusal = body?.success
          ? body.data
          : { error: "Something went wrong. Please try again.", field: null, code: "http" };
        update({ status: "refused", error: { message: refusal.error, field: refusal.field, code: refusal.code } });
        return;
      }
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline;
        let text = current.text;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const event = decodeStreamEvent(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
          if (event.type === "start") {
            update({
              status: "streaming",
              generationId: event.generationId,
              conversationId: event.conversationId,
              held: event.held,
            });
          } else if (event.type === "delta") {
            text += event.text;
          } else {
            text = event.text;
            update({ status: "done", outcome: event.status, cost: event.cost, message: event.message });
          }
        }
        // One render per network chunk, not per token.
        if (text !== current.text) update({ text });
      }
      if (current.status !== "done") update({ status: "done" });
    } catch (error) {
      if (abort.signal.aborted && current.generationId) {
        update({ status: "settling" });
        update({ status: "done", ...(await settledOutcome(current.generationId)) });
      } else if (abort.signal.aborted) {
        update({ status: "done", outcome: "cancelled", cost: 0n, message: "Stopped. You were not charged." });
      } else {
        update({
          status: current.generationId ? "done" : "refused",
          message: "The connection was lost. Check your history for the result.",
          error: current.generationId
            ? null
            : {
                message: error instanceof Error ? "The connection failed. Please try again." : "",
                field: null,
                code: "network",
              },
        });
      }
    } finally {
      if (controller.current === abort) controller.current = null;
      finished.current?.(current);
    }
  }, []);

  const stop = useCallback(() => controller.current?.abort(), []);
  const reset = useCallback(() => setState(INITIAL), []);

  return { state, start, stop, reset };
}
