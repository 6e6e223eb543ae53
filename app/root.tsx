import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import {
  data,
  Link,
  Links,
  LiveReload,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteLoaderData,
} from "@remix-run/react";
import type { ReactNode } from "react";
import { z } from "zod";
import { AppHeader } from "#app/components/app-header";
import { AppUrlNotice } from "#app/components/app-url-notice";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { getAuth } from "#app/utils/auth.server";
import { useNonce } from "#app/utils/csp-nonce";
import { env } from "#app/utils/env.server";
import stylesheet from "#app/styles/tailwind.css";

// Zod probes once for `new Function` (its faster, compiled parsing); under our CSP (no 'unsafe-eval') the
// probe is a reported violation in the browser. The browser skips it; the server keeps the compiled path.
if (typeof document !== "undefined") z.config({ jitless: true });

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export const meta: MetaFunction = () => [
  { title: "AI Wallet — many AI models, one prepaid wallet" },
  { name: "description", content: "Run prompts and files through many AI models and pay only for what you use." },
];

export async function loader({ request }: LoaderFunctionArgs) {
  const auth = await getAuth(request);
  const user = auth.user
    ? { displayName: auth.user.displayName, role: auth.user.role, emailVerified: auth.user.emailVerified }
    : null;
  return data(
    {
      user,
      devOutbox: !env.isProduction && !env.RESEND_API_KEY,
      // Development accepts the address the browser used (server/http.ts); production only APP_URL's.
      appOrigin: env.isProduction ? new URL(env.APP_URL).origin : null,
    },
    auth.setCookie ? { headers: { "Set-Cookie": auth.setCookie } } : undefined,
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const root = useRouteLoaderData<typeof loader>("root");
  const nonce = useNonce();
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body className="flex min-h-dvh flex-col">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:p-3">
          Skip to content
        </a>
        <AppUrlNotice appOrigin={root?.appOrigin ?? null} />
        <AppHeader user={root?.user ?? null} />
        <main id="main" className="mx-auto w-full max-w-5xl flex-1 px-4 py-8 [overflow-wrap:anywhere]">
          {children}
        </main>
        <footer className="border-t border-zinc-200 px-4 py-6 text-center text-sm text-zinc-600 dark:border-zinc-800 dark:text-zinc-400">
          <nav aria-label="Legal" className="mb-2 flex flex-wrap justify-center gap-x-4 gap-y-2">
            <Link className="link" to="/pricing">
              Pricing
            </Link>
            <Link className="link" to="/contact">
              Contact
            </Link>
            <Link className="link" to="/privacy">
              Privacy
            </Link>
            <Link className="link" to="/terms">
              Terms
            </Link>
          </nav>
          AI Wallet · open source and self-hostable
          {root?.devOutbox ? (
            <>
              {" · "}
              <a className="link" href="/dev/outbox">
                Dev outbox
              </a>
            </>
          ) : null}
        </footer>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
        {/* Renders nothing outside `remix dev`. */}
        <LiveReload nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
