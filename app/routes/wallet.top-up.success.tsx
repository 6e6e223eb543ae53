import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Link, useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect, useRef, useState } from "react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { getWalletBalance } from "#app/models/ledger.server";
import { getCheckoutForMember } from "#app/models/stripe-topups.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import { formatMoney } from "#app/utils/money";

export const meta: MetaFunction = () => [{ title: "Top-up · AI Wallet" }];

// Stripe sends the member here with ?session_id=cs_… as soon as they pay; the webhook that credits the
// wallet may arrive a moment before or after. The page polls until the checkout is settled.
const SESSION_ID = /^cs_[A-Za-z0-9_]{1,250}$/;
const POLL_MS = 2_000;
const POLL_FOR_MS = 3 * 60_000;

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const sessionId = new URL(request.url).searchParams.get("session_id") ?? "";
  // Someone else's session (or a made-up one) is simply not found.
  const checkout = SESSION_ID.test(sessionId) ? await getCheckoutForMember(user.id, sessionId) : null;
  if (!checkout) throw new Response("Not Found", { status: 404 });
  const balance = checkout.state === "paid" ? (await getWalletBalance(user.id)).available : null;
  return data(
    {
      state: checkout.state,
      amount: formatMoney(checkout.amount, checkout.currency),
      balance: balance === null ? null : formatMoney(balance, checkout.currency),
      reference: checkout.id,
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

function Spinner() {
  return (
    <svg className="size-6 shrink-0 motion-safe:animate-spin" viewBox="0 0 24 24" fill="none" aria-hidden="true">
      <circle cx="12" cy="12" r="10" stroke="currentColor" strokeWidth="3" className="opacity-25" />
      <path d="M22 12a10 10 0 0 0-10-10" stroke="currentColor" strokeWidth="3" strokeLinecap="round" />
    </svg>
  );
}

export default function TopUpSuccess() {
  const view = useLoaderData<typeof loader>();
  const revalidator = useRevalidator();
  const revalidatorRef = useRef(revalidator);
  useEffect(() => {
    revalidatorRef.current = revalidator;
  });
  const waiting = view.state === "processing";
  const [slow, setSlow] = useState(false);

  // Ask the server again every 2 s while the page is visible, for a few minutes; then offer a button.
  useEffect(() => {
    if (!waiting) return;
    const started = Date.now();
    const timer = window.setInterval(() => {
      if (Date.now() - started > POLL_FOR_MS) {
        window.clearInterval(timer);
        setSlow(true);
        return;
      }
      const current = revalidatorRef.current;
      if (document.visibilityState === "visible" && current.state === "idle") current.revalidate();
    }, POLL_MS);
    return () => window.clearInterval(timer);
  }, [waiting, slow]);

  return (
    <div className="mx-auto max-w-md space-y-6">
      <h1 className="text-2xl font-bold">
        {view.state === "paid" ? "Top-up complete" : view.state === "processing" ? "Almost there" : "Top-up"}
      </h1>
      <div className="space-y-4 card">
        {/* One live region whose text changes as the payment settles, so screen readers hear the result. */}
        <div role="status" aria-live="polite" aria-atomic="true" className="space-y-2">
          {view.state === "processing" ? (
            <>
              <p className="flex items-center gap-3 font-medium">
                <Spinner />
                Confirming your payment of {view.amount}…
              </p>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">
                {slow
                  ? "This is taking longer than usual. You can leave this page: your wallet is credited as soon as Stripe confirms the payment, and we email you a receipt."
                  : "This usually takes a few seconds. Your wallet is credited as soon as Stripe confirms the payment."}
              </p>
            </>
          ) : view.state === "pending_payment" ? (
            <>
              <p className="font-medium">Your payment of {view.amount} is on its way.</p>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">
                Your bank is still processing it, which can take a few days. We add it to your wallet and email you a
                receipt as soon as it arrives.
              </p>
            </>
          ) : view.state === "paid" ? (
            <>
              <p className="font-medium text-emerald-700 dark:text-emerald-300">
                <span aria-hidden="true">✓ </span>
                {view.amount} was added to your wallet.
              </p>
              <p>
                Your available balance is now <strong>{view.balance}</strong>. A receipt is on its way to your inbox.
              </p>
            </>
          ) : view.state === "review" ? (
            <>
              <p className="font-medium">We received your payment of {view.amount} and are checking it.</p>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">
                Something about it needs a person to look at it before it is added to your wallet. Our team has been
                notified. If you contact support, quote the reference below.
              </p>
            </>
          ) : view.state === "expired" ? (
            <p className="font-medium">This payment page expired before it was paid. Nothing was charged.</p>
          ) : (
            <p className="font-medium">The payment did not go through. Nothing was added to your wallet.</p>
          )}
        </div>
        {slow && waiting ? (
          <button
            type="button"
            className="btn-secondary w-full"
            onClick={() => {
              setSlow(false);
              revalidator.revalidate();
            }}
          >
            Check again
          </button>
        ) : null}
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          Reference: <span className="font-mono text-xs break-all">{view.reference}</span>
        </p>
      </div>
      <div className="flex flex-col gap-3 sm:flex-row">
        <Link to="/wallet" className="btn-primary flex-1">
          Go to my wallet
        </Link>
        {view.state === "expired" || view.state === "failed" ? (
          <Link to="/wallet/top-up" className="btn-secondary flex-1">
            Try again
          </Link>
        ) : null}
      </div>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
