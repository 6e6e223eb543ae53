import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { getLedgerTransfer } from "#app/models/admin-reports.server";
import { requireRole } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Ledger transfer — Admin — AI Wallet" }];

const ParamsSchema = z.object({ id: z.string().min(1).max(200) });

function signedMoney(micros: bigint, currency: string) {
  if (micros === 0n) return formatMoney(0n, currency);
  return `${micros > 0n ? "+" : "−"}${formatMoney(micros > 0n ? micros : -micros, currency)}`;
}

type Related = { id: string; kind: string; description: string; createdAt: Date };
const related = (transfer: Related) => ({
  id: transfer.id,
  kind: transfer.kind,
  description: transfer.description,
  createdAt: formatDateTime(transfer.createdAt),
});

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireRole(request, ["admin", "support"]);
  const parsed = ParamsSchema.safeParse(params);
  if (!parsed.success) throw new Response("Not Found", { status: 404 });
  const transfer = await getLedgerTransfer(parsed.data.id);
  if (!transfer) throw new Response("Not Found", { status: 404 });
  const currency = transfer.currency ?? env.WALLET_CURRENCY;
  return {
    transfer: {
      id: transfer.id,
      kind: transfer.kind,
      idempotencyKey: transfer.idempotencyKey,
      description: transfer.description,
      metadata: JSON.stringify(transfer.metadata, null, 2),
      createdAt: formatDateTime(transfer.createdAt),
      iso: transfer.createdAt.toISOString(),
    },
    reverses: transfer.reverses ? related(transfer.reverses) : null,
    reversals: transfer.reversals.map(related),
    holds: transfer.holds.map((hold) => ({
      id: hold.id,
      status: hold.status,
      accountId: hold.accountId,
      amount: formatMoney(hold.amount, currency),
      posted: hold.postedAmount === null ? null : formatMoney(hold.postedAmount, currency),
    })),
    entries: transfer.entries.map((entry) => ({
      id: entry.id.toString(),
      accountId: entry.account.id,
      accountKind: entry.account.kind,
      label: entry.label,
      owner: entry.account.user
        ? { id: entry.account.user.id, displayName: entry.account.user.displayName, email: entry.account.user.email }
        : null,
      amount: signedMoney(entry.amount, entry.account.currency),
      credit: entry.amount > 0n,
      balanceAfter: formatMoney(entry.balanceAfter, entry.account.currency),
    })),
    sum: signedMoney(transfer.sum, currency),
    balanced: transfer.sum === 0n,
  };
}

function RelatedLink({ transfer }: { transfer: ReturnType<typeof related> }) {
  return (
    <span className="break-words">
      <Link to={`/admin/ledger/transfers/${encodeURIComponent(transfer.id)}`} className="link">
        {transfer.description}
      </Link>{" "}
      <span className="text-zinc-600 dark:text-zinc-400">
        ({transfer.kind}, {transfer.createdAt})
      </span>
    </span>
  );
}

export default function AdminLedgerTransfer() {
  const { transfer, reverses, reversals, holds, entries, sum, balanced } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/ledger" className="link">
          ‹ Ledger explorer
        </Link>
      </p>
      <div className="min-w-0 space-y-1">
        <h1 className="text-2xl font-bold break-words">{transfer.description}</h1>
        <p className="font-mono text-sm break-all text-zinc-600 dark:text-zinc-400">Transfer {transfer.id}</p>
      </div>

      <section aria-labelledby="details-heading" className="space-y-3 card">
        <h2 id="details-heading" className="text-lg font-semibold">
          Details
        </h2>
        <dl className="grid gap-x-4 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
          <dt className="font-medium text-zinc-600 dark:text-zinc-400">Kind</dt>
          <dd>{transfer.kind}</dd>
          <dt className="font-medium text-zinc-600 dark:text-zinc-400">Created</dt>
          <dd>
            <time dateTime={transfer.iso}>{transfer.createdAt}</time>
          </dd>
          <dt className="font-medium text-zinc-600 dark:text-zinc-400">Idempotency key</dt>
          <dd className="font-mono text-xs break-all">{transfer.idempotencyKey}</dd>
          <dt className="font-medium text-zinc-600 dark:text-zinc-400">Reverses</dt>
          <dd>{reverses ? <RelatedLink transfer={reverses} /> : "—"}</dd>
          <dt className="font-medium text-zinc-600 dark:text-zinc-400">Reversed by</dt>
          <dd>
            {reversals.length === 0 ? (
              "—"
            ) : (
              <ul className="space-y-1">
                {reversals.map((reversal) => (
                  <li key={reversal.id}>
                    <RelatedLink transfer={reversal} />
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </dl>
        <div className="min-w-0">
          <p className="text-sm font-medium text-zinc-600 dark:text-zinc-400">Metadata</p>
          <pre className="mt-1 max-h-64 overflow-auto rounded-lg bg-zinc-50 p-2 text-xs break-words whitespace-pre-wrap dark:bg-zinc-800">
            {transfer.metadata}
          </pre>
        </div>
      </section>

      <section aria-labelledby="entries-heading" className="space-y-3">
        <h2 id="entries-heading" className="text-lg font-semibold">
          Entries
        </h2>
        <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 bg-white dark:divide-zinc-800 dark:border-zinc-800 dark:bg-zinc-900">
          {entries.map((entry) => (
            <li key={entry.id} className="flex flex-wrap items-start justify-between gap-x-4 gap-y-1 px-4 py-3">
              <div className="min-w-0">
                <p className="font-medium break-all">
                  <Link to={`/admin/ledger/${encodeURIComponent(entry.accountId)}`} className="link">
                    {entry.label ?? (entry.owner ? `Wallet of ${entry.owner.displayName}` : entry.accountId)}
                  </Link>
                </p>
                {entry.owner ? (
                  <p className="text-xs break-all">
                    <Link to={`/admin/members/${encodeURIComponent(entry.owner.id)}`} className="link">
                      {entry.owner.email}
                    </Link>
                  </p>
                ) : null}
                <p className="font-mono text-xs break-all text-zinc-600 dark:text-zinc-400">{entry.accountId}</p>
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
          <li className="flex flex-wrap items-center justify-between gap-2 rounded-b-xl bg-zinc-50 px-4 py-3 dark:bg-zinc-800">
            <p className="font-semibold">Sum of entries</p>
            <p
              data-testid="transfer-sum"
              className={`font-semibold tabular-nums ${balanced ? "text-emerald-700 dark:text-emerald-400" : "text-red-800 dark:text-red-300"}`}
            >
              {sum} {balanced ? "✓ balanced" : "✗ does not balance"}
            </p>
          </li>
        </ul>
      </section>

      {holds.length > 0 ? (
        <section aria-labelledby="holds-heading" className="space-y-2 card">
          <h2 id="holds-heading" className="text-lg font-semibold">
            Hold settled by this transfer
          </h2>
          <ul className="space-y-1 text-sm">
            {holds.map((hold) => (
              <li key={hold.id} className="break-words">
                <span className="font-mono text-xs break-all">{hold.id}</span> on{" "}
                <Link to={`/admin/ledger/${encodeURIComponent(hold.accountId)}`} className="link break-all">
                  {hold.accountId}
                </Link>
                : {hold.status}, held {hold.amount}
                {hold.posted ? `, charged ${hold.posted}` : ""}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
