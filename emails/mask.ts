/**
 * Masks an email address for display in notices, e.g. "jane@example.com" -> "j***@example.com".
 * Keeps the first character of the local part and the whole domain so the owner can recognise it.
 */
export function maskEmail(address: string): string {
  const trimmed = address.trim();
  const at = trimmed.lastIndexOf("@");
  if (at <= 0 || at === trimmed.length - 1) return "***";
  const local = trimmed.slice(0, at);
  const domain = trimmed.slice(at + 1);
  return `${Array.from(local)[0]}***@${domain}`;
}
