import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { listLedgerAccounts, platformAccountLabel, runInvariantCheck } from "#app/models/admin-reports.server";
import { requireRole } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";
import { formatDateTime } from "#app/utils/dates";
import { Pager } from "#app/components/pager";

export const meta: MetaFunction = () => [{ title: "Ledger — Admin — AI Wallet" }];

// Defined here, not imported from Prisma: module scope is bundled for the browser too.
const KINDS = ["platform", "wallet"] as const;
const KIND_LABEL: Record<(typeof KINDS)[number], string> = { platform: "Platform", wallet: "Member wallet" };

// Filters come from a GET form or a shared link: a value that makes no sense is dropped, never an error.
const SearchSchema = z.object({
  kind: z.enum(KINDS).optional().catch(undefined),
  q: z.string().trim().max(200).optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(1_000_000).optional().catch(undefined),
  check: z.literal("1").optional().catch(undefined),
});

export async function loader({ request }: LoaderFunctionArgs) {
  await requireRole(request, ["admin", "support"]);
  const search = SearchSchema.parse(Object.fromEntries(new URL(request.url).searchParams));
  // The check reads the whole ledger: it runs only when asked for (the button), never on a plain visit.
  const [list, check] = await Promise.all([
    listLedgerAccounts({ kind: search.kind, q: search.q, page: search.page }),
    search.check ? runInvariantCheck() : null,
  ]);
  const currency = env.WALLET_CURRENCY;
  const money = (micros: bigint) => formatMoney(micros, currency);
  return {
    kind: list.kind,
    q: list.q,
    total: list.total,
    page: list.page,
    pageCount: list.pageCount,
    sums: {
      platform: money(list.sums.platform.balance),
      wallets: money(list.sums.wallet.balance),
      walletsHeld: money(list.sums.wallet.held),
      together: money(list.sums.platform.balance + list.sums.wallet.balance),
      balanced: list.sums.platform.balance + list.sums.wallet.balance === 0n,
    },
    accounts: list.items.map((account) => ({
      id: account.id,
      kind: account.kind,
      label: account.kind === "platform" ? (platformAccountLabel(account.id) ?? "Platform account") : null,
      owner: account.user
        ? { id: account.user.id, displayName: account.user.displayName, email: account.user.email }
        : null,
      balance: formatMoney(account.balance, account.currency),
      held: account.held > 0n ? formatMoney(account.held, account.currency) : null,
    })),
    check: check
      ? {
          ok: check.ok,
          ranAt: formatDateTime(check.ranAt, { seconds: true }),
          failed: check.results.filter((result) => !result.ok).length,
          results: check.results,
        }
      : null,
  };
}

function listLink(filters: { kind: string | null; q: string }, extra: Record<string, string> = {}) {
  const params = new URLSearchParams();
  if (filters.kind) params.set("kind", filters.kind);
  if (filters.q) params.set("q", filters.q);
  for (const [key, value] of Object.entries(extra)) params.set(key, value);
  const search = params.toString();
  return search ? `/admin/ledger?${search}` : "/admin/ledger";
}

