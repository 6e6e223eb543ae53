import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { listCatalogForAdmin } from "#app/models/catalog.server";
import { requireRole } from "#app/utils/auth.server";
import { describePrice, MODALITY_LABELS } from "#app/utils/catalog";
import { env } from "#app/utils/env.server";

export const meta: MetaFunction = () => [{ title: "Models — Admin — AI Wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireRole(request, "admin");
  return { models: await listCatalogForAdmin(), currency: env.WALLET_CURRENCY };
}

export default function AdminModels() {
  const { models, currency } = useLoaderData<typeof loader>();
  return (
    <main className="mx-auto max-w-5xl px-4 py-6 sm:py-10">
      <h1 className="text-2xl font-semibold">Models</h1>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        Prices members pay, markup included. A model is offered when it is enabled here and its provider has a key.
      </p>
      <ul className="mt-6 space-y-3">
        {models.map((model) => (
          <li key={model.id} className="flex flex-col gap-2 card sm:flex-row sm:items-center sm:justify-between">
            <div className="min-w-0">
              <p className="font-semibold">
                <Link className="link" to={`/admin/models/${encodeURIComponent(model.id)}`}>
                  {model.label}
                </Link>{" "}
                <span className="text-sm font-normal break-all text-zinc-500">{model.id}</span>
              </p>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">
                {MODALITY_LABELS[model.modality]} · {describePrice(model, currency)}
                {model.price.markupBps ? ` · markup ${model.price.markupBps / 100} %` : ""}
              </p>
            </div>
            <p className="text-sm">
              {!model.enabled ? (
                <span className="rounded bg-zinc-200 px-2 py-0.5 dark:bg-zinc-800">Switched off</span>
              ) : model.available ? (
                <span className="rounded bg-emerald-100 px-2 py-0.5 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100">
                  Offered
                </span>
              ) : (
                <span className="rounded bg-amber-100 px-2 py-0.5 text-amber-900 dark:bg-amber-900 dark:text-amber-100">
                  {model.unavailableReason}
                </span>
              )}
            </p>
          </li>
        ))}
      </ul>
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
