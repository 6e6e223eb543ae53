import type { AppLoadContext } from "@remix-run/node";

declare module "@remix-run/node" {
  interface AppLoadContext {
    /** Client address: the socket peer, or what trusted proxies vouch for (TRUST_PROXY, ADR 0013). */
    clientIp?: string;
    /** This request's Content-Security-Policy script nonce (server/http.ts). */
    cspNonce?: string;
  }
}

export function clientIp(context: AppLoadContext | undefined): string {
  return context?.clientIp ?? "unknown";
}

export function clientInfo(request: Request, context: AppLoadContext | undefined) {
  return { ip: clientIp(context), userAgent: request.headers.get("user-agent") };
}
