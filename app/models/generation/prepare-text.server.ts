import type { Generation } from "@prisma/client";
import type { Message } from "#providers/index";
import type { CatalogEntry } from "#app/utils/catalog";
import { newId, prisma } from "#app/utils/db.server";
import { estimateInputTokens, estimateText } from "#app/utils/pricing";
import { conversationTurns, titleFrom, toMessages, type Turn } from "./conversations.server";
import { findGeneration } from "./queries.server";
import { capRefusal, GenerationRefused } from "./refusals.server";
import { HOLD_GRACE_MS, timeoutMs } from "./settings.server";
import {
  checkAttachments,
  lookUpRequest,
  requireModel,
  startGeneration,
  storeInputs,
  undoStart,
  type Attachment,
} from "./start.server";

// A text request checked, priced and held, with its row written ("running"); nothing is sent upstream
// yet (stream-text.server.ts does that).

export type TextInput = {
  userId: string;
  requestId: string;
  modelId: string;
  prompt: string;
  files: Attachment[];
  maxOutputTokens?: number;
  temperature?: number;
  costCap?: bigint | null;
  /** Continue this conversation (must be the member's). */
  conversationId?: string | null;
  /** Answer this turn again (must be the last turn of its conversation). */
  regeneratesId?: string | null;
  compareGroup?: string | null;
};

export type PreparedText =
  | { replayed: true; row: Generation }
  | {
      replayed: false;
      row: Generation;
      entry: CatalogEntry;
      messages: Message[];
      maxOutputTokens: number;
      temperature?: number;
      /** Our upper bound on the input tokens (the hold's), billed only when the provider reports none. */
      inputTokenBound: number;
    };

/** The earlier turns the model sees, the prompt, and the conversation this turn belongs to. */
async function contextOf(input: TextInput) {
  let prompt = input.prompt;
  let conversationId = input.conversationId ?? null;
  let turns: Turn[] = [];
  if (input.regeneratesId) {
    const original = await findGeneration(input.userId, input.regeneratesId);
    if (!original || original.deletedAt || original.modality !== "text") {
      throw new GenerationRefused("not_found", null, "That answer no longer exists.");
    }
    prompt = original.prompt;
    conversationId = original.conversationId;
    if (conversationId) {
      const all = await conversationTurns(input.userId, conversationId);
      const index = all.findIndex((turn) => turn.id === original.id);
      turns = index >= 0 ? all.slice(0, index) : all;
    }
  } else if (conversationId) {
    const conversation = await prisma.conversation.findFirst({ where: { id: conversationId, userId: input.userId } });
    if (!conversation) throw new GenerationRefused("not_found", null, "That conversation no longer exists.");
    turns = await conversationTurns(input.userId, conversationId);
  }
  return { prompt, conversationId, turns };
}

/** Checks, prices and holds a text request; nothing is sent upstream yet. */
export async function prepareText(input: TextInput): Promise<PreparedText> {
  const [existing, found] = await lookUpRequest(input.userId, input.requestId, input.modelId);
  if (existing) return { replayed: true, row: existing };

  const entry = requireModel(found, "text");
  const caps = entry.capabilities;
  checkAttachments(entry, input.files);
  // Models that take no temperature (the page hides the field) are called without one.
  const temperature = caps.temperature ? input.temperature : undefined;

  const { prompt, turns, ...context } = await contextOf(input);
  let conversationId = context.conversationId;
  const messages = toMessages(turns, prompt, input.files);
  const texts = messages.flatMap((message) =>
    message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])),
  );
  const files = messages.flatMap((message) =>
    message.content.flatMap((part) =>
      part.type === "file" ? [{ mediaType: part.mediaType, size: part.data.byteLength }] : [],
    ),
  );
  const inputTokens = estimateInputTokens(texts, files, caps);
  if (inputTokens >= caps.contextWindow) {
    throw new GenerationRefused(
      "too_long",
      "prompt",
      `This conversation is too long for ${entry.label}. Start a new chat or attach fewer files.`,
    );
  }
  let maxOutputTokens = Math.min(input.maxOutputTokens ?? caps.defaultOutputTokens, caps.maxOutputTokens);
  let held = estimateText(entry.price, inputTokens, maxOutputTokens);
  const cap = input.costCap ?? null;
  if (cap !== null && held > cap) {
    // Ask for fewer output tokens so the most it can cost fits the member's limit.
    let low = 0;
    let high = maxOutputTokens;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (estimateText(entry.price, inputTokens, mid) <= cap) low = mid;
      else high = mid - 1;
    }
    if (low < 1) throw capRefusal(estimateText(entry.price, inputTokens, 1), cap);
    maxOutputTokens = low;
    held = estimateText(entry.price, inputTokens, maxOutputTokens);
  }

  // A first turn starts a conversation, created together with the generation row.
  const newConversationTitle = !conversationId && !input.compareGroup ? titleFrom(prompt) : null;
  if (newConversationTitle) conversationId = newId();

  const { row, replayed } = await startGeneration(
    {
      userId: input.userId,
      requestId: input.requestId,
      conversationId,
      regeneratesId: input.regeneratesId ?? null,
      compareGroup: input.compareGroup ?? null,
      modelId: entry.id,
      modelLabel: entry.label,
      modality: "text",
      status: "running",
      prompt,
      params: {
        maxOutputTokens,
        ...(temperature !== undefined ? { temperature } : {}),
        files: input.files.length,
      },
      costCap: cap,
      heldAmount: held,
      startedAt: new Date(),
      newConversationTitle,
    },
    new Date(Date.now() + timeoutMs() + HOLD_GRACE_MS),
  );
  if (replayed) return { replayed: true, row };
  try {
    await storeInputs(input.userId, row.id, input.files);
    // A conversation created just above is already fresh; an existing one moves to the top of the list.
    if (conversationId && (input.conversationId || input.regeneratesId)) {
      await prisma.conversation.update({ where: { id: conversationId }, data: { updatedAt: new Date() } });
    }
    return { replayed: false, row, entry, messages, maxOutputTokens, temperature, inputTokenBound: inputTokens };
  } catch (error) {
    throw await undoStart(row, error);
  }
}
