import type { AppLoadContext } from "@remix-run/node";

declare module "@remix-run/node" {
  interface AppLoadContext {
    /** Client address as seen by the HTTP server (X-Forwarded-For only when TRUST_PROXY is on). */
    clientIp?: string;
  }
}

export function clientIp(context: AppLoadContext | undefined): string {
  return context?.clientIp ?? "unknown";
}

export function clientInfo(request: Request, context: AppLoadContext | undefined) {
  return { ip: clientIp(context), userAgent: request.headers.get("user-agent") };
}
