import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Await, Link, useLoaderData } from "@remix-run/react";
import { Suspense } from "react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { getAdminOverview } from "#app/models/admin-members.server";
import { checkInvariants } from "#app/models/ledger.server";
import { requireRole } from "#app/utils/auth.server";
import { formatMoney } from "#app/utils/money";

export const meta: MetaFunction = () => [{ title: "Admin — AI Wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireRole(request, ["admin", "support"]);
  // The invariant check scans the whole ledger: it streams in after the counts (single fetch sends
  // the promise), so the page itself stays fast.
  const ledger = checkInvariants().then(
    (report) => ({ ok: report.ok, checks: report.checks.length, problems: report.problems.slice(0, 20) }),
    () => ({ ok: false, checks: 0, problems: [{ check: "the check itself", detail: "could not run; see the logs" }] }),
  );
  const overview = await getAdminOverview();
  const money = (micros: bigint) => formatMoney(micros, overview.currency);
  return {
    isAdmin: user.role === "admin",
    members: overview.members,
    money: {
      walletBalances: money(overview.money.walletBalances),
      walletHeld: money(overview.money.walletHeld),
      openHolds: overview.money.openHolds,
      openHoldsAmount: money(overview.money.openHoldsAmount),
      topUps30d: money(overview.money.topUps30d),
      topUps30dCount: overview.money.topUps30dCount,
      generationRevenue30d: money(overview.money.generationRevenue30d),
      generationCharges30d: overview.money.generationCharges30d,
    },
    generations24h: overview.generations24h,
    ledger,
  };
}

function Stat({ label, value, detail }: { label: string; value: string | number; detail?: string }) {
  return (
    <div className="rounded-lg bg-zinc-50 px-3 py-2 dark:bg-zinc-800">
      <dt className="text-xs text-zinc-600 dark:text-zinc-400">{label}</dt>
      <dd className="text-lg font-bold break-words">{value}</dd>
      {detail ? <dd className="text-xs text-zinc-600 dark:text-zinc-400">{detail}</dd> : null}
    </div>
  );
}

export default function AdminOverview() {
  const { isAdmin, members, money, generations24h, ledger } = useLoaderData<typeof loader>();
  const links = [
    { to: "/admin/members", label: "Members", detail: "Find a member, view the wallet, adjust, disable, roles" },
    { to: "/admin/top-ups", label: "Manual top-ups", detail: "Approve or reject mobile money and bank transfers" },
    ...(isAdmin ? [{ to: "/admin/models", label: "Models", detail: "Enable models, set prices and markup" }] : []),
    { to: "/admin/audit", label: "Audit log", detail: "Every sensitive action, with before and after" },
    { to: "/admin/contact", label: "Contact messages", detail: "Messages from the contact form" },
  ];
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <h1 className="text-2xl font-bold">Admin</h1>

      <nav aria-label="Admin sections">
        <ul className="grid gap-3 sm:grid-cols-2">
          {links.map((link) => (
            <li key={link.to}>
              <Link to={link.to} className="block card hover:border-brand-500">
                <span className="font-semibold">{link.label}</span>
                <span className="block text-sm text-zinc-600 dark:text-zinc-400">{link.detail}</span>
              </Link>
            </li>
          ))}
        </ul>
      </nav>

      <section aria-labelledby="ledger-heading" className="space-y-2 card">
        <h2 id="ledger-heading" className="text-lg font-semibold">
          Ledger invariants
        </h2>
        <Suspense fallback={<p className="text-sm">Checking the ledger…</p>}>
          <Await resolve={ledger} errorElement={<p className="text-sm">The check could not run.</p>}>
            {(report) =>
              report.ok ? (
                <p className="text-sm font-semibold text-emerald-700 dark:text-emerald-400">
                  All {report.checks} checks pass.
                </p>
              ) : (
                <div role="alert" className="space-y-1 text-sm text-red-800 dark:text-red-300">
                  <p className="font-semibold">Problems found: run `npm run ledger:check` for the full report.</p>
                  <ul className="list-disc pl-5">
                    {report.problems.map((problem, index) => (
                      <li key={index} className="break-words">
                        {problem.check}: <span className="font-mono">{problem.detail}</span>
                      </li>
                    ))}
                  </ul>
                </div>
              )
            }
          </Await>
        </Suspense>
      </section>

      <section aria-labelledby="members-heading" className="space-y-2 card">
        <h2 id="members-heading" className="text-lg font-semibold">
          Members
        </h2>
        <dl className="grid grid-cols-1 gap-2 min-[360px]:grid-cols-3">
          <Stat label="Accounts" value={members.total} />
          <Stat label="Verified" value={members.verified} />
          <Stat label="Disabled" value={members.disabled} />
        </dl>
      </section>

      <section aria-labelledby="money-heading" className="space-y-2 card">
        <h2 id="money-heading" className="text-lg font-semibold">
          Money
        </h2>
        <dl className="grid grid-cols-1 gap-2 sm:grid-cols-2">
          <Stat label="In member wallets" value={money.walletBalances} detail={`${money.walletHeld} of it held`} />
          <Stat
            label="Open holds"
            value={money.openHolds}
            detail={`${money.openHoldsAmount} reserved for running generations`}
          />
          <Stat label="Top-ups, last 30 days" value={money.topUps30d} detail={`${money.topUps30dCount} top-ups`} />
          <Stat
            label="Generation revenue, last 30 days"
            value={money.generationRevenue30d}
            detail={`${money.generationCharges30d} charges`}
          />
        </dl>
      </section>

      <section aria-labelledby="generations-heading" className="space-y-2 card">
        <h2 id="generations-heading" className="text-lg font-semibold">
          Generations, last 24 hours
        </h2>
        {generations24h.length === 0 ? (
          <p className="text-sm">None.</p>
        ) : (
          <dl className="grid grid-cols-2 gap-2 sm:grid-cols-3">
            {generations24h.map((row) => (
              <Stat key={row.status} label={row.status} value={row.count} />
            ))}
          </dl>
        )}
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
