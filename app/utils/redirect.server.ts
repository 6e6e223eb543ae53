import { env } from "./env.server";

// The one place that turns a target someone else chose (`?redirectTo=`, a cookie, a form field) into a
// Location header. Browsers forgive a lot in a URL: they drop tabs and newlines (`/\t/evil.example` is
// `//evil.example`), read `\` as `/`, and resolve `/.//evil.example` to a path that starts with `//`.
// So the target is resolved against APP_URL with the URL parser, must land on our own origin, and the
// answer is rebuilt from the parsed parts as a path that cannot be read as another host.

const MAX_TARGET_LENGTH = 2048;
// Control characters (C0, DEL, C1), invisible format characters (bidi marks, zero-width joiners), any
// Unicode space or line separator, and the backslash. Once decoded, a plain space may appear (a search
// query such as `?q=two%20words`); the parser re-encodes it, so it cannot change where the path leads.
const FORBIDDEN_RAW = /[\p{Cc}\p{Cf}\p{Z}\\]/u;
const FORBIDDEN_DECODED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\]|[^\S ]/u;

function decodedForms(target: string): string[] {
  // `%09` or `%5C` would be harmless as a path, but whoever decodes the value once more (a proxy,
  // another redirect) would get the dangerous form, so the decoded forms must be clean too.
  const forms: string[] = [];
  let current = target;
  for (let round = 0; round < 3 && current.includes("%"); round += 1) {
    try {
      current = decodeURIComponent(current);
    } catch {
      return forms; // Not valid percent-encoding: the parser below keeps it as literal text.
    }
    forms.push(current);
  }
  return forms;
}

/**
 * A path on this app to send the browser to after sign-in (or any step that returns somewhere), or
 * `fallback` when the target is missing, malformed, or would leave the app's origin.
 */
export function safeRedirectPath(to: FormDataEntryValue | string | null | undefined, fallback = "/"): string {
  if (typeof to !== "string" || to.length === 0 || to.length > MAX_TARGET_LENGTH) return fallback;
  if (FORBIDDEN_RAW.test(to) || decodedForms(to).some((form) => FORBIDDEN_DECODED.test(form))) return fallback;
  const base = new URL(env.APP_URL);
  let url: URL;
  try {
    url = new URL(to, base);
  } catch {
    return fallback;
  }
  if (url.origin !== base.origin || url.username || url.password) return fallback;
  // `/.//evil.example` parses to the path `//evil.example`: sent as it is, that is another host.
  if (!url.pathname.startsWith("/") || url.pathname.startsWith("//")) return fallback;
  return url.pathname + url.search + url.hash;
}
