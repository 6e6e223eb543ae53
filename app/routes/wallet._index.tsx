import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import type { EChartsOption } from "echarts";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import {
  CHART_WIDTH,
  longDay,
  SpendChart,
  spendByDayOption,
  spendByModelHeight,
  spendByModelOption,
  type ChartSvgs,
  type ChartVariant,
  type DayPoint,
  type ModelPoint,
} from "#app/components/spend-chart";
import { getWalletBalance } from "#app/models/ledger.server";
import {
  getLowBalanceSettings,
  getSpendByDay,
  getSpendByModel,
  getStatement,
  renderChartSvg,
  setLowBalanceThreshold,
  STATEMENT_PAGE_SIZE,
  type LowBalanceStatus,
  type SpendDay,
  type SpendModel,
} from "#app/models/wallet.server";
import { requireUser, requireVerifiedUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { readForm } from "#app/utils/form.server";
import { formatMoney, MICROS_PER_UNIT, microsToDecimalString, parseAmount, parseInteger } from "#app/utils/money";

export const meta: MetaFunction = () => [{ title: "Wallet · AI Wallet" }];

const SPEND_DAYS = 30;
/** Nobody needs an alert above this (in units of the wallet currency). */
const MAX_THRESHOLD_UNITS = 1_000_000n;

/** Shared by the browser (instant feedback) and the server. Empty = alert off. */
function thresholdSchema(currency: string) {
  return z.object({
    threshold: z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined || value.trim() === "") return null;
        const parsed = parseAmount(value, currency);
        if (!parsed.ok) {
          ctx.addIssue({ code: "custom", message: parsed.error });
          return z.NEVER;
        }
        if (parsed.micros > MAX_THRESHOLD_UNITS * MICROS_PER_UNIT) {
          ctx.addIssue({ code: "custom", message: "That is more than any alert needs: use a smaller amount" });
          return z.NEVER;
        }
        return parsed.micros;
      }),
  });
}

// ---------------------------------------------------------------------------------------------
// Server: the loader draws the charts (renderChartSvg lives in a .server module, so ECharts never
// reaches the browser build).

/** Drawing only: the exact amount is always shown as text beside it. */
const toUnits = (micros: bigint) => Number(micros) / Number(MICROS_PER_UNIT);

function spendCharts(byDay: SpendDay[], byModel: SpendModel[], currency: string) {
  const money = (micros: bigint) => formatMoney(micros, currency);
  const total = byDay.reduce((sum, point) => sum + point.amount, 0n);
  if (total === 0n) return null;
  const days: DayPoint[] = byDay.map((point) => ({
    day: point.day,
    value: toUnits(point.amount),
    label: money(point.amount),
  }));
  const models: ModelPoint[] = byModel.map((point) => ({
    model: point.model === "unknown" ? "Unknown model" : point.model,
    value: toUnits(point.amount),
    label: money(point.amount),
    count: point.count,
  }));
  const busiest = byDay.reduce((best, point) => (point.amount > best.amount ? point : best), byDay[0]!);
  const draw = (build: (variant: ChartVariant) => EChartsOption, height: number): ChartSvgs => ({
    wide: renderChartSvg(build("wide"), CHART_WIDTH.wide, height),
    narrow: renderChartSvg(build("narrow"), CHART_WIDTH.narrow, height),
  });
  const daySvgs = draw((variant) => spendByDayOption(days, variant, currency), 220);
  const modelSvgs = draw((variant) => spendByModelOption(models, variant), spendByModelHeight(models.length));
  const top = models[0];
  return {
    total: money(total),
    byDay: {
      svgs: daySvgs,
      summary: `${money(total)} in the last ${SPEND_DAYS} days (UTC). Busiest day: ${longDay(busiest.day)}, ${money(busiest.amount)}.`,
      rows: days.map((point) => [longDay(point.day), point.label]),
    },
    byModel: {
      svgs: modelSvgs,
      summary: top
        ? `${models.length} ${models.length === 1 ? "model" : "models"} used. Most spent on ${top.model}: ${top.label}.`
        : "",
      rows: models.map((point) => [point.model, point.label, String(point.count)]),
    },
  };
}

