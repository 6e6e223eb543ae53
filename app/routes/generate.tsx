import { getFormProps, getInputProps, getTextareaProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation, useSubmit } from "@remix-run/react";
import { useEffect, useMemo, useRef, useState } from "react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { ErrorList, Field, FormMessage } from "#app/components/forms";
import {
  appendFiles,
  AttachmentsField,
  EstimateNote,
  estimateFromForm,
  ModelPicker,
  ModelSettings,
  type ParamDefaults,
} from "#app/components/generation-form";
import { Markdown } from "#app/components/markdown";
import { listCatalog } from "#app/models/catalog.server";
import {
  findGeneration,
  GenerationRefused,
  refusalStatus,
  prepareText,
  streamText,
  submitMedia,
} from "#app/models/generation.server";
import { getWalletBalance } from "#app/models/ledger.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import {
  ATTACHMENT_FIELDS,
  generationSchema,
  MAX_ATTACHMENTS,
  newRequestId,
  refusalResult,
} from "#app/utils/generation-form";
import { readGenerationRequest } from "#app/utils/generation-request.server";
import { formatMoney, parseAmount } from "#app/utils/money";
import { useTextStream } from "#app/utils/use-text-stream";

export const meta: MetaFunction = () => [{ title: "Generate · AI Wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const url = new URL(request.url);
  const [catalog, balance] = await Promise.all([listCatalog(), getWalletBalance(user.id)]);

  // "Re-run" from history: the same model, prompt and settings.
  let prefill: { prompt: string; params: ParamDefaults } | null = null;
  let modelId = url.searchParams.get("model");
  const rerunId = url.searchParams.get("rerun");
  if (rerunId) {
    const row = await findGeneration(user.id, rerunId);
    if (row && !row.deletedAt) {
      modelId = row.modelId;
      const params = Object.fromEntries(
        Object.entries((row.params ?? {}) as Record<string, unknown>)
          .filter(([, value]) => typeof value === "string" || typeof value === "number")
          .map(([key, value]) => [key, String(value)]),
      ) as ParamDefaults;
      prefill = { prompt: row.prompt, params };
    }
  }
  const initial =
    catalog.find((entry) => entry.id === modelId && entry.available) ?? catalog.find((entry) => entry.available);
  return {
    catalog,
    currency: env.WALLET_CURRENCY,
    available: balance.available,
    initialModel: initial?.id ?? catalog[0]?.id ?? "",
    prefill,
    requestId: newRequestId(),
    maxAttachments: MAX_ATTACHMENTS,
  };
}

// Without JavaScript (or for images, speech and video): a plain form post. Text then runs to the end
// here and the member lands on its history page; media is queued and its page shows the progress.
// A refusal answers the form with Conform's result (errors under their fields, what was typed kept), and
// the code and first message for scripts and tests.
export async function action({ request }: ActionFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const read = await readGenerationRequest(request);
  if (!read.ok) {
    return data(
      { result: read.result, error: read.error, field: read.field, code: read.code },
      { status: read.status },
    );
  }
  const { input, files } = read;
  const catalog = await listCatalog();
  const modality = catalog.find((entry) => entry.id === input.model)?.modality ?? "text";
  try {
    if (modality === "text") {
      const prepared = await prepareText({
        userId: user.id,
        requestId: input.requestId,
        modelId: input.model,
        prompt: input.prompt,
        files,
        maxOutputTokens: input.maxOutputTokens,
        temperature: input.temperature,
        costCap: input.costCap,
      });
      const row = prepared.replayed ? prepared.row : await streamText(prepared, () => undefined, request.signal);
      return redirect(`/history/${row.id}`);
    }
    // Held, recorded and queued together (or not at all).
    const { row } = await submitMedia(modality, {
      userId: user.id,
      requestId: input.requestId,
      modelId: input.model,
      prompt: input.prompt,
      costCap: input.costCap,
      files,
      size: input.size,
      quality: input.quality,
      n: input.n,
      voice: input.voice,
      seconds: input.seconds,
      aspectRatio: input.aspectRatio,
    });
    return redirect(`/history/${row.id}`);
  } catch (error) {
    if (error instanceof GenerationRefused) {
      const status = refusalStatus(error.code);
      const result = refusalResult({ [error.field ?? ""]: [error.message] }, read.fields);
      return data({ result, error: error.message, field: error.field, code: error.code }, { status });
    }
    throw error;
  }
}

/** A refusal's attachment errors are kept apart from Conform's: they go once the files change. */
function splitFileErrors(result: SubmissionResult | undefined): [SubmissionResult | undefined, string[] | undefined] {
  const files = result?.error?.files ?? undefined;
  if (!result?.error || !files) return [result, undefined];
  const { files: _files, ...error } = result.error;
  return [{ ...result, error }, files];
}

export default function GeneratePage() {
  const loaded = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const submit = useSubmit();
  const { catalog, currency } = loaded;
  const schema = useMemo(() => generationSchema(currency), [currency]);
  const [initialResult, initialFileErrors] = splitFileErrors(actionData?.result);
  const postedModel = initialResult?.initialValue?.model;
  const [modelId, setModelId] = useState(typeof postedModel === "string" ? postedModel : loaded.initialModel);
  const [requestId, setRequestId] = useState(loaded.requestId);
  const [files, setFiles] = useState<File[]>([]);
  const [fileErrors, setFileErrors] = useState<string[] | undefined>(initialFileErrors);
  const [lastResult, setLastResult] = useState<SubmissionResult | undefined>(initialResult);
  const [refusalCode, setRefusalCode] = useState<string | null>(actionData?.code ?? null);
  const [estimate, setEstimate] = useState<bigint | null>(null);
  const [cap, setCap] = useState<bigint | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const outputRef = useRef<HTMLDivElement>(null);
  const entry = catalog.find((candidate) => candidate.id === modelId);

  /** A refusal (from the action, or from the stream before anything ran) shown on the form. */
  const refused = (result: SubmissionResult | undefined, code: string | null) => {
    // Nothing ran under this id (a hold taken for it was voided): the next submit is a new request.
    setRequestId(newRequestId());
    const [rest, attachmentErrors] = splitFileErrors(result);
    setLastResult(rest);
    setFileErrors(attachmentErrors);
    setRefusalCode(code);
  };
  // Each later answer of the action (a media post refused), once; the first one is in the state above.
  const shown = useRef(actionData);
  useEffect(() => {
    if (!actionData || actionData === shown.current) return;
    shown.current = actionData;
    refused(actionData.result, actionData.code);
  }, [actionData]);

  const {
    state: stream,
    start,
    stop,
  } = useTextStream((final) => {
    if (final.status === "done") setRequestId(newRequestId());
    if (final.status === "refused" && final.error) {
      refused(refusalResult({ [final.error.field ?? ""]: [final.error.message] }), final.error.code);
    }
  });

  const [form, fields] = useForm({
    id: "generate",
    lastResult,
    defaultValue: { model: loaded.initialModel, prompt: loaded.prefill?.prompt ?? "", ...loaded.prefill?.params },
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    onSubmit(event, { formData }) {
      // Valid here: the files go along, then media is an ordinary post that queues it and opens its
      // progress page, and text streams in on this page.
      event.preventDefault();
      setRefusalCode(null);
      appendFiles(formData, files);
      if (entry?.modality !== "text") submit(formData, { method: "post", encType: "multipart/form-data" });
      else void start(formData);
    },
  });

  const busy = stream.status === "sending" || stream.status === "streaming" || stream.status === "settling";
  const submitting = navigation.state === "submitting";

  const recompute = () => {
    if (!entry) return;
    setEstimate(estimateFromForm(entry, formRef.current, files));
    const capText = formRef.current ? new FormData(formRef.current).get("costCap") : null;
    const parsed =
      typeof capText === "string" && capText.trim() ? parseAmount(capText, currency, { precise: true }) : null;
    setCap(parsed?.ok ? parsed.micros : null);
  };
  // The estimate follows the model, the files and (through onInput below) every field.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(recompute, [modelId, files]);

  useEffect(() => {
    if (stream.status === "done") outputRef.current?.focus();
  }, [stream.status]);

  const acceptsFiles =
    (entry?.modality === "text" || entry?.modality === "image") && (entry.capabilities.fileTypes.length ?? 0) > 0;
  const insufficient = refusalCode === "insufficient_funds";
  // The settings are folded away unless re-running with settings; an error in one of them opens them.
  const settingErrors = SETTING_FIELDS.some((name) => Boolean(form.allErrors[name]?.length));
  const [settingsOpen, setSettingsOpen] = useState(Boolean(loaded.prefill) || settingErrors);
  useEffect(() => {
    if (settingErrors) setSettingsOpen(true);
  }, [settingErrors]);

  return (
    <main className="mx-auto max-w-3xl px-4 py-6 sm:py-10">
      <h1 className="text-2xl font-semibold">Generate</h1>
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        Pick a model, write a prompt and see the most it can cost before you send. You pay only for what is used, and
        nothing when a generation fails.{" "}
        <Link className="link" to="/compare">
          Compare two models
        </Link>
      </p>

      <Form
        ref={formRef}
        method="post"
        encType="multipart/form-data"
        className="mt-6 space-y-5 card"
        {...getFormProps(form)}
        onInput={recompute}
        aria-label="Generation"
      >
        <input type="hidden" name="requestId" value={requestId} />
        <ModelPicker
          id={fields.model.id}
          name={fields.model.name}
          catalog={catalog}
          value={modelId}
          onChange={(next) => {
            setModelId(next);
            setFiles([]);
            setFileErrors(undefined);
          }}
          currency={currency}
          errors={fields.model.errors}
        />

        <div>
          <label htmlFor={fields.prompt.id} className="mb-1 block text-sm font-medium">
            {entry?.modality === "speech" ? "Text to read aloud" : "Prompt"}
          </label>
          <textarea
            rows={6}
            className="input"
            {...getTextareaProps(fields.prompt)}
            placeholder={
              entry?.modality === "image"
                ? "A lighthouse at dawn, watercolour"
                : entry?.modality === "video"
                  ? "A slow drone shot over a forest in the fog"
                  : "Ask anything…"
            }
            onKeyDown={(event) => {
              if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) formRef.current?.requestSubmit();
            }}
          />
          <ErrorList id={fields.prompt.errorId} errors={fields.prompt.errors} />
        </div>

        {acceptsFiles && entry ? (
          <AttachmentsField
            id={`${form.id}-files`}
            entry={entry}
            files={files}
            onFilesChange={(next) => {
              setFiles(next);
              setFileErrors(undefined);
            }}
            errors={fileErrors}
            onError={(message) => setFileErrors(message ? [message] : undefined)}
            maxFiles={loaded.maxAttachments}
            fieldNames={ATTACHMENT_FIELDS}
          />
        ) : null}

        {entry ? (
          <details
            className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800"
            open={settingsOpen}
            onToggle={(event) => setSettingsOpen(event.currentTarget.open)}
          >
            <summary className="cursor-pointer text-sm font-semibold">Settings</summary>
            <div className="mt-3 space-y-4">
              <ModelSettings entry={entry} fields={fields} onChange={recompute} />
              <Field
                label={
                  <>
                    Spending limit for this request <span className="font-normal">(optional, {currency})</span>
                  </>
                }
                inputProps={{
                  ...getInputProps(fields.costCap, { type: "text" }),
                  inputMode: "decimal",
                  placeholder: "e.g. 0.05",
                  className: "sm:max-w-48",
                }}
                errors={fields.costCap.errors}
              />
            </div>
          </details>
        ) : null}

        <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
          {entry ? (
            <EstimateNote
              estimate={estimate}
              available={loaded.available}
              cap={cap}
              currency={currency}
              modality={entry.modality}
            />
          ) : null}
          <div className="flex gap-2">
            {busy ? (
              <button type="button" className="btn-secondary" onClick={stop}>
                Stop
              </button>
            ) : null}
            <button type="submit" className="btn-primary" disabled={busy || submitting || !entry?.available}>
              {busy || submitting ? "Working…" : entry?.modality === "text" ? "Send" : "Generate"}
            </button>
          </div>
        </div>
        <FormMessage id={form.errorId} errors={form.errors} />
        {insufficient ? (
          <p className="text-sm">
            <Link className="link" to="/wallet/top-up">
              Top up your wallet
            </Link>
          </p>
        ) : null}
      </Form>

      {stream.status !== "idle" && stream.status !== "refused" ? (
        <section aria-labelledby="answer-heading" className="mt-6 card">
          <h2 id="answer-heading" className="text-lg font-semibold">
            Answer
          </h2>
          <div
            ref={outputRef}
            tabIndex={-1}
            aria-busy={busy}
            className="mt-3 min-h-16 focus:outline-none"
            data-testid="answer"
          >
            {stream.text ? <Markdown text={stream.text} /> : busy ? <p className="text-zinc-500">Thinking…</p> : null}
          </div>
          <StreamFooter stream={stream} currency={currency} />
        </section>
      ) : null}
    </main>
  );
}

