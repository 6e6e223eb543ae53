// Cross-site request forgery guard, applied by the HTTP server to every request before Remix sees it.
// Browsers send Origin on every non-GET fetch/form post (and Sec-Fetch-Site); a state change that comes
// from another origin is refused. Requests with neither header are not from a browser page.
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

// Paths called by other servers (signed webhooks), which prove themselves differently.
const EXEMPT_PREFIXES = ["/webhooks/"];

export function isForbiddenCrossOrigin(
  request: { method: string; path: string; origin?: string | null; secFetchSite?: string | null },
  allowedOrigins: string[],
): boolean {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return false;
  if (EXEMPT_PREFIXES.some((prefix) => request.path.startsWith(prefix))) return false;
  if (request.origin) return !allowedOrigins.includes(request.origin);
  if (request.secFetchSite) return request.secFetchSite === "cross-site" || request.secFetchSite === "same-site";
  return false;
}
