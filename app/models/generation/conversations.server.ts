import type { Generation } from "@prisma/client";
import type { FilePart, Message } from "#providers/index";
import { prisma } from "#app/utils/db.server";
import { readAllBytes } from "#app/utils/storage.server";
import { outcomeMessage } from "./lifecycle.server";
import type { Attachment } from "./start.server";

// Conversations: the turns a chat model sees again, and the chat page's view of them.

export type Turn = { id: string; prompt: string; outputText: string | null; files: FilePart[] };

/**
 * The visible turns of a conversation: answered generations (whole, partial or stopped) not replaced by
 * a regenerated answer. A partial answer reached the member and was charged, so the model sees it too.
 */
export async function conversationTurns(userId: string, conversationId: string): Promise<Turn[]> {
  const rows = await prisma.generation.findMany({
    where: { userId, conversationId, deletedAt: null, status: { in: ["succeeded", "partial", "cancelled"] } },
    orderBy: { createdAt: "asc" },
    include: { files: { where: { role: "input" }, include: { file: true }, orderBy: { position: "asc" } } },
  });
  const replaced = new Set(rows.map((row) => row.regeneratesId).filter(Boolean));
  const turns: Turn[] = [];
  for (const row of rows) {
    if (replaced.has(row.id)) continue;
    const files: FilePart[] = [];
    for (const link of row.files) {
      const bytes = await readAllBytes(link.file.storageKey);
      if (bytes)
        files.push({
          type: "file",
          mediaType: link.file.mediaType,
          data: bytes,
          filename: link.file.originalName ?? undefined,
        });
    }
    turns.push({ id: row.id, prompt: row.prompt, outputText: row.outputText, files });
  }
  return turns;
}

export function toMessages(turns: Turn[], prompt: string, files: Attachment[]): Message[] {
  const messages: Message[] = [];
  for (const turn of turns) {
    messages.push({ role: "user", content: [{ type: "text", text: turn.prompt }, ...turn.files] });
    if (turn.outputText) messages.push({ role: "assistant", content: [{ type: "text", text: turn.outputText }] });
  }
  messages.push({
    role: "user",
    content: [
      { type: "text", text: prompt },
      ...files.map((file): FilePart => ({
        type: "file",
        mediaType: file.mediaType,
        data: file.bytes,
        filename: file.filename,
      })),
    ],
  });
  return messages;
}

/** A chat's title: its first prompt, on one line, shortened. */
export function titleFrom(prompt: string): string {
  const line = prompt.replace(/\s+/g, " ").trim();
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || "New chat";
}

export type ChatTurn = {
  id: string;
  prompt: string;
  outputText: string | null;
  modelId: string;
  modelLabel: string;
  status: Generation["status"];
  cost: bigint | null;
  message: string | null;
  files: Array<{ id: string; mediaType: string; name: string | null }>;
  createdAt: Date;
};

/** A member's conversation with its visible turns (a regenerated answer replaces the one before). */
export async function getConversation(userId: string, conversationId: string) {
  const conversation = await prisma.conversation.findFirst({ where: { id: conversationId, userId } });
  if (!conversation) return null;
  const rows = await prisma.generation.findMany({
    where: { userId, conversationId, deletedAt: null },
    orderBy: { createdAt: "asc" },
    include: { files: { where: { role: "input" }, include: { file: true }, orderBy: { position: "asc" } } },
  });
  const replaced = new Set(rows.map((row) => row.regeneratesId).filter(Boolean));
  const turns: ChatTurn[] = rows
    .filter((row) => !replaced.has(row.id))
    .map((row) => ({
      id: row.id,
      prompt: row.prompt,
      outputText: row.outputText,
      modelId: row.modelId,
      modelLabel: row.modelLabel,
      status: row.status,
      cost: row.cost,
      message: outcomeMessage(row),
      files: row.files.map((link) => ({
        id: link.file.id,
        mediaType: link.file.mediaType,
        name: link.file.originalName,
      })),
      createdAt: row.createdAt,
    }));
  const total = rows.reduce((sum, row) => sum + (row.cost ?? 0n), 0n);
  return { id: conversation.id, title: conversation.title, turns, total };
}
