import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Await, Link, useLoaderData } from "@remix-run/react";
import type { EChartsOption } from "echarts";
import { Suspense } from "react";
import {
  ReportChart,
  revenueByDayOption,
  revenueByModelHeight,
  revenueByModelOption,
  type RevenueModelPoint,
} from "#app/components/admin-charts";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { CHART_WIDTH, longDay, type ChartSvgs, type ChartVariant } from "#app/components/spend-chart";
import { getAdminOverview } from "#app/models/admin-members.server";
import { getRevenueReport, marginBps, type RevenueFigures, type RevenueReport } from "#app/models/admin-reports.server";
import { checkInvariants } from "#app/models/ledger.server";
import { renderChartSvg } from "#app/models/wallet.server";
import { requireRole } from "#app/utils/auth.server";
import { formatMoney, MICROS_PER_UNIT } from "#app/utils/money";

export const meta: MetaFunction = () => [{ title: "Admin — AI Wallet" }];

// ---------------------------------------------------------------------------------------------
// Server: revenue vs. provider cost, drawn to SVG in the loader (ECharts never reaches the browser).

/** Drawing only: chart geometry needs numbers; every amount shown as text is formatted from BigInt. */
const toUnits = (micros: bigint) => Number(micros) / Number(MICROS_PER_UNIT);

/** "Mon 26 Oct": short enough for the figures table on a phone (the window is stated above it). */
const tableDay = (day: string) =>
  new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" }).format(
    new Date(`${day}T00:00:00Z`),
  );

function percent(figure: Pick<RevenueFigures, "revenue" | "margin">): string | null {
  const bps = marginBps(figure);
  return bps === null ? null : `${(bps / 100).toFixed(1)} %`;
}

