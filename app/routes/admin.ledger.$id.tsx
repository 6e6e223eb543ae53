import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { getLedgerAccount } from "#app/models/admin-reports.server";
import { requireRole } from "#app/utils/auth.server";
import { formatMoney } from "#app/utils/money";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Ledger account — Admin — AI Wallet" }];

const ParamsSchema = z.object({ id: z.string().min(1).max(200) });

/** An entry id from a pagination link; anything else is ignored (the newest page). */
const cursor = z
  .string()
  .regex(/^\d{1,18}$/)
  .transform((text) => BigInt(text))
  .optional()
  .catch(undefined);
const SearchSchema = z.object({ before: cursor, after: cursor });

function signedMoney(micros: bigint, currency: string) {
  if (micros === 0n) return formatMoney(0n, currency);
  return `${micros > 0n ? "+" : "−"}${formatMoney(micros > 0n ? micros : -micros, currency)}`;
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireRole(request, ["admin", "support"]);
  const parsed = ParamsSchema.safeParse(params);
  if (!parsed.success) throw new Response("Not Found", { status: 404 });
  const search = SearchSchema.parse(Object.fromEntries(new URL(request.url).searchParams));
  const found = await getLedgerAccount(parsed.data.id, { before: search.before, after: search.after });
  if (!found) throw new Response("Not Found", { status: 404 });
  const { account } = found;
  const money = (micros: bigint) => formatMoney(micros, account.currency);
  return {
    account: {
      id: account.id,
      kind: account.kind,
      label: found.label,
      currency: account.currency,
      allowNegative: account.allowNegative,
      createdAt: `${formatDateTime(account.createdAt, { seconds: true })}`,
      owner: account.user
        ? { id: account.user.id, displayName: account.user.displayName, email: account.user.email }
        : null,
      balance: money(account.balance),
      held: money(account.held),
      available: money(account.balance - account.held),
    },
    openHolds: { count: found.openHolds.count, amount: money(found.openHolds.amount) },
    totalEntries: found.totalEntries,
    entries: found.entries.map((entry) => ({
      id: entry.id.toString(),
      iso: entry.createdAt.toISOString(),
      date: `${formatDateTime(entry.createdAt, { seconds: true })}`,
      transferId: entry.transfer.id,
      kind: entry.transfer.kind,
      description: entry.transfer.description,
      amount: signedMoney(entry.amount, account.currency),
      credit: entry.amount > 0n,
      balanceAfter: money(entry.balanceAfter),
    })),
    newer: found.newer?.toString() ?? null,
    older: found.older?.toString() ?? null,
  };
}

function Figure({ label, value, detail }: { label: string; value: string; detail?: string }) {
  return (
    <div className="rounded-lg bg-zinc-50 px-3 py-2 dark:bg-zinc-800">
      <dt className="text-xs text-zinc-600 dark:text-zinc-400">{label}</dt>
      <dd className="text-lg font-bold break-words">{value}</dd>
      {detail ? <dd className="text-xs text-zinc-600 dark:text-zinc-400">{detail}</dd> : null}
    </div>
  );
}

export default function AdminLedgerAccount() {
  const { account, openHolds, totalEntries, entries, newer, older } = useLoaderData<typeof loader>();
  const base = `/admin/ledger/${encodeURIComponent(account.id)}`;
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/ledger" className="link">
          ‹ Ledger explorer
        </Link>
      </p>
      <div className="min-w-0 space-y-1">
        <h1 className="text-2xl font-bold break-words">
          {account.label ?? (account.owner ? `Wallet of ${account.owner.displayName}` : account.id)}
        </h1>
        <p className="font-mono text-sm break-all text-zinc-600 dark:text-zinc-400">{account.id}</p>
        {account.owner ? (
          <p className="text-sm break-all">
            Member:{" "}
            <Link to={`/admin/members/${encodeURIComponent(account.owner.id)}`} className="link">
              {account.owner.displayName} ({account.owner.email})
            </Link>
          </p>
        ) : account.kind === "wallet" ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">The member was deleted; the wallet is kept.</p>
        ) : null}
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {account.kind === "platform" ? "Platform account" : "Member wallet"} · {account.currency} ·{" "}
          {account.allowNegative ? "may go below zero" : "never below zero"} · opened {account.createdAt}
        </p>
      </div>

      <section aria-labelledby="balance-heading" className="space-y-2 card">
        <h2 id="balance-heading" className="text-lg font-semibold">
          Balance
        </h2>
        <dl className="grid grid-cols-1 gap-2 sm:grid-cols-3">
          <Figure label="Balance" value={account.balance} detail="Sum of all entries" />
          <Figure
            label="Held"
            value={account.held}
            detail={`${openHolds.count} open ${openHolds.count === 1 ? "hold" : "holds"} (${openHolds.amount})`}
          />
          <Figure label="Available" value={account.available} />
        </dl>
      </section>

      <section aria-labelledby="entries-heading" className="space-y-3">
        <h2 id="entries-heading" className="text-lg font-semibold">
          Entries{" "}
          <span className="text-sm font-normal text-zinc-600 dark:text-zinc-400">({totalEntries}, newest first)</span>
        </h2>
        {entries.length === 0 ? (
          <p className="card text-sm">No entries yet.</p>
        ) : (
          <ol className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 bg-white dark:divide-zinc-800 dark:border-zinc-800 dark:bg-zinc-900">
            {entries.map((entry) => (
              <li key={entry.id} className="flex flex-wrap items-start justify-between gap-x-4 gap-y-1 px-4 py-3">
                <div className="min-w-0">
                  <p className="font-medium break-words">
                    <Link to={`/admin/ledger/transfers/${encodeURIComponent(entry.transferId)}`} className="link">
                      {entry.description}
                    </Link>
                  </p>
                  <p className="text-xs text-zinc-600 dark:text-zinc-400">
                    <time dateTime={entry.iso}>{entry.date}</time> ·{" "}
                    <span className="rounded-full bg-zinc-100 px-2 py-0.5 dark:bg-zinc-800">{entry.kind}</span> · entry{" "}
                    {entry.id}
                  </p>
                </div>
                <div className="ml-auto text-right">
                  <p
                    className={`font-semibold tabular-nums ${entry.credit ? "text-emerald-700 dark:text-emerald-400" : ""}`}
                  >
                    {entry.amount}
                  </p>
                  <p className="text-xs text-zinc-600 tabular-nums dark:text-zinc-400">
                    balance after {entry.balanceAfter}
                  </p>
                </div>
              </li>
            ))}
          </ol>
        )}
        {newer || older ? (
          <nav aria-label="Entry pages" className="flex flex-wrap items-center justify-between gap-2 text-sm">
            {newer ? (
              <span className="flex flex-wrap gap-2">
                <Link to={base} className="btn-secondary">
                  « Newest
                </Link>
                <Link to={`${base}?after=${newer}`} className="btn-secondary">
                  ‹ Newer
                </Link>
              </span>
            ) : (
              <span />
            )}
            {older ? (
              <Link to={`${base}?before=${older}`} className="btn-secondary">
                Older ›
              </Link>
            ) : (
              <span />
            )}
          </nav>
        ) : null}
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
