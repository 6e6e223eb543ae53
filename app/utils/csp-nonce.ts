import { createContext, useContext } from "react";

// The request's Content-Security-Policy nonce (server/http.ts makes one per request and names it in the
// policy's script-src): every inline script the server renders must carry it. Provided by
// entry.server.tsx; in the browser there is none to give (browsers hide it from scripts anyway), and
// scripts added after hydration are not inline.
const NonceContext = createContext<string | undefined>(undefined);

export const NonceProvider = NonceContext.Provider;

export function useNonce(): string | undefined {
  return useContext(NonceContext);
}
