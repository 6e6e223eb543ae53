import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, Outlet, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { countPendingNotifications } from "#app/notifications/delivery.server";
import { isOutboxEnabled, listOutbox } from "#app/utils/email.server";

export const meta: MetaFunction = () => [{ title: "Dev outbox · AI Wallet" }];

// Development only: emails that would have been sent. Production answers 404.
function requireOutbox() {
  if (!isOutboxEnabled()) throw new Response("Not Found", { status: 404 });
}

export async function loader({ request }: LoaderFunctionArgs) {
  requireOutbox();
  const to = new URL(request.url).searchParams.get("to") ?? undefined;
  const [emails, queued] = await Promise.all([listOutbox({ to, take: 50 }), countPendingNotifications()]);
  return {
    queued,
    emails: emails.map(({ id, to, subject, tag, createdAt }) => ({
      id,
      to,
      subject,
      tag,
      createdAt: createdAt.toISOString(),
    })),
  };
}

export default function DevOutbox() {
  const { emails, queued } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Dev outbox</h1>
        <p className="mt-1 text-zinc-600 dark:text-zinc-400">
          No RESEND_API_KEY is set, so emails land here instead of being sent. Newest first.
        </p>
        {queued > 0 ? (
          <p className="mt-1 text-zinc-600 dark:text-zinc-400">
            {queued === 1 ? "1 email is" : `${queued} emails are`} queued: the background job puts them here within
            seconds (unless BACKGROUND_JOBS is off in this process and no other instance runs it).
          </p>
        ) : null}
      </div>
      <Outlet />
      {emails.length === 0 ? (
        <p className="card text-zinc-600 dark:text-zinc-400">
          No emails yet. Sign up to see a verification email here.
        </p>
      ) : (
        <ul className="divide-y divide-zinc-200 card p-0 dark:divide-zinc-800">
          {emails.map((email) => (
            <li key={email.id}>
              <Link to={email.id} className="block px-4 py-3 hover:bg-zinc-50 dark:hover:bg-zinc-800">
                <span className="block font-medium">{email.subject}</span>
                <span className="block text-sm text-zinc-600 dark:text-zinc-400">
                  to {email.to} · {email.tag} ·{" "}
                  <time dateTime={email.createdAt}>{new Date(email.createdAt).toLocaleString()}</time>
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