function revenueCharts(report: RevenueReport, currency: string) {
  const money = (micros: bigint) => formatMoney(micros, currency);
  const { totals } = report;
  const headline = {
    revenue: money(totals.revenue),
    providerCost: money(totals.providerCost),
    margin: money(totals.margin),
    marginPercent: percent(totals),
    generations: totals.generations,
    withoutProviderCost: totals.withoutProviderCost,
    usageEstimated: report.usageEstimated,
  };
  const range = `${longDay(report.byDay[0]!.day)} to ${longDay(report.byDay.at(-1)!.day)}`;
  if (totals.generations === 0) return { days: report.days, range, headline, charts: null };

  const draw = (build: (variant: ChartVariant) => EChartsOption, height: number): ChartSvgs => ({
    wide: renderChartSvg(build("wide"), CHART_WIDTH.wide, height),
    narrow: renderChartSvg(build("narrow"), CHART_WIDTH.narrow, height),
  });
  const dayPoints = report.byDay.map((day) => ({
    day: day.day,
    revenue: toUnits(day.revenue),
    providerCost: toUnits(day.providerCost),
  }));
  const modelPoints: RevenueModelPoint[] = report.byModel.map((model) => ({
    model: model.model,
    revenue: toUnits(model.revenue),
    providerCost: toUnits(model.providerCost),
    revenueLabel: money(model.revenue),
    providerCostLabel: money(model.providerCost),
  }));
  const busiest = report.byDay.reduce((best, day) => (day.revenue > best.revenue ? day : best), report.byDay[0]!);
  const top = report.byModel[0];
  // Two lines in a cell ("\n"): the figures table fits a phone without a fifth column.
  const marginCell = (figure: RevenueFigures) => {
    const share = percent(figure);
    return share ? `${money(figure.margin)}\n${share}` : money(figure.margin);
  };
  return {
    days: report.days,
    range,
    headline,
    charts: {
      byDay: {
        svgs: draw((variant) => revenueByDayOption(dayPoints, variant, currency), 220),
        summary: `Revenue ${headline.revenue} against ${headline.providerCost} of provider cost over the last ${report.days} days (UTC). Best day: ${longDay(busiest.day)}, ${money(busiest.revenue)} of revenue.`,
        rows: report.byDay.map((day) => [
          tableDay(day.day),
          money(day.revenue),
          money(day.providerCost),
          money(day.margin),
        ]),
      },
      byModel: {
        svgs: draw((variant) => revenueByModelOption(modelPoints, variant), revenueByModelHeight(modelPoints.length)),
        summary: top
          ? `${report.byModel.length} ${report.byModel.length === 1 ? "model" : "models"} charged. Most revenue: ${top.model}, ${money(top.revenue)} against ${money(top.providerCost)} of provider cost. Each bar is labelled revenue / provider cost.`
          : "",
        rows: report.byModel.map((model) => [
          `${model.model}\n${model.generations} ${model.generations === 1 ? "generation" : "generations"}` +
            (model.usageEstimated ? `, ${model.usageEstimated} with usage estimated` : ""),
          money(model.revenue),
          money(model.providerCost),
          marginCell(model),
        ]),
      },
    },
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireRole(request, ["admin", "support"]);
  // The invariant check scans the whole ledger: it streams in after the counts (single fetch sends
  // the promise), so the page itself stays fast.
  const ledger = checkInvariants().then(
    (report) => ({ ok: report.ok, checks: report.checks.length, problems: report.problems.slice(0, 20) }),
    () => ({ ok: false, checks: 0, problems: [{ check: "the check itself", detail: "could not run; see the logs" }] }),
  );
  const [overview, report] = await Promise.all([getAdminOverview(), getRevenueReport()]);
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
    revenue: revenueCharts(report, overview.currency),
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
  const { isAdmin, members, money, generations24h, revenue, ledger } = useLoaderData<typeof loader>();
  const links = [
    { to: "/admin/members", label: "Members", detail: "Find a member, view the wallet, adjust, disable, roles" },
    { to: "/admin/top-ups", label: "Manual top-ups", detail: "Approve or reject mobile money and bank transfers" },
    ...(isAdmin ? [{ to: "/admin/models", label: "Models", detail: "Enable models, set prices and markup" }] : []),
    {
      to: "/admin/ledger",
      label: "Ledger explorer",
      detail: "Accounts, entries and transfers; run the invariant check",
    },
    {
      to: "/admin/support",
      label: "Support access",
      detail: "Items members have shared with support, for a limited time",
    },
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

      <section aria-labelledby="revenue-heading" className="min-w-0 space-y-4 card">
        <div className="space-y-1">
          <h2 id="revenue-heading" className="text-lg font-semibold">
            Revenue vs. provider cost, last {revenue.days} days
          </h2>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {revenue.range} (UTC). From settled generations, by the day they finished: revenue is what members were
            charged, provider cost what the vendors bill us for the same usage (the catalog price without markup).
          </p>
        </div>
        <dl className="grid grid-cols-1 gap-2 sm:grid-cols-3">
          <Stat
            label="Revenue"
            value={revenue.headline.revenue}
            detail={`${revenue.headline.generations} generations`}
          />
          <Stat label="Provider cost" value={revenue.headline.providerCost} />
          <Stat
            label="Margin"
            value={revenue.headline.margin}
            detail={revenue.headline.marginPercent ? `${revenue.headline.marginPercent} of revenue` : undefined}
          />
        </dl>
        {revenue.headline.withoutProviderCost > 0 ? (
          <p className="text-sm text-amber-900 dark:text-amber-200">
            {revenue.headline.withoutProviderCost} of these generations were settled before provider cost was recorded:
            they count as 0 provider cost, so the margin is overstated by their cost.
          </p>
        ) : null}
        {revenue.headline.usageEstimated > 0 ? (
          <p className="text-sm text-amber-900 dark:text-amber-200" data-testid="usage-estimated">
            Usage estimated for {revenue.headline.usageEstimated} of these generations: the provider reported no usage
            (or none for the end of a stream cut short), so they were charged from our upper bound, one token per byte
            of text. Their provider cost is estimated the same way.
          </p>
        ) : null}
        {revenue.charts ? (
          <div className="space-y-6">
            <ReportChart
              id="revenue-by-day"
              title="By day"
              summary={revenue.charts.byDay.summary}
              svgs={revenue.charts.byDay.svgs}
              table={{
                caption: `Revenue, provider cost and margin per day (UTC), ${revenue.range}`,
                columns: ["Day", "Revenue", "Provider cost", "Margin"],
                rows: revenue.charts.byDay.rows,
              }}
            />
            <ReportChart
              id="revenue-by-model"
              title="By model"
              summary={revenue.charts.byModel.summary}
              svgs={revenue.charts.byModel.svgs}
              table={{
                caption: `Revenue, provider cost and margin per model, ${revenue.range}`,
                columns: ["Model", "Revenue", "Provider cost", "Margin"],
                rows: revenue.charts.byModel.rows,
              }}
            />
          </div>
        ) : (
          <p className="rounded-lg bg-zinc-50 px-3 py-4 text-sm dark:bg-zinc-800">
            No settled generations in the last {revenue.days} days: nothing to chart yet.
          </p>
        )}
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
