import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage } from "#app/components/forms";
import { getUser } from "#app/utils/auth.server";

export const meta: MetaFunction = () => [{ title: "AI Wallet — many AI models, one prepaid wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await getUser(request);
  const verifiedNow = new URL(request.url).searchParams.has("verified");
  return { displayName: user?.displayName ?? null, verifiedNow };
}

export default function Index() {
  const { displayName, verifiedNow } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-10">
      {verifiedNow ? <FormMessage tone="success" errors={["Your email address is confirmed. Welcome!"]} /> : null}
      <section className="py-6 sm:py-12">
        <h1 className="max-w-2xl text-3xl font-bold tracking-tight sm:text-5xl">
          {displayName ? `Welcome, ${displayName}.` : "Many AI models. One prepaid wallet."}
        </h1>
        <p className="mt-4 max-w-2xl text-lg text-zinc-600 dark:text-zinc-400">
          Top up a small amount, by card or mobile money, and run prompts and files through text, image, video and audio
          models. You see the price before you send, and a failed generation never costs you anything.
        </p>
        {displayName ? (
          <div className="mt-8 flex flex-wrap gap-3">
            <Link to="/generate" className="btn-primary">
              Start generating
            </Link>
            <Link to="/history" className="btn-secondary">
              Your history
            </Link>
            <Link to="/wallet" className="btn-secondary">
              Wallet
            </Link>
          </div>
        ) : (
          <div className="mt-8 flex flex-wrap gap-3">
            <Link to="/signup" className="btn-primary">
              Create a free account
            </Link>
            <Link to="/login" className="btn-secondary">
              Sign in
            </Link>
          </div>
        )}
      </section>
      <section className="grid gap-4 sm:grid-cols-3" aria-label="Why AI Wallet">
        {[
          ["Pay per use", "No subscription. Each generation is priced up front and charged from your prepaid balance."],
          ["Private by design", "Your prompts, files and outputs are yours: never logged, never shown to anyone else."],
          ["Self-hostable", "Open source. Run it on one machine, or many behind a load balancer."],
        ].map(([title, text]) => (
          <div key={title} className="card">
            <h2 className="font-semibold">{title}</h2>
            <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">{text}</p>
          </div>
        ))}
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
