import { getFormProps, getInputProps, getTextareaProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { useEffect, useMemo, useRef, useState } from "react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { ErrorList, FormMessage } from "#app/components/forms";
import { estimateFromForm, EstimateNote, ModelPicker } from "#app/components/generation-form";
import { Markdown } from "#app/components/markdown";
import { listCatalog } from "#app/models/catalog.server";
import { getWalletBalance } from "#app/models/ledger.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import type { CatalogEntry } from "#app/utils/catalog";
import { env } from "#app/utils/env.server";
import { compareSchema, newRequestId, refusalEntry, refusalResult } from "#app/utils/generation-form";
import { formatMoney } from "#app/utils/money";
import { useTextStream, type StreamState } from "#app/utils/use-text-stream";

// The same prompt to two text models at once, side by side, each column with its own cost. Each side is an
// ordinary generation (its own hold and charge) sharing a compare group id.

export const meta: MetaFunction = () => [{ title: "Compare models · AI Wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const [catalog, balance] = await Promise.all([listCatalog(), getWalletBalance(user.id)]);
  const text = catalog.filter((entry) => entry.modality === "text");
  const available = text.filter((entry) => entry.available);
  return {
    catalog: text,
    left: available[0]?.id ?? text[0]?.id ?? "",
    right: available[1]?.id ?? available[0]?.id ?? text[0]?.id ?? "",
    currency: env.WALLET_CURRENCY,
    available: balance.available,
  };
}

function Column({
  title,
  state,
  currency,
  testId,
}: {
  title: string;
  state: StreamState;
  currency: string;
  testId: string;
}) {
  const money = (amount: bigint) => formatMoney(amount, currency);
  const busy = state.status === "sending" || state.status === "streaming" || state.status === "settling";
  let footer = "";
  if (state.status === "refused") footer = state.error?.message ?? "";
  else if (busy) footer = state.held !== null ? `Writing… up to ${money(state.held)} reserved.` : "Sending…";
  else if (state.message) footer = state.message;
  else if (state.cost !== null) footer = `Cost ${money(state.cost)}`;
  return (
    <section className="min-w-0 card" aria-labelledby={`${testId}-title`} aria-busy={busy} data-testid={testId}>
      <h2 id={`${testId}-title`} className="text-sm font-semibold tracking-wide text-zinc-500 uppercase">
        {title}
      </h2>
      <div className="mt-3 min-h-24">
        {state.text ? <Markdown text={state.text} /> : busy ? <p className="text-zinc-500">Thinking…</p> : null}
      </div>
      {footer ? (
        <p role="status" className="mt-3 border-t border-zinc-200 pt-2 text-sm dark:border-zinc-800">
          {footer}
        </p>
      ) : null}
      {state.status === "done" && state.generationId ? (
        <Link className="mt-2 inline-block text-sm link" to={`/history/${state.generationId}`}>
          Details
        </Link>
      ) : null}
    </section>
  );
}

/** The fields this form shows; each side's `model` is its picker. */
const SHOWN_FIELDS = ["left", "right", "prompt", "maxOutputTokens"];

export default function ComparePage() {
  const loaded = useLoaderData<typeof loader>();
  const { catalog, currency } = loaded;
  const schema = useMemo(() => compareSchema(currency), [currency]);
  const [leftId, setLeftId] = useState(loaded.left);
  const [rightId, setRightId] = useState(loaded.right);
  const [lastResult, setLastResult] = useState<SubmissionResult | undefined>();
  const [estimate, setEstimate] = useState<bigint | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  // The refusals of this compare's two requests (each side answers on its own), shown on the form together.
  const refusals = useRef<Record<string, string[]>>({});
  const refusedOn = (side: "left" | "right") => (final: StreamState) => {
    if (final.status !== "refused" || !final.error) return;
    const [field, message] = refusalEntry(final.error, SHOWN_FIELDS, { model: side });
    const messages = refusals.current[field] ?? [];
    if (messages.includes(message)) return;
    refusals.current = { ...refusals.current, [field]: [...messages, message] };
    setLastResult(refusalResult(refusals.current));
  };
  const left = useTextStream(refusedOn("left"));
  const right = useTextStream(refusedOn("right"));
  const busy = [left.state, right.state].some((state) => ["sending", "streaming", "settling"].includes(state.status));
  const byId = (id: string) => catalog.find((entry) => entry.id === id);
  const leftEntry = byId(leftId);
  const rightEntry = byId(rightId);

  const recompute = () => {
    const sum = [leftEntry, rightEntry]
      .filter((entry): entry is CatalogEntry => Boolean(entry))
      .reduce((total, entry) => total + (estimateFromForm(entry, formRef.current, []) ?? 0n), 0n);
    setEstimate(sum);
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(recompute, [leftId, rightId]);

  const [form, fields] = useForm({
    id: "compare",
    lastResult,
    defaultValue: { left: loaded.left, right: loaded.right },
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    // The generation form's schema for two models (see compareSchema), as /api/generate/text checks each side.
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    onSubmit(event, { formData, submission }) {
      event.preventDefault();
      if (submission?.status !== "success") return;
      refusals.current = {};
      const group = newRequestId();
      for (const [side, modelId] of [
        [left, submission.value.left],
        [right, submission.value.right],
      ] as const) {
        const body = new FormData();
        body.set("requestId", newRequestId());
        body.set("compareGroup", group);
        body.set("model", modelId);
        body.set("prompt", String(formData.get("prompt") ?? ""));
        const maxTokens = formData.get("maxOutputTokens");
        if (typeof maxTokens === "string" && maxTokens) body.set("maxOutputTokens", maxTokens);
        void side.start(body);
      }
    },
  });

  return (
    <main className="mx-auto max-w-5xl px-4 py-6 sm:py-10">
      <h1 className="text-2xl font-semibold">Compare two models</h1>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        One prompt, two answers side by side. Each is charged on its own, only for what it uses.
      </p>
      <form ref={formRef} className="mt-6 space-y-4 card" {...getFormProps(form)} onInput={recompute}>
        <div className="grid gap-4 md:grid-cols-2">
          <ModelPicker
            id={fields.left.id}
            name={fields.left.name}
            label="First model"
            catalog={catalog}
            value={leftId}
            onChange={setLeftId}
            currency={currency}
            errors={fields.left.errors}
            modalities={["text"]}
          />
          <ModelPicker
            id={fields.right.id}
            name={fields.right.name}
            label="Second model"
            catalog={catalog}
            value={rightId}
            onChange={setRightId}
            currency={currency}
            errors={fields.right.errors}
            modalities={["text"]}
          />
        </div>
        <div>
          <label htmlFor={fields.prompt.id} className="mb-1 block text-sm font-medium">
            Prompt
          </label>
          <textarea rows={4} className="input" {...getTextareaProps(fields.prompt)} />
          <ErrorList id={fields.prompt.errorId} errors={fields.prompt.errors} />
        </div>
        <div className="sm:max-w-64">
          <label htmlFor={fields.maxOutputTokens.id} className="mb-1 block text-sm font-medium">
            Longest answer (tokens)
          </label>
          <input
            {...getInputProps(fields.maxOutputTokens, { type: "number" })}
            min={1}
            inputMode="numeric"
            className="input"
            // The smaller of the two models' defaults until the member changes it.
            defaultValue={Math.min(
              leftEntry?.capabilities.defaultOutputTokens ?? 1024,
              rightEntry?.capabilities.defaultOutputTokens ?? 1024,
            )}
          />
          <ErrorList id={fields.maxOutputTokens.errorId} errors={fields.maxOutputTokens.errors} />
        </div>
        <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
          <EstimateNote
            estimate={estimate}
            available={loaded.available}
            cap={null}
            currency={currency}
            modality="text"
          />
          <div className="flex gap-2">
            {busy ? (
              <button
                type="button"
                className="btn-secondary"
                onClick={() => {
                  left.stop();
                  right.stop();
                }}
              >
                Stop both
              </button>
            ) : null}
            <button
              type="submit"
              className="btn-primary"
              disabled={busy || !leftEntry?.available || !rightEntry?.available}
            >
              {busy ? "Working…" : "Compare"}
            </button>
          </div>
        </div>
        <FormMessage id={form.errorId} errors={form.errors} />
      </form>

      {left.state.status !== "idle" || right.state.status !== "idle" ? (
        <div className="mt-6 grid gap-4 md:grid-cols-2">
          <Column title={leftEntry?.label ?? leftId} state={left.state} currency={currency} testId="compare-left" />
          <Column title={rightEntry?.label ?? rightId} state={right.state} currency={currency} testId="compare-right" />
        </div>
      ) : null}
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
