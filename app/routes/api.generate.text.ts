import type { ActionFunctionArgs } from "@remix-run/node";
import {
  GenerationRefused,
  prepareText,
  refusalStatus,
  streamText,
  type TextEvent,
} from "#app/models/generation.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import { databaseUnavailableResponse } from "#app/utils/database-outage.server";
import { isDatabaseUnavailable } from "#app/utils/db.server";
import { readGenerationRequest } from "#app/utils/generation-request.server";
import { encodeStreamEvent, STREAM_CONTENT_TYPE, type StreamRefusal } from "#app/utils/generation-stream";
import { logger } from "#app/utils/logger.server";

// POST a prompt (multipart: fields + file0…file4) and read the answer as it is written: newline-delimited
// JSON events (start, delta…, done; the protocol is app/utils/generation-stream.ts). Closing the
// connection stops the model; only what was produced is charged. A refused request answers 4xx JSON
// { error, field, code } and nothing is held or sent upstream.

function refused(status: number, error: string, field: string | null = null, code = "invalid") {
  const headers: Record<string, string> = { "Cache-Control": "no-store" };
  if (status === 503) headers["Retry-After"] = "5";
  return Response.json({ error, field, code } satisfies StreamRefusal, { status, headers });
}

export async function action(args: ActionFunctionArgs) {
  try {
    return await run(args);
  } catch (error) {
    // The database is away (the session check, the hold): 503 with Retry-After, nothing was held.
    if (isDatabaseUnavailable(error)) return databaseUnavailableResponse(args.request);
    throw error;
  }
}

async function run({ request }: ActionFunctionArgs) {
  const user = await requireVerifiedUser(request);
  if (request.method !== "POST") return refused(405, "Use POST.");

  const read = await readGenerationRequest(request);
  if (!read.ok) return refused(read.status, read.error, read.field, read.code);
  const { input, files } = read;
  let prepared;
  try {
    prepared = await prepareText({
      userId: user.id,
      requestId: input.requestId,
      modelId: input.model,
      prompt: input.prompt,
      files,
      maxOutputTokens: input.maxOutputTokens,
      temperature: input.temperature,
      costCap: input.costCap,
      conversationId: input.conversationId,
      regeneratesId: input.regeneratesId,
      compareGroup: input.compareGroup,
    });
  } catch (error) {
    if (error instanceof GenerationRefused) {
      return refused(refusalStatus(error.code), error.message, error.field, error.code);
    }
    throw error;
  }

  const headers = {
    "Content-Type": STREAM_CONTENT_TYPE,
    // no-transform keeps the compression middleware from buffering the stream.
    "Cache-Control": "no-store, no-transform",
    "X-Accel-Buffering": "no",
  };

  if (prepared.replayed) {
    // The same submit again: describe the generation it already made instead of running it twice.
    const row = prepared.row;
    const events: TextEvent[] = [
      {
        type: "start",
        generationId: row.id,
        conversationId: row.conversationId,
        held: row.heldAmount,
        maxOutputTokens: 0,
        model: row.modelLabel,
      },
      {
        type: "done",
        generationId: row.id,
        status: row.status,
        cost: row.cost ?? 0n,
        text: row.outputText ?? "",
        message: row.status === "running" ? "This request is still running." : null,
      },
    ];
    return new Response(events.map(encodeStreamEvent).join(""), { headers });
  }

  const encoder = new TextEncoder();
  const upstream = new AbortController();
  request.signal.addEventListener("abort", () => upstream.abort(), { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      const emit = (event: TextEvent) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(encodeStreamEvent(event)));
        } catch {
          open = false;
        }
      };
      // The generation settles whether or not anyone is still reading. streamText never rejects (a charge it
      // cannot record is retried later); the catch is for a bug, so it can never end the process.
      void streamText(prepared, emit, upstream.signal)
        .catch((error: unknown) => logger.error("generation.stream_failed", { generationId: prepared.row.id, error }))
        .finally(() => {
          if (open) controller.close();
          open = false;
        });
    },
    cancel() {
      upstream.abort();
    },
  });
  return new Response(body, { headers });
}
