import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { listMembers } from "#app/models/admin-members.server";
import { requireRole } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";
import { Pager } from "#app/components/pager";

export const meta: MetaFunction = () => [{ title: "Members — Admin — AI Wallet" }];

const dateFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" });

export async function loader({ request }: LoaderFunctionArgs) {
  await requireRole(request, ["admin", "support"]);
  const params = new URL(request.url).searchParams;
  const list = await listMembers({ q: params.get("q") ?? "", page: Number(params.get("page") ?? "1") });
  const currency = env.WALLET_CURRENCY;
  return {
    q: list.q,
    total: list.total,
    page: list.page,
    pageCount: list.pageCount,
    members: list.items.map((member) => ({
      id: member.id,
      email: member.email,
      displayName: member.displayName,
      role: member.role,
      createdAt: dateFormat.format(member.createdAt),
      verified: member.emailVerifiedAt !== null,
      disabled: member.disabledAt !== null,
      balance: formatMoney(member.balance, currency),
    })),
  };
}

function pageLink(q: string, page: number) {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (page > 1) params.set("page", String(page));
  const search = params.toString();
  return search ? `/admin/members?${search}` : "/admin/members";
}

export default function AdminMembers() {
  const { q, total, page, pageCount, members } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin" className="link">
          ‹ Admin
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-bold">Members</h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {total === 0
            ? "No member matches."
            : `${total} member${total === 1 ? "" : "s"}${q ? ` matching “${q}”` : ""}.`}
        </p>
      </div>
      <Form method="get" role="search" className="flex flex-col gap-2 card sm:flex-row sm:items-end">
        <div className="min-w-0 flex-1">
          <label htmlFor="member-search" className="mb-1 block text-sm font-medium">
            Email, name or member id
          </label>
          <input id="member-search" name="q" type="search" defaultValue={q} className="input" autoComplete="off" />
        </div>
        <button type="submit" className="btn-primary">
          Search
        </button>
      </Form>

      {members.length === 0 ? (
        <p className="card text-sm">No members to show.</p>
      ) : (
        <ul className="space-y-3">
          {members.map((member) => (
            <li key={member.id} className="card">
              <div className="flex flex-wrap items-start justify-between gap-2">
                <div className="min-w-0">
                  <p className="font-semibold">
                    <Link to={`/admin/members/${member.id}`} className="link">
                      {member.displayName}
                    </Link>
                  </p>
                  <p className="text-sm break-all text-zinc-600 dark:text-zinc-400">{member.email}</p>
                </div>
                <p className="font-semibold">{member.balance}</p>
              </div>
              <p className="mt-2 flex flex-wrap gap-1 text-xs">
                <span className="rounded-full bg-zinc-100 px-2 py-0.5 capitalize dark:bg-zinc-800">{member.role}</span>
                {member.verified ? (
                  <span className="rounded-full bg-emerald-100 px-2 py-0.5 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100">
                    verified
                  </span>
                ) : (
                  <span className="rounded-full bg-amber-100 px-2 py-0.5 text-amber-900 dark:bg-amber-900 dark:text-amber-100">
                    unverified
                  </span>
                )}
                {member.disabled ? (
                  <span className="rounded-full bg-red-600 px-2 py-0.5 font-semibold text-white">disabled</span>
                ) : null}
                <span className="px-1 text-zinc-600 dark:text-zinc-400">joined {member.createdAt}</span>
              </p>
            </li>
          ))}
        </ul>
      )}

      <Pager page={page} pageCount={pageCount} hrefFor={(target) => pageLink(q, target)} />
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
