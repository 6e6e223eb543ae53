import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useMemo } from "react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { getWalletBalance } from "#app/models/ledger.server";
import { CardTopUpError, startCardTopUp } from "#app/models/stripe-topups.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { readForm } from "#app/utils/form.server";
import { formatMoney, microsToDecimalString, parseAmount, toStripeAmount } from "#app/utils/money";
import { consumeRateLimit, retryMessage } from "#app/utils/rate-limit.server";

export const meta: MetaFunction = () => [{ title: "Top up your wallet · AI Wallet" }];

/** Limits as strings of micro-units (they travel to the browser for the same checks there). */
type Limits = { currency: string; min: string; max: string };

/** parseAmount plus the configured limits and what Stripe can charge: the one rule, server and browser. */
function checkAmount(text: string, limits: Limits): { ok: true; micros: bigint } | { ok: false; error: string } {
  const parsed = parseAmount(text, limits.currency);
  if (!parsed.ok) return parsed;
  const min = BigInt(limits.min);
  const max = BigInt(limits.max);
  if (parsed.micros < min) return { ok: false, error: `The smallest top-up is ${formatMoney(min, limits.currency)}` };
  if (parsed.micros > max) return { ok: false, error: `The largest top-up is ${formatMoney(max, limits.currency)}` };
  try {
    toStripeAmount(parsed.micros, limits.currency);
  } catch {
    return { ok: false, error: "Card payments cannot be made for that exact amount" };
  }
  return parsed;
}

const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

function topUpSchema(limits: Limits) {
  return z.object({ requestId: z.string().optional(), amount: z.string().optional() }).transform((value, ctx) => {
    if (!value.requestId || !REQUEST_ID.test(value.requestId)) {
      ctx.addIssue({ code: "custom", path: [], message: "This form has expired. Reload the page and try again." });
      return z.NEVER;
    }
    if (!value.amount) {
      ctx.addIssue({ code: "custom", path: ["amount"], message: "Choose an amount or type one" });
      return z.NEVER;
    }
    const checked = checkAmount(value.amount, limits);
    if (!checked.ok) {
      ctx.addIssue({ code: "custom", path: ["amount"], message: checked.error });
      return z.NEVER;
    }
    return { requestId: value.requestId, micros: checked.micros };
  });
}

function serverLimits(): Limits {
  return { currency: env.WALLET_CURRENCY, min: env.topUp.min.toString(), max: env.topUp.max.toString() };
}

// Each member may open a few payment pages an hour: enough for any real use, not enough to spam Stripe.
const TOPUP_RATE = { limit: 20, windowSeconds: 60 * 60 };

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const limits = serverLimits();
  const { available } = await getWalletBalance(user.id);
  const presets = env.topUp.presets
    .filter((preset) => checkAmount(microsToDecimalString(preset), limits).ok)
    .map((preset) => ({ value: microsToDecimalString(preset), label: formatMoney(preset, limits.currency) }));
  return data(
    {
      cardAvailable: env.stripeEnabled,
      limits,
      presets,
      minLabel: formatMoney(env.topUp.min, limits.currency),
      maxLabel: formatMoney(env.topUp.max, limits.currency),
      balance: formatMoney(available, limits.currency),
      // One id per page view, sent back with the form: a double submit opens one payment, not two.
      requestId: crypto.randomUUID(),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export async function action({ request }: ActionFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const submission = parseWithZod(await readForm(request), { schema: topUpSchema(serverLimits()) });
  if (!env.stripeEnabled) {
    return data(
      {
        result: submission.reply({
          formErrors: ["Card payment is unavailable right now. You can pay by mobile money or bank transfer."],
        }),
      },
      { status: 503 },
    );
  }
  if (submission.status !== "success") return data({ result: submission.reply() }, { status: 400 });
  const limit = await consumeRateLimit(`topup:card:${user.id}`, TOPUP_RATE);
  if (!limit.allowed) {
    return data({ result: submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)] }) }, { status: 429 });
  }
  try {
    const { url } = await startCardTopUp({
      userId: user.id,
      amount: submission.value.micros,
      requestId: submission.value.requestId,
    });
    return redirect(url);
  } catch (error) {
    if (!(error instanceof CardTopUpError)) throw error;
    if (error.code === "invalid_amount") {
      return data({ result: submission.reply({ fieldErrors: { amount: [error.message] } }) }, { status: 400 });
    }
    return data(
      {
        result: submission.reply({
          formErrors: [
            error.code === "unavailable"
              ? "Card payment is unavailable right now. You can pay by mobile money or bank transfer."
              : "We could not reach the card payment service. Nothing was charged. Please try again in a moment.",
          ],
        }),
      },
      { status: error.code === "unavailable" ? 503 : 502 },
    );
  }
}

