import { ProviderError, type FilePart, type Message } from "./types";

// What every chat adapter does the same way with attached files: normalise the media type, send text
// files as text (the vendors read them best that way), refuse what the model cannot read.

/** Media types sent as text parts (besides text/*). */
const TEXT_TYPES = new Set(["application/json", "application/xml", "application/x-yaml", "application/yaml"]);

/** "Image/PNG; charset=x" → "image/png". */
export function baseMediaType(part: FilePart): string {
  return part.mediaType.toLowerCase().split(";")[0]!.trim();
}

export function base64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}

/** A text file as "name:\n\ncontent", or undefined when the file is not text. Not UTF-8 → invalid_request. */
export function textOfFile(part: FilePart, provider: string): string | undefined {
  const mediaType = baseMediaType(part);
  if (!mediaType.startsWith("text/") && !TEXT_TYPES.has(mediaType)) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(part.data);
  } catch {
    throw new ProviderError("invalid_request", provider, { detail: "text file is not UTF-8" });
  }
  return `${part.filename ?? "Attached file"}:\n\n${text}`;
}

export function unsupportedFile(provider: string): ProviderError {
  return new ProviderError("invalid_request", provider, {
    detail: "unsupported file type",
    userMessage: "This model cannot read that type of file.",
  });
}

/** A system or assistant message's text; files are only allowed in user messages. */
export function onlyText(message: Message, provider: string): string {
  return message.content
    .map((part) => {
      if (part.type !== "text") {
        throw new ProviderError("invalid_request", provider, { detail: `file in ${message.role} message` });
      }
      return part.text;
    })
    .join("\n\n");
}
