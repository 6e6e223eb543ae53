import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { listSecurityEvents } from "#app/models/account.server";
import { requireUser } from "#app/utils/auth.server";
import { formatDateTime } from "#app/utils/dates";
import { Pager } from "#app/components/pager";

export const meta: MetaFunction = () => [{ title: "Security · Settings · AI Wallet" }];

// Formatted on the server, in UTC, so the page reads the same before and after hydration.

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const page = Number(new URL(request.url).searchParams.get("page") ?? "1");
  const list = await listSecurityEvents(user.id, page);
  return {
    total: list.total,
    page: list.page,
    pageCount: list.pageCount,
    events: list.items.map((item) => ({
      id: item.id,
      sentence: item.sentence,
      // Staff are never named on this page; the sentence says "An administrator".
      actor: item.actor,
      ip: item.ip,
      createdAt: item.createdAt.toISOString(),
      when: `${formatDateTime(item.createdAt)}`,
    })),
  };
}

function pageLink(page: number) {
  return page > 1 ? `/settings/security?page=${page}` : "/settings/security";
}

export default function SecuritySettings() {
  const { total, page, pageCount, events } = useLoaderData<typeof loader>();
  return (
    <section aria-labelledby="security-heading" className="space-y-4">
      <div>
        <h2 id="security-heading" className="text-lg font-semibold">
          Security activity
        </h2>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          Sign-ins from new devices, password and email changes, signed-out devices, support access to what you shared,
          and changes an administrator made to your account. If something here was not you,{" "}
          <Link className="link" to="/settings/password">
            change your password
          </Link>{" "}
          and{" "}
          <Link className="link" to="/settings/sessions">
            sign out other devices
          </Link>
          .
        </p>
      </div>
      {events.length === 0 ? (
        <p className="card text-sm">
          Nothing yet. Sign-ins from new devices and changes to your account will show here.
        </p>
      ) : (
        <ol className="space-y-3" aria-label={`${total} security event${total === 1 ? "" : "s"}`}>
          {events.map((event) => (
            <li key={event.id} className="card">
              <p className="font-medium break-words">{event.sentence}</p>
              <p className="mt-1 text-sm break-words text-zinc-600 dark:text-zinc-400">
                <time dateTime={event.createdAt}>{event.when}</time>
                {event.ip ? <> · IP {event.ip}</> : null}
              </p>
            </li>
          ))}
        </ol>
      )}
      <Pager page={page} pageCount={pageCount} hrefFor={pageLink} />
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