export default function AdminLedger() {
  const { kind, q, total, page, pageCount, sums, accounts, check } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const checking = navigation.state === "loading" && navigation.location.search.includes("check=1");
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin" className="link">
          ‹ Admin
        </Link>
      </p>
      <div className="space-y-1">
        <h1 className="text-2xl font-bold">Ledger explorer</h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          Every account of the double-entry ledger, its entries and the transfers behind them. Read-only: money moves
          only through top-ups, generations and adjustments.
        </p>
      </div>

      <section aria-labelledby="check-heading" className="space-y-3 card">
        <h2 id="check-heading" className="text-lg font-semibold">
          Invariant check
        </h2>
        <Form method="get" className="flex flex-col gap-2 sm:flex-row sm:items-center">
          {kind ? <input type="hidden" name="kind" value={kind} /> : null}
          {q ? <input type="hidden" name="q" value={q} /> : null}
          <button type="submit" name="check" value="1" className="btn-primary" disabled={checking}>
            {checking ? "Checking…" : check ? "Run the check again" : "Run invariant check"}
          </button>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            Reads the whole ledger; takes a moment on a big one.
          </p>
        </Form>
        {check ? (
          <div role="status" className="space-y-2">
            <p
              className={`text-sm font-semibold ${check.ok ? "text-emerald-700 dark:text-emerald-400" : "text-red-800 dark:text-red-300"}`}
            >
              {check.ok
                ? `All ${check.results.length} checks pass.`
                : `${check.failed} of ${check.results.length} checks fail.`}{" "}
              <span className="font-normal text-zinc-600 dark:text-zinc-400">Ran {check.ranAt}.</span>
            </p>
            <ul className="space-y-1 text-sm" aria-label="Checks">
              {check.results.map((result) => (
                <li key={result.check} className="flex gap-2">
                  <span
                    aria-hidden="true"
                    className={`shrink-0 font-bold ${result.ok ? "text-emerald-700 dark:text-emerald-400" : "text-red-700 dark:text-red-400"}`}
                  >
                    {result.ok ? "✓" : "✗"}
                  </span>
                  <div className="min-w-0">
                    <span className="sr-only">{result.ok ? "Pass: " : "Fail: "}</span>
                    {result.check}
                    {result.problems.length > 0 ? (
                      <ul className="mt-1 list-disc pl-5 text-red-800 dark:text-red-300">
                        {result.problems.map((problem, index) => (
                          <li key={index} className="font-mono text-xs break-all">
                            {problem}
                          </li>
                        ))}
                      </ul>
                    ) : null}
                  </div>
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </section>

      <section aria-labelledby="totals-heading" className="space-y-2 card">
        <h2 id="totals-heading" className="text-lg font-semibold">
          Totals
        </h2>
        <dl className="grid grid-cols-1 gap-2 text-sm sm:grid-cols-3">
          <div className="rounded-lg bg-zinc-50 px-3 py-2 dark:bg-zinc-800">
            <dt className="text-xs text-zinc-600 dark:text-zinc-400">Platform accounts</dt>
            <dd className="font-bold break-words">{sums.platform}</dd>
          </div>
          <div className="rounded-lg bg-zinc-50 px-3 py-2 dark:bg-zinc-800">
            <dt className="text-xs text-zinc-600 dark:text-zinc-400">Member wallets</dt>
            <dd className="font-bold break-words">{sums.wallets}</dd>
            <dd className="text-xs text-zinc-600 dark:text-zinc-400">{sums.walletsHeld} held</dd>
          </div>
          <div className="rounded-lg bg-zinc-50 px-3 py-2 dark:bg-zinc-800">
            <dt className="text-xs text-zinc-600 dark:text-zinc-400">Together (always zero)</dt>
            <dd className={`font-bold break-words ${sums.balanced ? "" : "text-red-800 dark:text-red-300"}`}>
              {sums.together} {sums.balanced ? "✓" : "✗"}
            </dd>
          </div>
        </dl>
      </section>

      <Form method="get" role="search" className="grid gap-3 card sm:grid-cols-[auto_1fr_auto] sm:items-end">
        <div>
          <label htmlFor="ledger-kind" className="mb-1 block text-sm font-medium">
            Kind
          </label>
          <select id="ledger-kind" name="kind" defaultValue={kind ?? ""} className="input">
            <option value="">All accounts</option>
            <option value="platform">Platform</option>
            <option value="wallet">Member wallets</option>
          </select>
        </div>
        <div className="min-w-0">
          <label htmlFor="ledger-search" className="mb-1 block text-sm font-medium">
            Member email (or name, or account id)
          </label>
          <input id="ledger-search" name="q" type="search" defaultValue={q} className="input" autoComplete="off" />
        </div>
        <button type="submit" className="btn-secondary">
          Show
        </button>
      </Form>

      <section aria-labelledby="accounts-heading" className="space-y-3">
        <h2 id="accounts-heading" className="text-lg font-semibold">
          Accounts{" "}
          <span className="text-sm font-normal text-zinc-600 dark:text-zinc-400">
            ({total === 1 ? "1 account" : `${total} accounts`})
          </span>
        </h2>
        {accounts.length === 0 ? (
          <p className="card text-sm">No account matches.</p>
        ) : (
          <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 bg-white dark:divide-zinc-800 dark:border-zinc-800 dark:bg-zinc-900">
            {accounts.map((account) => (
              <li key={account.id} className="flex flex-wrap items-start justify-between gap-x-4 gap-y-1 px-4 py-3">
                <div className="min-w-0">
                  <p className="font-medium break-all">
                    <Link to={`/admin/ledger/${encodeURIComponent(account.id)}`} className="link">
                      {account.label ?? account.owner?.displayName ?? account.id}
                    </Link>
                  </p>
                  {account.owner ? (
                    <p className="text-sm break-all">
                      <Link to={`/admin/members/${encodeURIComponent(account.owner.id)}`} className="link">
                        {account.owner.email}
                      </Link>
                    </p>
                  ) : account.kind === "wallet" ? (
                    <p className="text-sm text-zinc-600 dark:text-zinc-400">(member deleted)</p>
                  ) : null}
                  <p className="text-xs text-zinc-600 dark:text-zinc-400">
                    <span className="rounded-full bg-zinc-100 px-2 py-0.5 dark:bg-zinc-800">
                      {KIND_LABEL[account.kind]}
                    </span>{" "}
                    <span className="font-mono break-all">{account.id}</span>
                  </p>
                </div>
                <div className="ml-auto text-right">
                  <p className="font-semibold tabular-nums">{account.balance}</p>
                  {account.held ? (
                    <p className="text-xs text-zinc-600 tabular-nums dark:text-zinc-400">{account.held} held</p>
                  ) : null}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>

      <Pager
        page={page}
        pageCount={pageCount}
        hrefFor={(target) => listLink({ kind, q }, target > 1 ? { page: String(target) } : {})}
        labels={["‹ Previous", "Next ›"]}
      />
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
