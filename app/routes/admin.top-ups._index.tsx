import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage } from "#app/components/forms";
import {
  type AdminTopUp,
  approvalsLabel,
  getDecisionSummary,
  listQueue,
  membersWithSupportGrant,
} from "#app/models/manual-topups.server";
import { requireRole } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Manual top-ups — Admin — AI Wallet" }];

function present(row: AdminTopUp) {
  const currency = env.WALLET_CURRENCY;
  return {
    id: row.id,
    status: row.status,
    creditPending: row.status === "approved" && !row.transferId,
    memberName: row.member?.displayName ?? "(deleted member)",
    memberEmail: row.member?.email ?? "",
    method: row.method.name,
    claimed: formatMoney(row.claimedAmount, currency),
    credited: row.creditedAmount === null ? null : formatMoney(row.creditedAmount, currency),
    senderNumber: row.senderNumber,
    reference: row.reference,
    duplicates: row.duplicates,
    receiptUrl: row.receiptFile ? `/files/${row.receiptFile.id}` : null,
    receiptKind: row.receiptFile ? (row.receiptFile.mediaType === "application/pdf" ? "PDF" : "image") : null,
    /** A receipt is attached but this viewer (support without the member's grant) cannot open it. */
    receiptHidden: false,
    createdAt: row.createdAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    decidedBy: row.decidedBy?.displayName ?? null,
    decisionNote: row.decisionNote,
    approvalsLabel: approvalsLabel(row),
    approvedBy: row.approvals.map((approval) => approval.admin?.displayName ?? "(former admin)"),
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireRole(request, ["admin", "support"]);
  const queue = await listQueue();
  const doneId = new URL(request.url).searchParams.get("done");
  const done = doneId ? await getDecisionSummary(doneId) : null;
  const currency = env.WALLET_CURRENCY;
  // Support opens a receipt only while its member allows support access to their account.
  const rows = [...queue.pending, ...queue.decided];
  const granted = user.role === "admin" ? null : await membersWithSupportGrant(rows.map((row) => row.userId));
  const shown = (row: AdminTopUp) => {
    const item = present(row);
    return granted && !granted.has(row.userId)
      ? { ...item, receiptUrl: null, receiptHidden: item.receiptUrl !== null }
      : item;
  };
  return {
    canDecide: user.role === "admin",
    pending: queue.pending.map(shown),
    pendingCount: queue.pendingCount,
    decided: queue.decided.map(shown),
    done: done
      ? {
          id: done.id,
          status: done.status,
          amount: formatMoney(done.creditedAmount ?? done.agreedAmount ?? done.claimedAmount, currency),
          credited: Boolean(done.transferId),
          approvalsLabel: approvalsLabel(done),
        }
      : null,
  };
}

const STATUS_STYLE = {
  pending: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  approved: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  rejected: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
} as const;

function StatusBadge({ status, creditPending }: { status: keyof typeof STATUS_STYLE; creditPending: boolean }) {
  const label = creditPending ? "approved, credit pending" : status;
  return (
    <span
      className={`inline-block rounded-full px-2.5 py-0.5 text-xs font-semibold capitalize ${STATUS_STYLE[status]}`}
    >
      {label}
    </span>
  );
}

function DuplicateBadge({ count }: { count: number }) {
  if (count === 0) return null;
  return (
    <span className="inline-block rounded-full bg-red-600 px-2.5 py-0.5 text-xs font-semibold text-white">
      Duplicate reference ({count} other{count === 1 ? "" : "s"})
    </span>
  );
}

type Row = ReturnType<typeof present>;

function QueueCard({ row, canDecide }: { row: Row; canDecide: boolean }) {
  return (
    <li className="space-y-3 card">
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <p className="text-xl font-bold">{row.claimed}</p>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {row.method} · <time dateTime={row.createdAt}>{formatDateTime(row.createdAt)}</time>
          </p>
        </div>
        <div className="flex flex-wrap gap-1">
          <StatusBadge status={row.status} creditPending={row.creditPending} />
          {row.approvalsLabel ? (
            <span className="inline-block rounded-full bg-sky-100 px-2.5 py-0.5 text-xs font-semibold text-sky-900 dark:bg-sky-900 dark:text-sky-100">
              {row.approvalsLabel}
            </span>
          ) : null}
          <DuplicateBadge count={row.duplicates} />
        </div>
      </div>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
        <dt className="text-zinc-600 dark:text-zinc-400">Member</dt>
        <dd>
          <span className="font-medium">{row.memberName}</span>
          <br />
          <span className="break-all">{row.memberEmail}</span>
        </dd>
        <dt className="text-zinc-600 dark:text-zinc-400">Paid from</dt>
        <dd className="font-mono">{row.senderNumber}</dd>
        <dt className="text-zinc-600 dark:text-zinc-400">Reference</dt>
        <dd className="font-mono break-all">{row.reference}</dd>
        {row.approvedBy.length > 0 && row.status !== "approved" ? (
          <>
            <dt className="text-zinc-600 dark:text-zinc-400">Approved by</dt>
            <dd>{row.approvedBy.join(", ")}</dd>
          </>
        ) : null}
        {row.credited ? (
          <>
            <dt className="text-zinc-600 dark:text-zinc-400">Credited</dt>
            <dd>{row.credited}</dd>
          </>
        ) : null}
        {row.decidedAt ? (
          <>
            <dt className="text-zinc-600 dark:text-zinc-400">Decided</dt>
            <dd>
              <time dateTime={row.decidedAt}>{formatDateTime(row.decidedAt)}</time>
              {row.decidedBy ? ` by ${row.decidedBy}` : ""}
            </dd>
          </>
        ) : null}
        <dt className="text-zinc-600 dark:text-zinc-400">Receipt</dt>
        <dd>
          {row.receiptUrl ? (
            <a className="link" href={row.receiptUrl} target="_blank" rel="noreferrer">
              Open receipt ({row.receiptKind})
            </a>
          ) : row.receiptHidden ? (
            "attached (opens only with the member's permission)"
          ) : (
            "none attached"
          )}
        </dd>
      </dl>
      <Link
        to={row.id}
        className={`${row.status === "pending" && canDecide ? "btn-primary" : "btn-secondary"} w-full`}
        aria-label={`${row.status === "pending" && canDecide ? "Review" : "View"} ${row.claimed} from ${row.memberName}`}
      >
        {row.status === "pending" && canDecide ? "Review and decide" : "View details"}
      </Link>
    </li>
  );
}

export default function AdminTopUps() {
  const { canDecide, pending, pendingCount, decided, done } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Manual top-ups</h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {pendingCount === 0 ? "Nothing is waiting." : `${pendingCount} waiting for a decision, oldest first.`}{" "}
          {canDecide ? null : "Support can view requests; only admins approve or reject them."}
        </p>
      </div>
      {done ? (
        <FormMessage
          tone="success"
          errors={[
            done.status === "approved"
              ? done.credited
                ? `Approved: ${done.amount} credited to the member’s wallet. The member gets an email.`
                : `Approved. The credit of ${done.amount} did not complete yet; it is retried when this page loads.`
              : done.status === "rejected"
                ? "Rejected. The member gets an email with the reason."
                : done.approvalsLabel
                  ? `Approved: ${done.approvalsLabel}. Nothing is credited until a second admin approves ${done.amount}.`
                  : "Saved.",
          ]}
        />
      ) : null}

      <section aria-labelledby="pending-heading" className="space-y-3">
        <h2 id="pending-heading" className="text-lg font-semibold">
          Waiting ({pendingCount})
        </h2>
        {pending.length === 0 ? (
          <p className="card text-sm">No requests are waiting.</p>
        ) : (
          <ul className="space-y-3">
            {pending.map((row) => (
              <QueueCard key={row.id} row={row} canDecide={canDecide} />
            ))}
          </ul>
        )}
        {pendingCount > pending.length ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            Showing the oldest {pending.length}. Decide these to see the next ones.
          </p>
        ) : null}
      </section>

      <section aria-labelledby="decided-heading" className="space-y-3">
        <h2 id="decided-heading" className="text-lg font-semibold">
          Recently decided
        </h2>
        {decided.length === 0 ? (
          <p className="card text-sm">Nothing decided yet.</p>
        ) : (
          <ul className="space-y-3">
            {decided.map((row) => (
              <QueueCard key={row.id} row={row} canDecide={canDecide} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