const statementDate = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

function signedMoney(micros: bigint, currency: string) {
  if (micros === 0n) return formatMoney(0n, currency);
  return `${micros > 0n ? "+" : "−"}${formatMoney(micros > 0n ? micros : -micros, currency)}`;
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const pageParam = parseInteger(new URL(request.url).searchParams.get("page") ?? "1", { min: 1, max: 1_000_000 });
  const requested = pageParam.ok ? pageParam.value : 1;
  const [balance, statement, byDay, byModel, alert] = await Promise.all([
    getWalletBalance(user.id),
    getStatement(user.id, { page: requested, pageSize: STATEMENT_PAGE_SIZE }),
    getSpendByDay(user.id, SPEND_DAYS),
    getSpendByModel(user.id, SPEND_DAYS),
    getLowBalanceSettings(user.id),
  ]);
  const currency = balance.currency;
  const money = (micros: bigint) => formatMoney(micros, currency);
  // Amounts leave the server as formatted text: no BigInt or float reaches the browser.
  return {
    verified: user.emailVerified,
    currency,
    balance: { available: money(balance.available), held: money(balance.held), hasHeld: balance.held > 0n },
    statement: {
      page: statement.page,
      pageCount: statement.pageCount,
      total: statement.total,
      items: statement.items.map((item) => ({
        id: item.id,
        iso: item.date.toISOString(),
        date: statementDate.format(item.date),
        description: item.description,
        credit: item.amount > 0n,
        amount: signedMoney(item.amount, currency),
        balanceAfter: money(item.balanceAfter),
      })),
    },
    spend: spendCharts(byDay, byModel, currency),
    alert: {
      threshold: alert.threshold === null ? "" : microsToDecimalString(alert.threshold),
      label: alert.threshold === null ? null : money(alert.threshold),
      below: alert.notifiedAt !== null,
    },
  };
}

const STATUS_MESSAGES: Partial<Record<LowBalanceStatus, string>> = {
  off: "Low-balance alert switched off.",
  above: "Saved. We will email you once when your available balance falls below this amount.",
  rearmed: "Saved. We will email you once when your available balance falls below this amount.",
  notified: "Saved. Your available balance is already below this amount: we have just emailed you.",
  already_notified: "Saved. Your available balance is already below this amount.",
};

export async function action({ request }: ActionFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const submission = parseWithZod(await readForm(request), { schema: thresholdSchema(env.WALLET_CURRENCY) });
  if (submission.status !== "success") {
    return data({ result: submission.reply(), message: null }, { status: 400 });
  }
  const status = await setLowBalanceThreshold(user.id, submission.value.threshold);
  return {
    result: submission.reply(),
    message: STATUS_MESSAGES[status] ?? "Saved.",
  };
}

// ---------------------------------------------------------------------------------------------
// Page

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;

