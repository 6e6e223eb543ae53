import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useEffect, useState } from "react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { requestManualTopUp } from "#app/models/manual-topups.server";
import { listEnabledMethods } from "#app/models/payment-methods.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import {
  MAX_RECEIPT_BYTES,
  RECEIPT_ACCEPT,
  RECEIPT_TOO_LARGE,
  readUploadForm,
  UploadError,
} from "#app/utils/file-type.server";
import { formatMoney, parseAmount } from "#app/utils/money";
import { consumeRateLimit, retryMessage } from "#app/utils/rate-limit.server";

export const meta: MetaFunction = () => [{ title: "Top up by mobile money or bank transfer — AI Wallet" }];

/** Ten requests an hour is plenty for a person and keeps the admin queue free of floods. */
const REQUEST_LIMIT = { limit: 10, windowSeconds: 60 * 60 };

type SchemaOptions = {
  currency: string;
  min: bigint;
  max: bigint;
  minLabel: string;
  maxLabel: string;
  maxReceiptBytes: number;
  receiptTooLarge: string;
};

// The same rules run in the browser (instant feedback) and on the server (the ones that count; the
// server also sniffs the receipt's real type, which the browser cannot be trusted to say).
function manualTopUpSchema(options: SchemaOptions) {
  return z.object({
    methodId: z.string({ error: "Choose how you paid" }).min(1, "Choose how you paid"),
    amount: z.string({ error: "Enter the amount you sent" }).transform((text, ctx) => {
      const parsed = parseAmount(text, options.currency);
      if (!parsed.ok) {
        ctx.addIssue({ code: "custom", message: parsed.error });
        return z.NEVER;
      }
      if (parsed.micros < options.min || parsed.micros > options.max) {
        ctx.addIssue({ code: "custom", message: `Enter an amount from ${options.minLabel} to ${options.maxLabel}` });
        return z.NEVER;
      }
      return parsed.micros;
    }),
    senderNumber: z
      .string({ error: "Enter the phone number or account you paid from" })
      .trim()
      .max(40, "That is too long for a phone number")
      .refine(
        (value) => /^\+?\d{6,15}$/.test(value.replace(/[\s\u00a0().-]/g, "")),
        "Enter a phone number with 6 to 15 digits, like +237 670 00 00 00",
      ),
    reference: z
      .string({ error: "Enter the transaction reference from your payment message" })
      .trim()
      .max(64, "At most 64 characters")
      .refine(
        (value) => value.replace(/[\s\u00a0\u2010-\u2015-]+/g, "").length >= 4,
        "Enter the full reference (at least 4 letters or digits)",
      ),
    // Only the browser sees the file here; the server reads and checks it separately.
    receipt: z
      .any()
      .optional()
      .superRefine((value, ctx) => {
        if (typeof File === "undefined" || !(value instanceof File) || value.size === 0) return;
        if (value.size > options.maxReceiptBytes) ctx.addIssue({ code: "custom", message: options.receiptTooLarge });
      }),
  });
}

