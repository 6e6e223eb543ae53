import { getFormProps, getInputProps, getTextareaProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { CheckboxField, ErrorList, Field, SubmitButton } from "#app/components/forms";
import { listCatalogForAdmin, updateCatalogModel } from "#app/models/catalog.server";
import { requireRole } from "#app/utils/auth.server";
import { describePrice } from "#app/utils/catalog";
import { env } from "#app/utils/env.server";
import { readForm } from "#app/utils/form.server";
import { microsToDecimalString, parseAmount, parseDecimal } from "#app/utils/money";
import { clientIp } from "#app/utils/request.server";

export const meta: MetaFunction = () => [{ title: "Edit model — Admin — AI Wallet" }];

// Prices are typed in the wallet currency per unit ("2.50" per million tokens) and kept as exact integer
// micro-units; the markup in percent with up to two decimals (kept as basis points).
function price(label: string, currency: string) {
  return z
    .string()
    .trim()
    .optional()
    .transform((text, ctx) => {
      if (!text) return 0n;
      const parsed = parseAmount(text, currency, { allowZero: true, precise: true });
      if (!parsed.ok) {
        ctx.addIssue({ code: "custom", message: `${label}: ${parsed.error}` });
        return z.NEVER;
      }
      return parsed.micros;
    });
}

function editSchema(currency: string) {
  return z.object({
    label: z.string({ error: "Give the model a name" }).trim().min(1, "Give the model a name").max(80),
    description: z.string().trim().max(500, "At most 500 characters").optional().default(""),
    enabled: z.preprocess((value) => value === "on", z.boolean()),
    inputPerMillion: price("Input", currency),
    outputPerMillion: price("Output", currency),
    cachedInputPerMillion: price("Cached input", currency),
    perImage: price("Per image", currency),
    imagePrices: z
      .string()
      .optional()
      .transform((text, ctx) => {
        const prices: Record<string, bigint> = {};
        for (const [index, raw] of (text ?? "").split("\n").entries()) {
          const line = raw.trim();
          if (!line) continue;
          const match = /^(\d{2,5}x\d{2,5}(?:\/[a-z0-9-]{1,20})?)\s*=\s*(\S+)$/i.exec(line);
          const parsed = match ? parseAmount(match[2]!, currency, { allowZero: true, precise: true }) : null;
          if (!match || !parsed?.ok) {
            ctx.addIssue({
              code: "custom",
              message: `Line ${index + 1}: write "1024x1024 = 0.04" or "1024x1024/hd = 0.08"`,
            });
            return z.NEVER;
          }
          prices[match[1]!.toLowerCase()] = parsed.micros;
        }
        return prices;
      }),
    perVideoSecond: price("Per second", currency),
    perThousandCharacters: price("Per 1,000 characters", currency),
    markupPercent: z
      .string()
      .trim()
      .optional()
      .transform((text, ctx) => {
        if (!text) return 0;
        // Basis points: the percentage with two decimals, by the same strict parser as every amount.
        const parsed = parseDecimal(text, {
          scale: 2,
          maxDecimals: 2,
          maxWholeDigits: 4,
          example: "15 or 12.5",
          noun: "percentage",
        });
        if (!parsed.ok) {
          ctx.addIssue({ code: "custom", message: `Markup: ${parsed.error}` });
          return z.NEVER;
        }
        return Number(parsed.value);
      }),
  });
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  await requireRole(request, "admin");
  const entry = (await listCatalogForAdmin()).find((model) => model.id === params.id);
  if (!entry) throw new Response("Not Found", { status: 404 });
  const decimal = (amount: bigint) => (amount === 0n ? "" : microsToDecimalString(amount));
  return {
    entry,
    currency: env.WALLET_CURRENCY,
    priceText: describePrice(entry, env.WALLET_CURRENCY),
    defaults: {
      label: entry.label,
      description: entry.description,
      enabled: entry.enabled ? "on" : undefined,
      inputPerMillion: decimal(entry.price.inputPerMillion),
      outputPerMillion: decimal(entry.price.outputPerMillion),
      cachedInputPerMillion: decimal(entry.price.cachedInputPerMillion),
      perImage: decimal(entry.price.perImage),
      imagePrices: Object.entries(entry.price.imagePrices)
        .map(([key, value]) => `${key} = ${microsToDecimalString(value)}`)
        .join("\n"),
      perVideoSecond: decimal(entry.price.perVideoSecond),
      perThousandCharacters: decimal(entry.price.perThousandCharacters),
      markupPercent: entry.price.markupBps ? String(entry.price.markupBps / 100) : "",
    },
  };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const admin = await requireRole(request, "admin");
  const submission = parseWithZod(await readForm(request), { schema: editSchema(env.WALLET_CURRENCY) });
  if (submission.status !== "success") return data({ result: submission.reply() }, { status: 400 });
  const { markupPercent, ...rest } = submission.value;
  const updated = await updateCatalogModel(
    params.id ?? "",
    { ...rest, markupBps: markupPercent },
    { id: admin.id, ip: clientIp(context) },
  );
  if (!updated) throw new Response("Not Found", { status: 404 });
  return redirect("/admin/models");
}

export default function EditModel() {
  const { entry, currency, defaults, priceText } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    lastResult: actionData?.result,
    defaultValue: defaults,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: editSchema(currency) }),
    shouldValidate: "onBlur",
  });
  const money = `${currency}`;
  const priceFields =
    entry.modality === "text"
      ? ([
          ["inputPerMillion", `Input, per million tokens (${money})`],
          ["outputPerMillion", `Output, per million tokens (${money})`],
          ["cachedInputPerMillion", `Cached input, per million tokens (${money})`],
        ] as const)
      : entry.modality === "image"
        ? ([
            ["perImage", `Per image, default (${money})`],
            // Models such as GPT Image also bill the prompt and input pictures by the token.
            ["inputPerMillion", `Input, per million tokens, if the model bills them (${money})`],
          ] as const)
        : entry.modality === "video"
          ? ([["perVideoSecond", `Per second of video (${money})`]] as const)
          : ([["perThousandCharacters", `Per 1,000 characters (${money})`]] as const);
  return (
    <main className="mx-auto max-w-2xl px-4 py-6 sm:py-10">
      <p className="text-sm">
        <Link className="link" to="/admin/models">
          All models
        </Link>
      </p>
      <h1 className="mt-2 text-2xl font-semibold">{entry.label}</h1>
      <p className="text-sm [overflow-wrap:anywhere] text-zinc-600 dark:text-zinc-400">
        {entry.id} · now {priceText}
      </p>
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <Field label="Name" inputProps={getInputProps(fields.label, { type: "text" })} errors={fields.label.errors} />
        <div>
          <label htmlFor={fields.description.id} className="mb-1 block text-sm font-medium">
            Description
          </label>
          <textarea
            className="input"
            rows={3}
            {...getTextareaProps(fields.description)}
            aria-describedby={fields.description.errors ? fields.description.errorId : undefined}
          />
          <ErrorList id={fields.description.errorId} errors={fields.description.errors} />
        </div>
        <CheckboxField
          label="Offered to members"
          inputProps={getInputProps(fields.enabled, { type: "checkbox" })}
          errors={fields.enabled.errors}
        />
        {priceFields.map(([name, label]) => (
          <Field
            key={name}
            label={label}
            inputProps={{ ...getInputProps(fields[name], { type: "text" }), inputMode: "decimal" }}
            errors={fields[name].errors}
          />
        ))}
        {entry.modality === "image" ? (
          <div>
            <label htmlFor={fields.imagePrices.id} className="mb-1 block text-sm font-medium">
              Prices by size or size/quality ({money}), one per line
            </label>
            <textarea
              className="input font-mono"
              rows={5}
              placeholder="1024x1024/hd = 0.08"
              {...getTextareaProps(fields.imagePrices)}
              aria-describedby={fields.imagePrices.errors ? fields.imagePrices.errorId : undefined}
            />
            <ErrorList id={fields.imagePrices.errorId} errors={fields.imagePrices.errors} />
          </div>
        ) : null}
        <Field
          label="Markup (%)"
          hint="Added on top of the provider's price; this is the service's margin."
          inputProps={{ ...getInputProps(fields.markupPercent, { type: "text" }), inputMode: "decimal" }}
          errors={fields.markupPercent.errors}
        />
        <SubmitButton>Save</SubmitButton>
      </Form>
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