export default function WalletPage() {
  const { verified, balance, statement, spend } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-bold">Wallet</h1>

      <section aria-labelledby="balance-heading" className="card">
        <h2 id="balance-heading" className="sr-only">
          Balance
        </h2>
        <div className="flex flex-col gap-6 sm:flex-row sm:items-end sm:justify-between">
          <dl className="flex flex-wrap gap-x-10 gap-y-4">
            <div>
              <dt className="text-sm font-medium text-zinc-600 dark:text-zinc-400">Available</dt>
              <dd className="text-4xl font-bold tracking-tight tabular-nums" data-testid="available-balance">
                {balance.available}
              </dd>
            </div>
            <div>
              <dt className="text-sm font-medium text-zinc-600 dark:text-zinc-400">Held for generations in progress</dt>
              <dd className="text-2xl font-semibold text-zinc-700 tabular-nums dark:text-zinc-300">{balance.held}</dd>
            </div>
          </dl>
          {verified ? (
            <div className="flex flex-col gap-2 sm:items-end">
              <Link to="/wallet/top-up" className="btn-primary">
                Top up
              </Link>
              <Link to="/wallet/top-ups" className="text-sm link">
                Mobile money and bank transfer requests
              </Link>
            </div>
          ) : null}
        </div>
        {verified ? null : (
          <div
            role="status"
            className="mt-5 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
          >
            <p className="font-semibold">Verify your email address to top up</p>
            <p className="mt-1">
              Money can only be added once we know your address is yours.{" "}
              <Link to="/verify" className="font-semibold underline underline-offset-2">
                Verify my email
              </Link>
            </p>
          </div>
        )}
        {balance.hasHeld ? (
          <p className="mt-4 text-sm text-zinc-600 dark:text-zinc-400">
            Held money is reserved for generations that are still running. What they do not use comes back to your
            available balance when they finish.
          </p>
        ) : null}
      </section>

      <section aria-labelledby="spend-heading" className="card">
        <div className="flex flex-wrap items-baseline justify-between gap-2">
          <h2 id="spend-heading" className="text-lg font-semibold">
            Spending, last {SPEND_DAYS} days
          </h2>
          {spend ? <p className="text-sm text-zinc-600 dark:text-zinc-400">Days are UTC calendar days.</p> : null}
        </div>
        {spend ? (
          <div className="mt-4 space-y-8">
            <SpendChart
              id="spend-by-day"
              title="By day"
              summary={spend.byDay.summary}
              svgs={spend.byDay.svgs}
              table={{ caption: "Spent per day (UTC)", columns: ["Day", "Spent"], rows: spend.byDay.rows }}
            />
            <SpendChart
              id="spend-by-model"
              title="By model"
              summary={spend.byModel.summary}
              svgs={spend.byModel.svgs}
              table={{
                caption: "Spent per model",
                columns: ["Model", "Spent", "Generations"],
                rows: spend.byModel.rows,
              }}
            />
          </div>
        ) : (
          <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-400">
            No generations in the last {SPEND_DAYS} days, so nothing to chart yet.
          </p>
        )}
      </section>

      <StatementSection statement={statement} verified={verified} />

      {verified ? <LowBalanceAlert /> : null}
    </div>
  );
}