export default function TopUp() {
  const { cardAvailable, limits, presets, minLabel, maxLabel, balance, requestId } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const schema = useMemo(() => topUpSchema(limits), [limits]);
  const [form, fields] = useForm({
    id: "card-top-up",
    lastResult: actionData?.result,
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    shouldValidate: "onSubmit",
    shouldRevalidate: "onInput",
  });

  return (
    <div className="mx-auto max-w-md space-y-6">
      <div>
        <Link to="/wallet" className="text-sm link">
          Back to my wallet
        </Link>
        <h1 className="mt-2 text-2xl font-bold">Top up your wallet</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Available balance: <strong className="text-zinc-900 dark:text-zinc-100">{balance}</strong>
        </p>
      </div>

      <section aria-labelledby="card-heading" className="space-y-4 card">
        <h2 id="card-heading" className="text-lg font-semibold">
          Pay by card
        </h2>
        {cardAvailable ? (
          <>
            <FormMessage id={form.errorId} errors={form.errors} />
            {presets.length ? (
              <Form method="post" aria-labelledby="presets-heading">
                <input type="hidden" name="requestId" value={requestId} />
                <p id="presets-heading" className="mb-2 text-sm font-medium">
                  Choose an amount
                </p>
                <div className="grid grid-cols-2 gap-3">
                  {presets.map((preset) => (
                    <SubmitButton
                      key={preset.value}
                      name="amount"
                      value={preset.value}
                      pendingText="Opening…"
                      className="btn-secondary min-h-14 text-lg"
                    >
                      {preset.label}
                    </SubmitButton>
                  ))}
                </div>
              </Form>
            ) : null}
            <Form method="post" className="space-y-3" {...getFormProps(form)}>
              <input type="hidden" name="requestId" value={requestId} />
              <Field
                label={presets.length ? "Or enter another amount" : "Amount"}
                hint={`From ${minLabel} to ${maxLabel}, in ${limits.currency}.`}
                errors={fields.amount.errors}
                inputProps={{
                  ...getInputProps(fields.amount, { type: "text" }),
                  inputMode: "decimal",
                  autoComplete: "off",
                  placeholder: "e.g. 15",
                }}
              />
              <SubmitButton name="intent" value="custom" pendingText="Opening secure payment…">
                Continue to payment
              </SubmitButton>
            </Form>
            <p className="text-sm text-zinc-600 dark:text-zinc-400">
              You pay on Stripe&rsquo;s secure page; your card number never reaches this site. Your wallet is credited
              as soon as Stripe confirms the payment, and we email you a receipt.
            </p>
          </>
        ) : (
          <p role="status" className="text-sm">
            Card payment is unavailable on this server right now. You can still top up by mobile money or bank transfer.
          </p>
        )}
      </section>

      <section aria-labelledby="manual-heading" className="space-y-3 card">
        <h2 id="manual-heading" className="text-lg font-semibold">
          Mobile money or bank transfer
        </h2>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          Send the money yourself, tell us the transaction reference, and our team adds it to your wallet once they have
          checked it.
        </p>
        <Link to="/wallet/top-up/manual" className="btn-secondary w-full">
          Pay by mobile money or bank transfer
        </Link>
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
