import type { LoaderFunctionArgs } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { getOutboxEmail, isOutboxEnabled } from "#app/utils/email.server";

export async function loader({ params }: LoaderFunctionArgs) {
  if (!isOutboxEnabled()) throw new Response("Not Found", { status: 404 });
  const email = await getOutboxEmail(params.id ?? "");
  if (!email) throw new Response("Not Found", { status: 404 });
  return { to: email.to, subject: email.subject, html: email.html, text: email.text };
}

export default function OutboxEmail() {
  const email = useLoaderData<typeof loader>();
  return (
    <article className="space-y-4 card">
      <header>
        <h2 className="text-lg font-semibold">{email.subject}</h2>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">to {email.to}</p>
      </header>
      {/* The HTML is our own template's output, shown sandboxed with no scripts. */}
      <iframe
        title="Email preview"
        sandbox=""
        srcDoc={email.html}
        className="h-[28rem] w-full rounded-lg border border-zinc-200 bg-white"
      />
      <ul className="space-y-1 text-sm" aria-label="Links in this email">
        {Array.from(new Set(email.text.match(/https?:\/\/[^\s)\]]+/g) ?? [])).map((href) => (
          <li key={href}>
            <a href={href} className="link break-all">
              {href}
            </a>
          </li>
        ))}
      </ul>
      <details>
        <summary className="cursor-pointer text-sm font-medium">Plain-text part</summary>
        <pre className="mt-2 overflow-x-auto text-sm whitespace-pre-wrap">{email.text}</pre>
      </details>
    </article>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
