import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { MODALITY_LABEL, StatusBadge } from "#app/components/generation-output";
import { formatExpiry, timeLeft } from "#app/components/support-access";
import { listGenerationsForSupport } from "#app/models/support-access.server";
import { requireRole } from "#app/utils/auth.server";
import { clientIp } from "#app/utils/request.server";
import { formatDateTime } from "#app/utils/dates";
import { Pager } from "#app/components/pager";

export const meta: MetaFunction = () => [{ title: "Member history — Support access — Admin — AI Wallet" }];

// A member's generations, while the member's whole-history grant runs: model, kind, status and date only;
// the content is on each generation's page. Without such a grant: 404. Each listing is audited
// (support.browse).
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const staff = await requireRole(request, ["admin", "support"]);
  const page = Number(new URL(request.url).searchParams.get("page") ?? "1");
  const list = await listGenerationsForSupport(staff, params.id ?? "", { page, ip: clientIp(context) });
  if (!list) throw new Response("Not Found", { status: 404 });
  const now = new Date();
  return {
    member: list.member,
    grant: {
      expiresIso: list.grant.expiresAt.toISOString(),
      expires: formatExpiry(list.grant.expiresAt),
      left: timeLeft(list.grant.expiresAt, now),
    },
    total: list.total,
    page: list.page,
    pageCount: list.pageCount,
    items: list.items.map((item) => ({
      id: item.id,
      modality: item.modality,
      modelLabel: item.modelLabel,
      status: item.status,
      createdIso: item.createdAt.toISOString(),
      created: `${formatDateTime(item.createdAt)}`,
    })),
  };
}

export default function SupportMemberHistory() {
  const { member, grant, total, page, pageCount, items } = useLoaderData<typeof loader>();
  const pageLink = (to: number) =>
    `/admin/support/members/${encodeURIComponent(member.id)}${to > 1 ? `?page=${to}` : ""}`;
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/support" className="link">
          ‹ Support access
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-bold break-words">{member.displayName}&apos;s history</h1>
        <p className="text-sm break-all text-zinc-600 dark:text-zinc-400">{member.email}</p>
      </div>
      <p className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
        The member lets support see their whole history until <time dateTime={grant.expiresIso}>{grant.expires}</time> (
        {grant.left}). Opening a generation is recorded in the audit log.
      </p>
      {items.length === 0 ? (
        <p className="card text-sm">This member has no generations.</p>
      ) : (
        <>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {total} generation{total === 1 ? "" : "s"}, newest first.
          </p>
          <ul className="space-y-2" aria-label="Generations">
            {items.map((item) => (
              <li key={item.id} className="flex flex-wrap items-center justify-between gap-2 card">
                <div className="min-w-0">
                  <p className="font-medium">
                    <Link to={`/admin/support/${encodeURIComponent(item.id)}`} className="link">
                      {MODALITY_LABEL[item.modality]} · {item.modelLabel}
                    </Link>
                  </p>
                  <p className="text-sm text-zinc-600 dark:text-zinc-400">
                    <time dateTime={item.createdIso}>{item.created}</time>
                  </p>
                </div>
                <StatusBadge status={item.status} />
              </li>
            ))}
          </ul>
        </>
      )}
      <Pager page={page} pageCount={pageCount} hrefFor={pageLink} />
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
