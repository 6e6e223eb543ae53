import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { listCatalog } from "#app/models/catalog.server";
import { listEnabledMethods } from "#app/models/payment-methods.server";
import { getUser } from "#app/utils/auth.server";
import { describePrice, MODALITY_LABELS } from "#app/utils/catalog";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";
import type { Modality } from "#app/utils/pricing";

export const meta: MetaFunction = () => [{ title: "Pricing · AI Wallet" }];

// Every number on this page comes from the catalog and the settings the server itself uses to charge.
export async function loader({ request }: LoaderFunctionArgs) {
  const [user, catalog, methods] = await Promise.all([getUser(request), listCatalog(), listEnabledMethods()]);
  const currency = env.WALLET_CURRENCY;
  const groups = (Object.keys(MODALITY_LABELS) as Modality[])
    .map((modality) => ({
      modality,
      label: MODALITY_LABELS[modality],
      models: catalog
        .filter((entry) => entry.modality === modality)
        .map((entry) => ({
          id: entry.id,
          label: entry.label,
          providerLabel: entry.providerLabel,
          description: entry.description,
          price: describePrice(entry, currency),
          demo: entry.provider === "demo",
          available: entry.available,
          unavailableReason: entry.unavailableReason,
        })),
    }))
    .filter((group) => group.models.length > 0);
  return {
    signedIn: Boolean(user),
    currency,
    groups,
    topUp: { min: formatMoney(env.topUp.min, currency), max: formatMoney(env.topUp.max, currency) },
    welcomeCredit: env.welcomeCredit > 0n ? formatMoney(env.welcomeCredit, currency) : null,
    card: env.stripeEnabled,
    manualMethods: methods.map((method) => method.name),
    timeoutMinutes: Math.round((env.GENERATION_TIMEOUT_SECONDS / 60) * 10) / 10,
  };
}

type Group = ReturnType<typeof useLoaderData<typeof loader>>["groups"][number];

