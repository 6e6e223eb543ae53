import type { IncomingMessage } from "node:http";
import ipaddr from "ipaddr.js";
import proxyaddr from "proxy-addr";

// Which proxies in front of the app may speak for the client (docs/decisions/0013-proxy-trust.md).
// X-Forwarded-For is a list each proxy appends to: only the entries written by proxies we trust are
// believed, read from the right; the left-most entries are whatever the client sent.

/** false: no proxy; a number: that many proxies in front of the app; a list: their addresses/ranges. */
export type TrustProxy = false | number | readonly string[];

export type TrustFunction = (address: string, hop: number) => boolean;

const NAMED_RANGES = new Set(["loopback", "linklocal", "uniquelocal"]);
const MAX_HOPS = 32;

export const TRUST_PROXY_HELP =
  "set the number of proxies in front of the app (e.g. 1), or their addresses and ranges " +
  "(e.g. loopback, 10.0.0.0/8, 2001:db8::/32); false (the default) when clients connect directly";

/** TRUST_PROXY as written in the environment. */
export function parseTrustProxy(
  text: string | undefined,
): { ok: true; value: TrustProxy } | { ok: false; error: string } {
  const value = (text ?? "").trim().toLowerCase();
  if (value === "" || value === "false" || value === "off" || value === "0") return { ok: true, value: false };
  if (value === "true" || value === "on" || value === "yes") {
    // Express's "trust everything": the client's own left-most X-Forwarded-For would be its address.
    return {
      ok: false,
      error: `"${value}" is no longer accepted (it let clients choose their address): ${TRUST_PROXY_HELP}`,
    };
  }
  if (/^-?\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > MAX_HOPS)
      return { ok: false, error: `a hop count is 1 to ${MAX_HOPS}: ${TRUST_PROXY_HELP}` };
    return { ok: true, value: hops };
  }
  const entries = value.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    if (NAMED_RANGES.has(entry)) continue;
    try {
      proxyaddr.compile(entry);
    } catch {
      return { ok: false, error: `"${entry}" is not an address, a range or a known name: ${TRUST_PROXY_HELP}` };
    }
  }
  return { ok: true, value: entries };
}

/** The trust function proxy-addr walks the X-Forwarded-For list with, or null when no proxy is trusted. */
export function compileTrust(setting: TrustProxy): TrustFunction | null {
  if (setting === false) return null;
  if (typeof setting === "number") return (_address, hop) => hop < setting;
  return proxyaddr.compile([...setting]);
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) as `192.0.2.1`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  if (!address.toLowerCase().startsWith("::ffff:") || !ipaddr.IPv6.isValid(address)) return address;
  const parsed = ipaddr.IPv6.parse(address);
  return parsed.isIPv4MappedAddress() ? parsed.toIPv4Address().toString() : address;
}

export type ForwardedClient = {
  /** The client's address: the socket's peer, or the first address a trusted proxy vouches for. */
  ip: string;
  /** http/https as the outermost trusted proxy received the request, when it said so. */
  protocol: "http" | "https" | null;
  /** Host as the outermost trusted proxy received it, when it said so. */
  host: string | null;
};

/**
 * The client as the trusted proxies describe it. X-Forwarded-Proto and -Host are read like
 * X-Forwarded-For: counted from the right, the entry of the outermost trusted proxy (the one the client
 * connected to); when a proxy overwrites rather than appends and the list is shorter, its left-most entry.
 */
export function forwardedClient(req: IncomingMessage, trust: TrustFunction | null): ForwardedClient {
  const socketAddress = unmapIPv4(req.socket.remoteAddress ?? "unknown");
  if (!trust) return { ip: socketAddress, protocol: null, host: null };
  const chain = proxyaddr.all(req, trust);
  // chain[0] is the socket's peer; each further one was vouched for by the one before it.
  let client = chain.length - 1;
  // An entry that is not an address (a client's junk passed through) vouches for nothing.
  while (client > 0 && !ipaddr.isValid(chain[client]!)) client -= 1;
  const trustedHops = client;
  if (trustedHops === 0) return { ip: socketAddress, protocol: null, host: null };
  const protocol = entryOfHop(req.headers["x-forwarded-proto"], trustedHops)?.toLowerCase();
  return {
    ip: unmapIPv4(chain[client]!),
    protocol: protocol === "http" || protocol === "https" ? protocol : null,
    host: entryOfHop(req.headers["x-forwarded-host"], trustedHops),
  };
}

/** The entry written by the hops-th proxy counted from the app (1 = nearest), from a comma list. */
function entryOfHop(header: string | string[] | undefined, hops: number): string | null {
  const text = Array.isArray(header) ? header.join(",") : header;
  if (!text) return null;
  const entries = text.split(",").map((entry) => entry.trim());
  const entry = entries[Math.max(0, entries.length - hops)];
  return entry || null;
}
