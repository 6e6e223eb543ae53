import { getFormProps, getTextareaProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useRevalidator } from "@remix-run/react";
import { useEffect, useMemo, useRef, useState } from "react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { ErrorList, FormMessage } from "#app/components/forms";
import {
  appendFiles,
  AttachmentsField,
  EstimateNote,
  estimateFromForm,
  ModelPicker,
} from "#app/components/generation-form";
import { Markdown } from "#app/components/markdown";
import { listCatalog } from "#app/models/catalog.server";
import { getConversation } from "#app/models/generation.server";
import { getWalletBalance } from "#app/models/ledger.server";
import { requireVerifiedUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { generationSchema, newRequestId, refusalEntry, refusalResult } from "#app/utils/generation-form";
import { formatMoney } from "#app/utils/money";
import { useTextStream } from "#app/utils/use-text-stream";

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: `${data?.conversation.title ?? "Chat"} · AI Wallet` },
];

export async function loader({ request, params }: LoaderFunctionArgs) {
  const user = await requireVerifiedUser(request);
  const conversation = await getConversation(user.id, params.id ?? "");
  if (!conversation) throw new Response("Not Found", { status: 404 });
  const [catalog, balance] = await Promise.all([listCatalog(), getWalletBalance(user.id)]);
  const textModels = catalog.filter((entry) => entry.modality === "text");
  const last = conversation.turns.at(-1);
  const initial =
    textModels.find((entry) => entry.id === last?.modelId && entry.available) ??
    textModels.find((entry) => entry.available);
  return {
    conversation,
    catalog: textModels,
    initialModel: initial?.id ?? textModels[0]?.id ?? "",
    currency: env.WALLET_CURRENCY,
    available: balance.available,
  };
}

/** The fields this form shows: a refusal about any other (the hidden ones) is shown for the whole form. */
const SHOWN_FIELDS = ["model", "prompt", "files"];

