import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { type AuditFilters, listAuditEvents } from "#app/models/admin-members.server";
import { requireRole } from "#app/utils/auth.server";
import { formatDateTime } from "#app/utils/dates";
import { Pager } from "#app/components/pager";

export const meta: MetaFunction = () => [{ title: "Audit log — Admin — AI Wallet" }];

const FILTER_KEYS = ["action", "actor", "target", "from", "to"] as const;

/** Where a target can be looked at in the console, when it has a page. */
function targetHref(targetType: string | null, targetId: string | null) {
  if (!targetId) return null;
  if (targetType === "user") return `/admin/members/${encodeURIComponent(targetId)}`;
  if (targetType === "manual_top_up") return `/admin/top-ups/${encodeURIComponent(targetId)}`;
  if (targetType === "catalog_model") return `/admin/models/${encodeURIComponent(targetId)}`;
  if (targetType === "contact_message") return "/admin/contact";
  return null;
}

export async function loader({ request }: LoaderFunctionArgs) {
  await requireRole(request, ["admin", "support"]);
  const params = new URL(request.url).searchParams;
  const filters: AuditFilters = {};
  for (const key of FILTER_KEYS) filters[key] = (params.get(key) ?? "").slice(0, 200);
  const list = await listAuditEvents(filters, Number(params.get("page") ?? "1"));
  return {
    filters,
    actions: list.actions,
    total: list.total,
    page: list.page,
    pageCount: list.pageCount,
    events: list.items.map((item) => ({
      ...item,
      createdAt: item.createdAt.toISOString(),
      when: `${formatDateTime(item.createdAt, { seconds: true })}`,
      href: targetHref(item.targetType, item.targetId),
    })),
  };
}

function pageLink(filters: AuditFilters, page: number) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) params.set(key, filters[key]);
  if (page > 1) params.set("page", String(page));
  const search = params.toString();
  return search ? `/admin/audit?${search}` : "/admin/audit";
}

function Json({ label, text }: { label: string; text: string | null }) {
  if (text === null) return null;
  return (
    <div className="min-w-0">
      <p className="text-xs font-medium text-zinc-600 dark:text-zinc-400">{label}</p>
      <pre className="mt-1 max-h-64 overflow-auto rounded-lg bg-zinc-50 p-2 text-xs break-words whitespace-pre-wrap dark:bg-zinc-800">
        {text}
      </pre>
    </div>
  );
}

export default function AdminAudit() {
  const { filters, actions, total, page, pageCount, events } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin" className="link">
          ‹ Admin
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-bold">Audit log</h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          Every sensitive action: who, what, when, from where, before and after. {total} event
          {total === 1 ? "" : "s"} match.
        </p>
      </div>

      <Form method="get" className="grid gap-3 card sm:grid-cols-2">
        <div>
          <label htmlFor="audit-action" className="mb-1 block text-sm font-medium">
            Action
          </label>
          <select id="audit-action" name="action" defaultValue={filters.action} className="input">
            <option value="">Any action</option>
            {actions.map((action) => (
              <option key={action} value={action}>
                {action}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="audit-actor" className="mb-1 block text-sm font-medium">
            Actor email (or part of it)
          </label>
          <input id="audit-actor" name="actor" type="search" defaultValue={filters.actor} className="input" />
        </div>
        <div className="sm:col-span-2">
          <label htmlFor="audit-target" className="mb-1 block text-sm font-medium">
            Target id
          </label>
          <input
            id="audit-target"
            name="target"
            type="search"
            defaultValue={filters.target}
            className="input font-mono"
            autoComplete="off"
          />
        </div>
        <div>
          <label htmlFor="audit-from" className="mb-1 block text-sm font-medium">
            From (UTC day)
          </label>
          <input id="audit-from" name="from" type="date" defaultValue={filters.from} className="input" />
        </div>
        <div>
          <label htmlFor="audit-to" className="mb-1 block text-sm font-medium">
            To (UTC day, included)
          </label>
          <input id="audit-to" name="to" type="date" defaultValue={filters.to} className="input" />
        </div>
        <div className="flex flex-wrap gap-2 sm:col-span-2">
          <button type="submit" className="btn-primary">
            Filter
          </button>
          <Link to="/admin/audit" className="btn-secondary">
            Clear
          </Link>
        </div>
      </Form>

      {events.length === 0 ? (
        <p className="card text-sm">No events match.</p>
      ) : (
        <ol className="space-y-3">
          {events.map((event) => (
            <li key={event.id} className="space-y-2 card">
              <div className="flex flex-wrap items-baseline justify-between gap-2">
                <p className="font-mono text-sm font-semibold">{event.action}</p>
                <time dateTime={event.createdAt} className="text-xs text-zinc-600 dark:text-zinc-400">
                  {event.when}
                </time>
              </div>
              <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
                <dt className="text-zinc-600 dark:text-zinc-400">Actor</dt>
                <dd className="break-all">{event.actorEmail ?? "system / command line"}</dd>
                {event.targetId ? (
                  <>
                    <dt className="text-zinc-600 dark:text-zinc-400">Target</dt>
                    <dd className="break-all">
                      {event.targetType ? `${event.targetType} ` : ""}
                      {event.href ? (
                        <Link to={event.href} className="font-mono link">
                          {event.targetId}
                        </Link>
                      ) : (
                        <span className="font-mono">{event.targetId}</span>
                      )}
                    </dd>
                  </>
                ) : null}
                <dt className="text-zinc-600 dark:text-zinc-400">IP</dt>
                <dd className="font-mono break-all">{event.ip ?? "—"}</dd>
              </dl>
              {event.before !== null || event.after !== null ? (
                <div className="grid gap-2 sm:grid-cols-2">
                  <Json label="Before" text={event.before} />
                  <Json label="After" text={event.after} />
                </div>
              ) : null}
            </li>
          ))}
        </ol>
      )}

      <Pager page={page} pageCount={pageCount} hrefFor={(target) => pageLink(filters, target)} />
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