function PriceTable({ group }: { group: Group }) {
  const headingId = `pricing-${group.modality}`;
  return (
    <section aria-labelledby={headingId} className="space-y-2">
      <h3 id={headingId} className="text-lg font-semibold">
        {group.label}
      </h3>
      {/* A table on wide screens; on a phone each row becomes a stacked card (no sideways scrolling). */}
      <table className="block w-full text-sm sm:table sm:table-fixed">
        <thead className="sr-only sm:not-sr-only sm:table-header-group">
          <tr className="border-b border-zinc-200 text-left dark:border-zinc-800">
            <th scope="col" className="py-2 pr-4 font-medium sm:w-5/12">
              Model
            </th>
            <th scope="col" className="py-2 pr-4 font-medium sm:w-3/12">
              Provider
            </th>
            <th scope="col" className="py-2 font-medium">
              Price
            </th>
          </tr>
        </thead>
        <tbody className="block space-y-3 sm:table-row-group sm:space-y-0">
          {group.models.map((model) => (
            <tr
              key={model.id}
              className={`block card sm:table-row sm:rounded-none sm:border-0 sm:border-b sm:border-zinc-200 sm:bg-transparent sm:p-0 sm:shadow-none dark:sm:border-zinc-800 ${model.available ? "" : "opacity-70"}`}
            >
              <td className="block sm:table-cell sm:py-2 sm:pr-4 sm:align-top">
                <span className="font-medium">{model.label}</span>
                {model.demo ? (
                  <span className="ml-2 rounded-full bg-amber-100 px-2 py-0.5 text-xs font-semibold text-amber-900 dark:bg-amber-900 dark:text-amber-100">
                    Demo
                  </span>
                ) : null}
                {model.available ? null : (
                  <span className="block text-xs text-zinc-600 dark:text-zinc-400">{model.unavailableReason}</span>
                )}
              </td>
              <td className="block text-zinc-600 sm:table-cell sm:py-2 sm:pr-4 sm:align-top dark:text-zinc-400">
                <span className="sm:hidden">Provider: </span>
                {model.providerLabel}
              </td>
              <td className="mt-1 block font-medium sm:mt-0 sm:table-cell sm:py-2 sm:align-top">
                <span className="font-normal sm:hidden">Price: </span>
                {model.price}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export default function Pricing() {
  const page = useLoaderData<typeof loader>();
  const ways = [...(page.card ? ["card"] : []), ...page.manualMethods];
  return (
    <div className="space-y-10">
      <header className="max-w-2xl">
        <h1 className="text-3xl font-bold">Pricing</h1>
        <p className="mt-2 text-lg text-zinc-600 dark:text-zinc-400">
          No subscription. You top up a prepaid wallet and each generation is paid from it, at the prices below.
        </p>
      </header>

      <section aria-labelledby="how-heading" className="max-w-2xl space-y-3 leading-relaxed">
        <h2 id="how-heading" className="text-2xl font-bold">
          How billing works
        </h2>
        <ol className="list-decimal space-y-2 pl-5">
          <li>
            <strong>Top up your wallet</strong> in {page.currency}, from {page.topUp.min} to {page.topUp.max} at a time
            {ways.length > 0 ? <> ({ways.join(", ")})</> : null}.
            {page.welcomeCredit ? (
              <>
                {" "}
                New members get {page.welcomeCredit} of free credit once they confirm their email address (once per
                person).
              </>
            ) : null}
          </li>
          <li>
            <strong>See the price before you send.</strong> The generate page shows the most a request can cost, from
            the model&apos;s price and what you ask for.
          </li>
          <li>
            <strong>We set that maximum aside, then charge what was actually used.</strong> The rest goes straight back
            to your available balance. Your balance can never go below zero.
          </li>
          <li>
            <strong>You pay for the output that reached you, and only for that.</strong> When a text answer stops early
            (you press Stop or leave the page, the provider takes too long: a call is stopped after{" "}
            {page.timeoutMinutes} minutes, or it fails part-way), you are charged for your prompt and the part of the
            answer you received, never more than the amount set aside, and the page says so: &ldquo;Stopped after N
            tokens: charged &hellip;&rdquo;. A generation that delivered nothing costs nothing: the money set aside is
            released and the page says &ldquo;You were not charged&rdquo;.
          </li>
          <li>
            <strong>Output is counted from the provider&apos;s own token counts.</strong> Where a provider did not count
            all of it (some report only at the very end of an answer, some compatible servers never do), we count at
            most one token per byte of the text you received, since no model writes fewer than one byte per token. Such
            a generation is marked &ldquo;usage estimated&rdquo; in your history, and is never charged more than the
            amount set aside.
          </li>
          <li>
            <strong>Set a limit per request</strong> if you like: when the most a request could cost is above it, a text
            answer is kept shorter to fit, and other requests are refused before anything is sent.
          </li>
        </ol>
        <p>Every movement of money is listed in your wallet statement.</p>
        <div className="flex flex-wrap gap-3 pt-2">
          {page.signedIn ? (
            <Link to="/wallet" className="btn-primary">
              Go to your wallet
            </Link>
          ) : (
            <Link to="/signup" className="btn-primary">
              Create a free account
            </Link>
          )}
          <Link to="/contact" className="btn-secondary">
            Questions? Contact us
          </Link>
        </div>
      </section>

      <section aria-labelledby="prices-heading" className="space-y-6">
        <div className="max-w-2xl">
          <h2 id="prices-heading" className="text-2xl font-bold">
            Model prices
          </h2>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            In {page.currency}, our margin included. Text models are priced per million tokens (a token is about
            three-quarters of an English word), separately for what you send and what the model writes.
          </p>
        </div>
        {page.groups.length === 0 ? (
          <p className="card text-sm">No models are offered on this server yet.</p>
        ) : (
          page.groups.map((group) => <PriceTable key={group.modality} group={group} />)
        )}
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