function StatementSection({ statement, verified }: { statement: LoaderData["statement"]; verified: boolean }) {
  const { items, page, pageCount, total } = statement;
  return (
    <section aria-labelledby="statement-heading" className="card">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id="statement-heading" className="text-lg font-semibold">
          Statement
        </h2>
        {total > 0 ? (
          <a href="/wallet/statement.csv" download className="btn-secondary min-h-9 py-1">
            Download CSV
          </a>
        ) : null}
      </div>
      {total === 0 ? (
        <div className="mt-4 rounded-lg border border-dashed border-zinc-300 px-4 py-8 text-center dark:border-zinc-700">
          <p className="font-medium">No movements yet — top up to get started.</p>
          {verified ? (
            <Link to="/wallet/top-up" className="mt-4 btn-primary">
              Top up
            </Link>
          ) : null}
        </div>
      ) : (
        <>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            Every movement of your wallet, newest first. Times are UTC.
          </p>
          {/* Wide screens: a table. */}
          <table className="mt-4 hidden w-full text-sm sm:table">
            <caption className="sr-only">
              Wallet statement, page {page} of {pageCount}
            </caption>
            <thead>
              <tr className="border-b border-zinc-200 text-left text-zinc-600 dark:border-zinc-800 dark:text-zinc-400">
                <th scope="col" className="py-2 pr-4 font-medium">
                  Date (UTC)
                </th>
                <th scope="col" className="py-2 pr-4 font-medium">
                  Description
                </th>
                <th scope="col" className="py-2 pr-4 text-right font-medium">
                  Amount
                </th>
                <th scope="col" className="py-2 text-right font-medium">
                  Balance after
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => (
                <tr key={item.id} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800">
                  <td className="py-2 pr-4 whitespace-nowrap text-zinc-600 dark:text-zinc-400">
                    <time dateTime={item.iso}>{item.date}</time>
                  </td>
                  <td className="py-2 pr-4">{item.description}</td>
                  <td
                    className={`py-2 pr-4 text-right whitespace-nowrap tabular-nums ${
                      item.credit ? "font-semibold text-emerald-700 dark:text-emerald-400" : ""
                    }`}
                  >
                    {item.amount}
                  </td>
                  <td className="py-2 text-right whitespace-nowrap tabular-nums">{item.balanceAfter}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {/* Phones: the same movements as a list. */}
          <ul className="mt-4 divide-y divide-zinc-100 sm:hidden dark:divide-zinc-800" aria-label="Wallet statement">
            {items.map((item) => (
              <li key={item.id} className="flex items-start justify-between gap-3 py-3">
                <div className="min-w-0">
                  <p className="text-[15px] leading-snug font-medium">{item.description}</p>
                  <p className="mt-0.5 text-[13px] text-zinc-600 dark:text-zinc-400">
                    <time dateTime={item.iso}>{item.date}</time> UTC
                  </p>
                </div>
                <div className="shrink-0 text-right">
                  <p
                    className={`tabular-nums ${item.credit ? "font-semibold text-emerald-700 dark:text-emerald-400" : "font-medium"}`}
                  >
                    <span className="sr-only">Amount </span>
                    {item.amount}
                  </p>
                  <p className="text-sm text-zinc-600 tabular-nums dark:text-zinc-400">
                    <span className="sr-only">Balance after </span>
                    <span aria-hidden="true">Bal. </span>
                    {item.balanceAfter}
                  </p>
                </div>
              </li>
            ))}
          </ul>
          {pageCount > 1 ? (
            <nav aria-label="Statement pages" className="mt-4 flex items-center justify-between gap-2 text-sm">
              {page > 1 ? (
                <Link to={`?page=${page - 1}`} className="btn-secondary min-h-9 py-1" rel="prev" preventScrollReset>
                  ← Newer
                </Link>
              ) : (
                <span />
              )}
              <p aria-current="page">
                Page {page} of {pageCount}
              </p>
              {page < pageCount ? (
                <Link to={`?page=${page + 1}`} className="btn-secondary min-h-9 py-1" rel="next" preventScrollReset>
                  Older →
                </Link>
              ) : (
                <span />
              )}
            </nav>
          ) : null}
        </>
      )}
    </section>
  );
}

function LowBalanceAlert() {
  const { alert, currency } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const schema = thresholdSchema(currency);
  const [form, fields] = useForm({
    id: "low-balance",
    lastResult: actionData?.result,
    defaultValue: { threshold: alert.threshold },
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <section aria-labelledby="alert-heading" className="card">
      <h2 id="alert-heading" className="text-lg font-semibold">
        Low-balance alert
      </h2>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        {alert.label
          ? `On: we email you once when your available balance falls below ${alert.label}, and again only after it has gone back above.`
          : "Off. Choose an amount and we will email you once when your available balance falls below it."}
      </p>
      {alert.label && alert.below && !actionData?.message ? (
        <p className="mt-2 text-sm font-medium text-amber-800 dark:text-amber-300">
          Your available balance is below {alert.label} now. You will hear from us again after it has gone back above.
        </p>
      ) : null}
      {actionData?.message ? <FormMessage tone="success" errors={[actionData.message]} /> : null}
      <Form method="post" className="mt-4 flex flex-col gap-3 sm:flex-row sm:items-start" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <div className="sm:w-64">
          <Field
            label={`Alert below (${currency})`}
            hint="Leave empty to switch the alert off."
            errors={fields.threshold.errors}
            inputProps={{
              ...getInputProps(fields.threshold, { type: "text" }),
              inputMode: "decimal",
              autoComplete: "off",
            }}
          />
        </div>
        <SubmitButton pendingText="Saving…" className="btn-primary sm:mt-6">
          Save alert
        </SubmitButton>
      </Form>
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
