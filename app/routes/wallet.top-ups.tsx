import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage } from "#app/components/forms";
import { getMemberTopUp, listMemberTopUps, type MemberTopUp } from "#app/models/manual-topups.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "My manual top-ups — AI Wallet" }];

function present(row: MemberTopUp) {
  const currency = env.WALLET_CURRENCY;
  return {
    id: row.id,
    method: row.method.name,
    status: row.status,
    claimed: formatMoney(row.claimedAmount, currency),
    credited: row.creditedAmount === null ? null : formatMoney(row.creditedAmount, currency),
    creditedDiffers: row.creditedAmount !== null && row.creditedAmount !== row.claimedAmount,
    // Approved but the credit not yet recorded (it is being retried): say so rather than "approved".
    creditPending: row.status === "approved" && !row.transferId,
    senderNumber: row.senderNumber,
    reference: row.reference,
    decisionNote: row.decisionNote,
    createdAt: row.createdAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    receiptUrl: row.receiptFileId ? `/files/${row.receiptFileId}` : null,
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const sentId = new URL(request.url).searchParams.get("sent");
  // The confirmation after sending names one request: it must be this member's own.
  const sent = sentId ? await getMemberTopUp(user.id, sentId) : null;
  if (sentId && !sent) throw new Response("Not Found", { status: 404 });
  const topUps = await listMemberTopUps(user.id);
  return { sent: sent ? present(sent) : null, topUps: topUps.map(present) };
}

const STATUS_STYLE = {
  pending: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  approved: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  rejected: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
} as const;

const STATUS_LABEL = { pending: "Waiting for review", approved: "Approved", rejected: "Rejected" } as const;

function StatusBadge({ status, creditPending }: { status: keyof typeof STATUS_STYLE; creditPending?: boolean }) {
  return (
    <span className={`inline-block rounded-full px-2.5 py-0.5 text-xs font-semibold ${STATUS_STYLE[status]}`}>
      {creditPending ? "Approved, crediting…" : STATUS_LABEL[status]}
    </span>
  );
}

type Row = ReturnType<typeof present>;

function TopUpCard({ topUp, highlight }: { topUp: Row; highlight: boolean }) {
  return (
    <li
      className={`space-y-2 card ${highlight ? "ring-2 ring-brand-500" : ""}`}
      aria-current={highlight ? "true" : undefined}
    >
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <p className="text-lg font-semibold">{topUp.claimed}</p>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {topUp.method} · <time dateTime={topUp.createdAt}>{formatDateTime(topUp.createdAt)}</time>
          </p>
        </div>
        <StatusBadge status={topUp.status} creditPending={topUp.creditPending} />
      </div>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
        <dt className="text-zinc-600 dark:text-zinc-400">Reference</dt>
        <dd className="font-mono break-all">{topUp.reference}</dd>
        <dt className="text-zinc-600 dark:text-zinc-400">Paid from</dt>
        <dd className="font-mono">{topUp.senderNumber}</dd>
        {topUp.credited ? (
          <>
            <dt className="text-zinc-600 dark:text-zinc-400">Credited</dt>
            <dd className="font-semibold">
              {topUp.credited}
              {topUp.creditedDiffers ? (
                <span className="font-normal text-zinc-600 dark:text-zinc-400"> (you told us {topUp.claimed})</span>
              ) : null}
            </dd>
          </>
        ) : null}
        {topUp.decidedAt ? (
          <>
            <dt className="text-zinc-600 dark:text-zinc-400">Decided</dt>
            <dd>
              <time dateTime={topUp.decidedAt}>{formatDateTime(topUp.decidedAt)}</time>
            </dd>
          </>
        ) : null}
        {topUp.receiptUrl ? (
          <>
            <dt className="text-zinc-600 dark:text-zinc-400">Receipt</dt>
            <dd>
              <a className="link" href={topUp.receiptUrl} target="_blank" rel="noreferrer">
                View receipt
              </a>
            </dd>
          </>
        ) : null}
      </dl>
      {topUp.decisionNote ? (
        <p className="rounded-lg bg-zinc-100 px-3 py-2 text-sm dark:bg-zinc-800">
          <span className="font-medium">{topUp.status === "rejected" ? "Reason: " : "Note: "}</span>
          {topUp.decisionNote}
        </p>
      ) : null}
    </li>
  );
}

export default function MyTopUps() {
  const { sent, topUps } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-xl space-y-6">
      <div>
        <p className="text-sm">
          <Link to="/wallet" className="link">
            Wallet
          </Link>
        </p>
        <h1 className="mt-2 text-2xl font-bold">My manual top-ups</h1>
      </div>
      {sent ? (
        <FormMessage
          tone="success"
          errors={[
            `Thank you. We received your request for ${sent.claimed} by ${sent.method} (reference ${sent.reference}).`,
            "An admin will check the payment and credit your wallet. We will email you when it is decided.",
          ]}
        />
      ) : null}
      <Link to="/wallet/top-up/manual" className="btn-primary w-full sm:w-auto">
        New manual top-up
      </Link>
      {topUps.length === 0 ? (
        <p className="card text-sm">You have not sent any mobile money or bank transfer top-ups yet.</p>
      ) : (
        <ul className="space-y-3" aria-label="Your manual top-up requests, newest first">
          {topUps.map((topUp) => (
            <TopUpCard key={topUp.id} topUp={topUp} highlight={topUp.id === sent?.id} />
          ))}
        </ul>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
