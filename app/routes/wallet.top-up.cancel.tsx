import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { requireUser } from "#app/utils/auth.server";

export const meta: MetaFunction = () => [{ title: "Payment cancelled · AI Wallet" }];

// Stripe sends the member here when they leave its payment page without paying.
export async function loader({ request }: LoaderFunctionArgs) {
  await requireUser(request);
  return null;
}

export default function TopUpCancelled() {
  return (
    <div className="mx-auto max-w-md space-y-6">
      <h1 className="text-2xl font-bold">Payment cancelled</h1>
      <div className="space-y-2 card" role="status">
        <p className="font-medium">Nothing was charged, and your wallet has not changed.</p>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          You can try again with another amount or card, or pay by mobile money or bank transfer instead.
        </p>
      </div>
      <div className="flex flex-col gap-3 sm:flex-row">
        <Link to="/wallet/top-up" className="btn-primary flex-1">
          Try again
        </Link>
        <Link to="/wallet/top-up/manual" className="btn-secondary flex-1">
          Pay by mobile money or bank transfer
        </Link>
      </div>
      <p>
        <Link to="/wallet" className="text-sm link">
          Back to my wallet
        </Link>
      </p>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