export default function ChatPage() {
  const { conversation, catalog, initialModel, currency, available } = useLoaderData<typeof loader>();
  const revalidator = useRevalidator();
  const schema = useMemo(() => generationSchema(currency), [currency]);
  const [modelId, setModelId] = useState(initialModel);
  const [requestId, setRequestId] = useState(newRequestId);
  const [files, setFiles] = useState<File[]>([]);
  const [estimate, setEstimate] = useState<bigint | null>(null);
  const [lastResult, setLastResult] = useState<SubmissionResult | undefined>();
  // Attachment errors are kept apart from Conform's: they go once the files change.
  const [fileErrors, setFileErrors] = useState<string[] | undefined>();
  const [pending, setPending] = useState<{ prompt: string; regenerates: string | null } | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const entry = catalog.find((candidate) => candidate.id === modelId);
  const money = (amount: bigint) => formatMoney(amount, currency);
  const {
    state: stream,
    start,
    stop,
    reset,
  } = useTextStream((final) => {
    if (final.status === "done") {
      setRequestId(newRequestId());
      setFiles([]);
      setFileErrors(undefined);
      formRef.current?.reset();
      revalidator.revalidate();
    }
    if (final.status === "refused") {
      setPending(null); // nothing ran: a turn hidden for regenerating comes back
      setRequestId(newRequestId()); // and the next send is a new request (a hold voided under this id stays so)
    }
    if (final.status === "refused" && final.error) {
      // A refusal before anything ran, shown on the form: under its field, or for the whole form.
      const [field, message] = refusalEntry(final.error, SHOWN_FIELDS);
      if (field === "files") setFileErrors([message]);
      else setLastResult(refusalResult({ [field]: [message] }));
    }
  });
  const busy = stream.status === "sending" || stream.status === "streaming" || stream.status === "settling";

  // Once the saved turn is on the page, the live copy goes.
  useEffect(() => {
    if (stream.status === "done" && revalidator.state === "idle" && stream.generationId) {
      if (conversation.turns.some((turn) => turn.id === stream.generationId)) {
        setPending(null);
        reset();
      }
    }
  }, [stream.status, stream.generationId, revalidator.state, conversation.turns, reset]);

  const history = conversation.turns.flatMap((turn) => [turn.prompt, turn.outputText ?? ""]);
  const recompute = () => {
    if (entry) setEstimate(estimateFromForm(entry, formRef.current, files, history));
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(recompute, [modelId, files, conversation.turns.length]);

  function send(extra: Record<string, string>, prompt: string, regenerates: string | null) {
    const body = formRef.current ? new FormData(formRef.current) : new FormData();
    body.set("requestId", requestId);
    body.set("conversationId", conversation.id);
    for (const [key, value] of Object.entries(extra)) body.set(key, value);
    if (!regenerates) appendFiles(body, files);
    else body.delete("file0");
    setPending({ prompt, regenerates });
    void start(body);
  }

  const [form, fields] = useForm({
    id: "chat",
    lastResult,
    defaultValue: { model: initialModel },
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
    // The same schema as /generate and the server; the request and conversation ids are hidden fields.
    onValidate: ({ formData }) => parseWithZod(formData, { schema }),
    onSubmit(event, { submission }) {
      event.preventDefault();
      if (submission?.status !== "success") return;
      send({}, submission.value.prompt, null);
    },
  });
  const last = conversation.turns.at(-1);
  const visibleTurns = pending?.regenerates
    ? conversation.turns.filter((turn) => turn.id !== pending.regenerates)
    : conversation.turns;

  return (
    <main className="mx-auto max-w-3xl px-4 py-6 sm:py-10">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-semibold break-words">{conversation.title}</h1>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">Total so far {money(conversation.total)}</p>
      </div>
      <p className="mt-1 text-sm">
        <Link className="link" to="/generate">
          New chat
        </Link>
      </p>

      <ol className="mt-6 space-y-6" aria-label="Messages">
        {visibleTurns.map((turn) => (
          <li key={turn.id} className="space-y-3">
            <div className="ml-auto max-w-[85%] rounded-2xl bg-brand-50 px-4 py-3 whitespace-pre-wrap dark:bg-zinc-800">
              <p className="sr-only">You wrote:</p>
              {turn.prompt}
              {turn.files.length ? (
                <ul className="mt-2 space-y-1 text-sm">
                  {turn.files.map((file) => (
                    <li key={file.id}>
                      <a className="link" href={`/files/${file.id}`}>
                        {file.name ?? file.mediaType}
                      </a>
                    </li>
                  ))}
                </ul>
              ) : null}
            </div>
            <div className="card">
              <p className="mb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">{turn.modelLabel}</p>
              {turn.outputText ? <Markdown text={turn.outputText} /> : null}
              <div className="mt-3 flex flex-wrap items-center justify-between gap-2 border-t border-zinc-200 pt-2 text-sm text-zinc-600 dark:border-zinc-800 dark:text-zinc-400">
                <span>{turn.message ?? (turn.cost !== null ? `Cost ${money(turn.cost)}` : "Running…")}</span>
                <span className="flex gap-4">
                  <Link className="link" to={`/history/${turn.id}`}>
                    Details
                  </Link>
                  {turn.id === last?.id && !busy ? (
                    <button
                      type="button"
                      className="link"
                      onClick={() => send({ regeneratesId: turn.id, prompt: turn.prompt }, turn.prompt, turn.id)}
                    >
                      Regenerate
                    </button>
                  ) : null}
                </span>
              </div>
            </div>
          </li>
        ))}
        {pending && stream.status !== "idle" && stream.status !== "refused" ? (
          <li className="space-y-3" aria-live="off">
            <div className="ml-auto max-w-[85%] rounded-2xl bg-brand-50 px-4 py-3 whitespace-pre-wrap dark:bg-zinc-800">
              {pending.prompt}
            </div>
            <div className="card" aria-busy={busy} data-testid="live-answer">
              <p className="mb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">{entry?.label}</p>
              {stream.text ? <Markdown text={stream.text} /> : <p className="text-zinc-500">Thinking…</p>}
              <p role="status" className="mt-3 border-t border-zinc-200 pt-2 text-sm dark:border-zinc-800">
                {busy
                  ? stream.held !== null
                    ? `Writing… up to ${money(stream.held)} is reserved.`
                    : "Sending…"
                  : (stream.message ?? (stream.cost !== null ? `Cost ${money(stream.cost)}` : ""))}
              </p>
            </div>
          </li>
        ) : null}
      </ol>

      <form ref={formRef} className="mt-8 space-y-4 card" {...getFormProps(form)} onInput={recompute}>
        <input type="hidden" name="requestId" value={requestId} />
        <input type="hidden" name="conversationId" value={conversation.id} />
        <ModelPicker
          id={fields.model.id}
          name={fields.model.name}
          catalog={catalog}
          value={modelId}
          onChange={setModelId}
          currency={currency}
          errors={fields.model.errors}
          modalities={["text"]}
        />
        <div>
          <label htmlFor={fields.prompt.id} className="mb-1 block text-sm font-medium">
            Your message
          </label>
          <textarea
            rows={4}
            className="input"
            {...getTextareaProps(fields.prompt)}
            onKeyDown={(event) => {
              if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) formRef.current?.requestSubmit();
            }}
          />
          <ErrorList id={fields.prompt.errorId} errors={fields.prompt.errors} />
        </div>
        {entry && entry.capabilities.fileTypes.length ? (
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
            maxFiles={entry.capabilities.maxFiles}
          />
        ) : null}
        <input type="hidden" name="maxOutputTokens" value={String(entry?.capabilities.defaultOutputTokens ?? "")} />
        <div className="flex flex-col gap-3 sm:flex-row sm:items-center sm:justify-between">
          {entry ? (
            <EstimateNote estimate={estimate} available={available} cap={null} currency={currency} modality="text" />
          ) : null}
          <div className="flex gap-2">
            {busy ? (
              <button type="button" className="btn-secondary" onClick={stop}>
                Stop
              </button>
            ) : null}
            <button type="submit" className="btn-primary" disabled={busy || !entry?.available}>
              {busy ? "Working…" : "Send"}
            </button>
          </div>
        </div>
        <FormMessage id={form.errorId} errors={form.errors} />
        {stream.error?.code === "insufficient_funds" ? (
          <Link className="text-sm link" to="/wallet/top-up">
            Top up your wallet
          </Link>
        ) : null}
      </form>
    </main>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