function schemaOptions(): SchemaOptions {
  const currency = env.WALLET_CURRENCY;
  return {
    currency,
    min: env.topUp.min,
    max: env.topUp.max,
    minLabel: formatMoney(env.topUp.min, currency),
    maxLabel: formatMoney(env.topUp.max, currency),
    maxReceiptBytes: MAX_RECEIPT_BYTES,
    receiptTooLarge: RECEIPT_TOO_LARGE,
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  await requireVerifiedUser(request);
  const methods = await listEnabledMethods();
  const url = new URL(request.url);
  const wanted = url.searchParams.get("method");
  // With a single method there is nothing to choose.
  const selectedId = wanted ?? (methods.length === 1 ? methods[0]!.id : null);
  const selected = selectedId ? (methods.find((method) => method.id === selectedId) ?? null) : null;
  const options = schemaOptions();
  return {
    methods: methods.map((method) => ({ id: method.id, name: method.name, currencyNote: method.currencyNote })),
    selected,
    unknownMethod: Boolean(wanted && !selected),
    limits: {
      currency: options.currency,
      min: options.min.toString(),
      max: options.max.toString(),
      minLabel: options.minLabel,
      maxLabel: options.maxLabel,
      maxReceiptBytes: options.maxReceiptBytes,
      receiptTooLarge: options.receiptTooLarge,
      accept: RECEIPT_ACCEPT,
    },
  };
}

export async function action({ request }: ActionFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const schema = manualTopUpSchema(schemaOptions());
  let upload: Awaited<ReturnType<typeof readUploadForm>>;
  try {
    upload = await readUploadForm(request, { files: { receipt: { maxBytes: MAX_RECEIPT_BYTES } } });
  } catch (error) {
    if (!(error instanceof UploadError)) throw error;
    const submission = parseWithZod(new FormData(), { schema });
    return data(
      { result: submission.reply({ formErrors: ["We could not read that form. Please try again."] }) },
      { status: 400 },
    );
  }

  const submission = parseWithZod(upload.fields, { schema });
  // A receipt over the limit stopped the reading: say so next to the file input, keep what was typed.
  const fileErrors: Record<string, string[]> = upload.tooLarge.has("receipt") ? { receipt: [RECEIPT_TOO_LARGE] } : {};
  if (submission.status !== "success" || upload.tooLarge.size > 0) {
    return data({ result: submission.reply({ fieldErrors: fileErrors }) }, { status: 400 });
  }

  const limit = await consumeRateLimit(`manual-topup:user:${user.id}`, REQUEST_LIMIT);
  if (!limit.allowed) {
    return data({ result: submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)] }) }, { status: 429 });
  }

  const receipt = upload.files.get("receipt") ?? null;
  const outcome = await requestManualTopUp({
    userId: user.id,
    methodId: submission.value.methodId,
    amount: submission.value.amount,
    senderNumber: submission.value.senderNumber,
    reference: submission.value.reference,
    receipt,
  });
  if (!outcome.ok) {
    return data({ result: submission.reply({ fieldErrors: { [outcome.field]: [outcome.error] } }) }, { status: 400 });
  }
  throw redirect(`/wallet/top-ups?sent=${encodeURIComponent(outcome.topUp.id)}`);
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [supported, setSupported] = useState(false);
  const [copied, setCopied] = useState(false);
  useEffect(() => setSupported(typeof navigator !== "undefined" && Boolean(navigator.clipboard)), []);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2500);
    return () => clearTimeout(timer);
  }, [copied]);
  // Without JavaScript (or clipboard access) the number is still there to select by hand.
  if (!supported) return null;
  return (
    <>
      <button
        type="button"
        className="btn-secondary min-h-11 shrink-0"
        aria-label={label}
        onClick={() => {
          void navigator.clipboard.writeText(text).then(
            () => setCopied(true),
            () => setCopied(false),
          );
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
      <span role="status" aria-live="polite" className="sr-only">
        {copied ? "Copied to the clipboard" : ""}
      </span>
    </>
  );
}

function MethodChooser({
  methods,
  unknownMethod,
}: {
  methods: Array<{ id: string; name: string; currencyNote: string | null }>;
  unknownMethod: boolean;
}) {
  return (
    <section aria-labelledby="choose-heading" className="space-y-3">
      <h2 id="choose-heading" className="text-lg font-semibold">
        How did you pay?
      </h2>
      {unknownMethod ? <FormMessage errors={["That payment method is not available. Choose another one."]} /> : null}
      {methods.length === 0 ? (
        <p className="card text-sm">
          No manual payment methods are set up yet. Please top up by card or contact support.
        </p>
      ) : (
        <ul className="grid gap-3 sm:grid-cols-2">
          {methods.map((method) => (
            <li key={method.id}>
              <Link
                to={`?method=${encodeURIComponent(method.id)}`}
                className="flex min-h-16 items-center justify-between gap-3 card hover:border-brand-500"
              >
                <span>
                  <span className="block font-semibold">{method.name}</span>
                  {method.currencyNote ? (
                    <span className="block text-sm text-zinc-600 dark:text-zinc-400">{method.currencyNote}</span>
                  ) : null}
                </span>
                <span aria-hidden="true" className="text-xl">
                  ›
                </span>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export default function ManualTopUp() {
  const { methods, selected, unknownMethod, limits } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: `manual-topup-${selected?.id ?? "none"}`,
    lastResult: actionData?.result,
    onValidate: ({ formData }) =>
      parseWithZod(formData, {
        schema: manualTopUpSchema({ ...limits, min: BigInt(limits.min), max: BigInt(limits.max) }),
      }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });

  return (
    <div className="mx-auto max-w-xl space-y-6">
      <div>
        <p className="text-sm">
          <Link to="/wallet" className="link">
            Wallet
          </Link>{" "}
          ›{" "}
          <Link to="/wallet/top-ups" className="link">
            My manual top-ups
          </Link>
        </p>
        <h1 className="mt-2 text-2xl font-bold">Top up by mobile money or bank transfer</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Send the money, then tell us the amount and the transaction reference. An admin checks the payment and credits
          your wallet in {limits.currency}; we email you either way.
        </p>
      </div>

      {!selected ? (
        <MethodChooser methods={methods} unknownMethod={unknownMethod} />
      ) : (
        <>
          <section aria-labelledby="pay-heading" className="space-y-3 card">
            <div className="flex items-center justify-between gap-3">
              <h2 id="pay-heading" className="text-lg font-semibold">
                1. Pay with {selected.name}
              </h2>
              {methods.length > 1 ? (
                <Link to="." className="text-sm link">
                  Change
                </Link>
              ) : null}
            </div>
            <p className="text-sm whitespace-pre-line">{selected.instructions}</p>
            <div>
              <p className="text-sm font-medium" id="account-number-label">
                Account number
              </p>
              <div className="mt-1 flex items-center gap-2">
                <output
                  aria-labelledby="account-number-label"
                  className="min-w-0 flex-1 rounded-lg bg-zinc-100 px-3 py-2 font-mono text-lg tracking-wide select-all dark:bg-zinc-800"
                >
                  {selected.accountNumber}
                </output>
                <CopyButton text={selected.accountNumber} label={`Copy the ${selected.name} account number`} />
              </div>
            </div>
            {selected.accountName ? (
              <p className="text-sm">
                <span className="font-medium">Account name:</span> {selected.accountName}
              </p>
            ) : null}
            {selected.currencyNote ? (
              <p className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
                {selected.currencyNote}
              </p>
            ) : null}
          </section>

          <section aria-labelledby="tell-heading" className="space-y-3">
            <h2 id="tell-heading" className="text-lg font-semibold">
              2. Tell us about your payment
            </h2>
            <Form
              method="post"
              encType="multipart/form-data"
              className="space-y-4 card"
              {...getFormProps(form)}
              // Reset the form when the member switches method.
              key={selected.id}
            >
              <FormMessage id={form.errorId} errors={form.errors} />
              <input type="hidden" name="methodId" value={selected.id} />
              <Field
                label={`Amount you sent (${limits.currency})`}
                hint={`From ${limits.minLabel} to ${limits.maxLabel}.`}
                errors={fields.amount.errors}
                inputProps={{
                  ...getInputProps(fields.amount, { type: "text" }),
                  inputMode: "decimal",
                  autoComplete: "off",
                }}
              />
              <Field
                label="Phone number you paid from"
                hint="Or the account number, for a bank transfer."
                errors={fields.senderNumber.errors}
                inputProps={{ ...getInputProps(fields.senderNumber, { type: "tel" }), autoComplete: "tel" }}
              />
              <Field
                label="Transaction reference"
                hint="From the confirmation SMS or receipt, e.g. MP240312.1405.A12345."
                errors={fields.reference.errors}
                inputProps={{
                  ...getInputProps(fields.reference, { type: "text" }),
                  autoComplete: "off",
                  autoCapitalize: "characters",
                  spellCheck: false,
                }}
              />
              {/* Last on purpose: if the file is too big the server stops reading there, after the fields above. */}
              <Field
                label="Receipt (optional)"
                hint="A screenshot or photo (JPEG, PNG, WebP) or a PDF, up to 5 MB."
                errors={fields.receipt.errors}
                inputProps={{ ...getInputProps(fields.receipt, { type: "file" }), accept: limits.accept }}
              />
              <SubmitButton pendingText="Sending…">Send for review</SubmitButton>
            </Form>
          </section>
        </>
      )}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