const SETTING_FIELDS = [
  "maxOutputTokens",
  "temperature",
  "size",
  "quality",
  "n",
  "voice",
  "seconds",
  "aspectRatio",
  "costCap",
];

function StreamFooter({ stream, currency }: { stream: ReturnType<typeof useTextStream>["state"]; currency: string }) {
  const money = (amount: bigint) => formatMoney(amount, currency);
  const summary = useMemo(() => {
    if (stream.status === "sending" || stream.status === "streaming") {
      return stream.held !== null ? `Writing… up to ${money(stream.held)} is reserved.` : "Sending…";
    }
    if (stream.status === "settling") return "Stopping…";
    if (stream.message) return stream.message;
    if (stream.outcome === "succeeded" && stream.cost !== null) return `Done. This answer cost ${money(stream.cost)}.`;
    return null;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stream.status, stream.held, stream.message, stream.outcome, stream.cost]);
  return (
    <div className="mt-4 flex flex-col gap-2 border-t border-zinc-200 pt-3 text-sm sm:flex-row sm:items-center sm:justify-between dark:border-zinc-800">
      <p role="status" data-testid="answer-status">
        {summary}
      </p>
      {stream.status === "done" && stream.generationId ? (
        <div className="flex gap-4">
          {stream.conversationId ? (
            <Link className="link" to={`/chat/${stream.conversationId}`}>
              Continue this chat
            </Link>
          ) : null}
          <Link className="link" to={`/history/${stream.generationId}`}>
            Details
          </Link>
        </div>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
