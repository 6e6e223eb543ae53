import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage } from "#app/components/forms";
import { listCatalog } from "#app/models/catalog.server";
import { getUser } from "#app/utils/auth.server";
import { describePrice, MODALITY_LABELS } from "#app/utils/catalog";
import { env } from "#app/utils/env.server";
import type { Modality } from "#app/utils/pricing";

export const meta: MetaFunction = () => [{ title: "AI Wallet — many AI models, one prepaid wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await getUser(request);
  const verifiedNow = new URL(request.url).searchParams.has("verified");
  const accountDeleted = new URL(request.url).searchParams.has("accountDeleted");
  const catalog = await listCatalog();
  // Only what a member can use here today; /pricing lists the rest, marked unavailable.
  const available = catalog.filter((entry) => entry.available);
  const groups = (Object.keys(MODALITY_LABELS) as Modality[])
    .map((modality) => ({
      modality,
      label: MODALITY_LABELS[modality],
      models: available
        .filter((entry) => entry.modality === modality)
        .map((entry) => ({
          id: entry.id,
          label: entry.label,
          providerLabel: entry.providerLabel,
          price: describePrice(entry, env.WALLET_CURRENCY),
          demo: entry.provider === "demo",
        })),
    }))
    .filter((group) => group.models.length > 0);
  return {
    displayName: user?.displayName ?? null,
    verifiedNow,
    accountDeleted,
    groups,
    unavailableCount: catalog.length - available.length,
  };
}

function ModelList({
  groups,
  unavailableCount,
}: {
  groups: ReturnType<typeof useLoaderData<typeof loader>>["groups"];
  unavailableCount: number;
}) {
  return (
    <section aria-labelledby="models-heading" className="space-y-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="models-heading" className="text-2xl font-bold">
          Models on this server
        </h2>
        <Link to="/pricing" className="link">
          Prices and how billing works
        </Link>
      </div>
      {groups.length === 0 ? (
        <p className="card text-sm">No models are available on this server yet. The operator has not set any up.</p>
      ) : (
        <div className="grid gap-4 md:grid-cols-2">
          {groups.map((group) => (
            <section key={group.modality} aria-labelledby={`models-${group.modality}`} className="card">
              <h3 id={`models-${group.modality}`} className="font-semibold">
                {group.label}
              </h3>
              <ul className="mt-2 divide-y divide-zinc-200 dark:divide-zinc-800">
                {group.models.map((model) => (
                  <li key={model.id} className="py-2">
                    <p className="font-medium">
                      {model.label}
                      {model.demo ? (
                        <span className="ml-2 rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-900 dark:bg-amber-900 dark:text-amber-100">
                          Demo
                        </span>
                      ) : null}
                    </p>
                    <p className="text-sm text-zinc-600 dark:text-zinc-400">
                      {model.providerLabel} · {model.price}
                    </p>
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        Prices include our margin.
        {groups.some((group) => group.models.some((model) => model.demo))
          ? " Demo models run on this server and return sample output without calling any AI; they are charged like the others, so you can try the whole flow."
          : ""}
        {unavailableCount > 0
          ? ` ${unavailableCount} more ${unavailableCount === 1 ? "model is" : "models are"} listed on the pricing page but not available here yet.`
          : ""}
      </p>
    </section>
  );
}

export default function Index() {
  const { displayName, verifiedNow, accountDeleted, groups, unavailableCount } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-10">
      {verifiedNow ? <FormMessage tone="success" errors={["Your email address is confirmed. Welcome!"]} /> : null}
      {accountDeleted ? (
        <FormMessage
          tone="success"
          errors={[
            "Your account is deleted. A confirmation is on its way to your old address. Goodbye, and thank you.",
          ]}
        />
      ) : null}
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
      <ModelList groups={groups} unavailableCount={unavailableCount} />
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
