// Helpers for tests that read emails (outbox rows or fake-Resend request bodies).

/** The first standalone 8-digit code in the text, or null. */
export function extractCode(text: string): string | null {
  return /(?<!\d)(\d{8})(?!\d)/.exec(text)?.[1] ?? null;
}

/** The first http(s) link in the text, or null. Trailing punctuation such as ")" or "." is not included. */
export function extractLink(text: string): string | null {
  const match = /https?:\/\/[^\s<>"')\]]+/.exec(text)?.[0];
  return match ? match.replace(/[.,;:!?]+$/, "") : null;
}
