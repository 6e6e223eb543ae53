import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRevalidator } from "@remix-run/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { useEffect } from "react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage, SubmitButton } from "#app/components/forms";
import {
  formatDuration,
  GenerationOutput,
  InputFiles,
  MODALITY_LABEL,
  StatusBadge,
} from "#app/components/generation-output";
import {
  formatExpiry,
  SUPPORT_GRANT_INTENT,
  SUPPORT_REVOKE_INTENT,
  SupportGrantForm,
  SupportGrantList,
  supportGrantSchema,
  supportRevokeSchema,
  timeLeft,
} from "#app/components/support-access";
import { deleteGeneration, getGenerationDetail, type GenerationDetail } from "#app/models/history.server";
import {
  grantSupportAccess,
  listActiveGrants,
  revokeSupportAccess,
  type MemberGrant,
} from "#app/models/support-access.server";
import { requireUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { readForm } from "#app/utils/form.server";
import { formatMoney } from "#app/utils/money";
import { clientIp } from "#app/utils/request.server";

export const meta: MetaFunction = () => [{ title: "Generation · History · AI Wallet" }];

/** How often a page showing a queued or running generation asks for news. */
const REFRESH_MS = 1_500;

const notFound = () => new Response("Not Found", { status: 404 });

const timeFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZone: "UTC",
});

const PARAM_LABELS: Record<string, string> = {
  maxOutputTokens: "Max output tokens",
  temperature: "Temperature",
  files: "Files attached",
  n: "Images",
  size: "Size",
  quality: "Quality",
  voice: "Voice",
  characters: "Characters",
  seconds: "Length (seconds)",
  aspectRatio: "Aspect ratio",
  inputTokens: "Input tokens",
  outputTokens: "Output tokens",
  cachedInputTokens: "Cached input tokens",
  images: "Images",
  videoSeconds: "Seconds of video",
};

/** "maxOutputTokens" → "Max output tokens" for keys without a label of their own. */
function labelFor(key: string) {
  if (PARAM_LABELS[key]) return PARAM_LABELS[key];
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function valueText(value: unknown): string {
  if (typeof value === "number") return value.toLocaleString("en");
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "Yes" : "No";
  const json = JSON.stringify(value) ?? "";
  return json.length > 200 ? `${json.slice(0, 199)}…` : json;
}

const pairs = (record: Record<string, unknown>) =>
  Object.entries(record)
    .filter(([key, value]) => value !== null && value !== undefined && value !== "" && !(key === "files" && !value))
    .map(([key, value]) => ({ label: labelFor(key), value: valueText(value) }));

function timings(row: GenerationDetail) {
  const since = (later: Date | null, earlier: Date | null) =>
    later && earlier ? formatDuration(later.getTime() - earlier.getTime()) : null;
  const steps = [
    { label: "Queued", at: row.createdAt, note: null },
    { label: "Started", at: row.startedAt, note: since(row.startedAt, row.createdAt) },
    { label: "First output", at: row.firstOutputAt, note: since(row.firstOutputAt, row.startedAt) },
    { label: "Finished", at: row.finishedAt, note: since(row.finishedAt, row.startedAt ?? row.createdAt) },
  ];
  return steps
    .filter((step) => step.at)
    .map((step, index) => ({
      label: step.label,
      iso: step.at!.toISOString(),
      time: `${timeFormat.format(step.at!)} UTC`,
      // How long after the step before it (the wait in the queue, time to first output, total run time).
      note: index === 0 || !step.note ? null : step.note,
    }));
}

function present(row: GenerationDetail) {
  const money = (micros: bigint) => formatMoney(micros, env.WALLET_CURRENCY);
  const inFlight = row.status === "queued" || row.status === "running";
  const notCharged = (row.status === "failed" || row.status === "cancelled") && (row.cost ?? 0n) === 0n;
  return {
    id: row.id,
    modality: row.modality,
    modelId: row.modelId,
    modelLabel: row.modelLabel,
    status: row.status,
    inFlight,
    progress: Math.max(0, Math.min(100, row.progress)),
    prompt: row.prompt,
    inputs: row.inputs,
    outputs: row.outputs,
    outputText: row.outputText,
    params: pairs(row.params),
    usage: pairs(row.usage),
    usageEstimated: row.usageEstimated,
    charged: row.cost === null ? null : money(row.cost),
    held: money(row.heldAmount),
    limit: row.costCap === null ? null : money(row.costCap),
    notCharged,
    outcome: row.outcome,
    timings: timings(row),
    totalTime: row.finishedAt
      ? formatDuration(row.finishedAt.getTime() - (row.startedAt ?? row.createdAt).getTime())
      : null,
    chatUrl: row.modality === "text" && row.conversationId ? `/chat/${row.conversationId}` : null,
    rerunUrl: `/generate?rerun=${encodeURIComponent(row.id)}`,
  };
}

const SUPPORT_DONE: Record<string, string> = {
  granted: "Support can now see this generation until the time shown below.",
  revoked: "Support access ended.",
};

function presentGrant(grant: MemberGrant, now: Date) {
  return {
    id: grant.id,
    scope: grant.generation ? ("generation" as const) : ("history" as const),
    label: grant.generation ? "This generation" : "Your whole history (includes this generation)",
    href: grant.generation ? null : "/settings/privacy",
    expiresIso: grant.expiresAt.toISOString(),
    expires: formatExpiry(grant.expiresAt),
    left: timeLeft(grant.expiresAt, now),
  };
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const row = await getGenerationDetail(user.id, params.id ?? "");
  if (!row) throw notFound();
  const now = new Date();
  const grants = await listActiveGrants(user.id, row.id, now);
  const done = new URL(request.url).searchParams.get("support");
  return {
    ...present(row),
    support: {
      grants: grants.map((grant) => presentGrant(grant, now)),
      done: done ? (SUPPORT_DONE[done] ?? null) : null,
    },
  };
}

const ActionSchema = z.object({ intent: z.literal("delete") });

export async function action({ request, params, context }: ActionFunctionArgs) {
  const user = await requireUser(request);
  const id = params.id ?? "";
  const formData = await readForm(request);
  const intent = formData.get("intent");

  if (intent === SUPPORT_GRANT_INTENT) {
    const submission = parseWithZod(formData, { schema: supportGrantSchema });
    if (submission.status !== "success") return data({ error: null, grant: submission.reply() }, { status: 400 });
    const result = await grantSupportAccess(
      user.id,
      { generationId: id, duration: submission.value.duration },
      clientIp(context),
    );
    if (!result.ok) throw notFound();
    return redirect(`/history/${encodeURIComponent(id)}?support=granted`);
  }

  if (intent === SUPPORT_REVOKE_INTENT) {
    const submission = parseWithZod(formData, { schema: supportRevokeSchema });
    if (submission.status !== "success")
      return data({ error: "That request was not understood.", grant: null }, { status: 400 });
    const result = await revokeSupportAccess(user.id, submission.value.grantId, clientIp(context));
    if (!result.ok) throw notFound();
    return redirect(`/history/${encodeURIComponent(id)}?support=revoked`);
  }

  const parsed = ActionSchema.safeParse(Object.fromEntries(formData));
  if (!parsed.success) return data({ error: "That request was not understood.", grant: null }, { status: 400 });
  const outcome = await deleteGeneration(user.id, id);
  if (outcome.status === "not_found") throw notFound();
  if (outcome.status === "in_progress") return data({ error: outcome.message, grant: null }, { status: 409 });
  return redirect("/history?deleted=1");
}

/** While the generation is queued or running, reload its data every REFRESH_MS (visible tabs only). */
function useRefreshWhile(active: boolean) {
  const { revalidate } = useRevalidator();
  useEffect(() => {
    if (!active) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") revalidate();
    }, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [active, revalidate]);
}

export default function GenerationPage() {
  const row = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  useRefreshWhile(row.inFlight);
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <div>
        <p className="text-sm">
          <Link to="/history" className="link">
            History
          </Link>
        </p>
        <div className="mt-2 flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-bold">
            {MODALITY_LABEL[row.modality]} · {row.modelLabel}
          </h1>
          <StatusBadge status={row.status} />
        </div>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          <span className="font-mono">{row.modelId}</span>
          {row.timings[0] ? (
            <>
              {" · "}
              <time dateTime={row.timings[0].iso}>{row.timings[0].time}</time>
            </>
          ) : null}
        </p>
      </div>

      {actionData?.error ? <FormMessage errors={[actionData.error]} /> : null}

      <div aria-live="polite">
        {row.inFlight ? <Progress row={row} /> : null}
        {row.outcome ? (
          <FormMessage tone={row.status === "failed" ? "error" : "success"} errors={[row.outcome]} />
        ) : null}
      </div>

      <section aria-labelledby="prompt-heading" className="space-y-4 card">
        <h2 id="prompt-heading" className="text-lg font-semibold">
          Prompt
        </h2>
        <p className="whitespace-pre-wrap">{row.prompt}</p>
        {row.inputs.length ? (
          <div>
            <h3 className="mb-2 text-sm font-medium">Files sent with the prompt</h3>
            <InputFiles files={row.inputs} />
          </div>
        ) : null}
        {row.params.length ? (
          <div>
            <h3 className="mb-2 text-sm font-medium">Parameters</h3>
            <Pairs items={row.params} label="Parameters" />
          </div>
        ) : null}
      </section>

      <section aria-labelledby="output-heading" className="space-y-4 card">
        <h2 id="output-heading" className="text-lg font-semibold">
          Output
        </h2>
        {row.outputText || row.outputs.length ? (
          <GenerationOutput generationId={row.id} outputText={row.outputText} files={row.outputs} prompt={row.prompt} />
        ) : (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {row.inFlight ? "The output will appear here when it is ready." : "This generation produced no output."}
          </p>
        )}
      </section>

      <section aria-labelledby="cost-heading" className="space-y-4 card">
        <h2 id="cost-heading" className="text-lg font-semibold">
          Cost and timing
        </h2>
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
          <dt className="text-zinc-600 dark:text-zinc-400">Charged</dt>
          <dd className="font-semibold tabular-nums" data-testid="charged">
            {row.notCharged ? "Nothing: you were not charged" : (row.charged ?? "Not yet: still running")}
          </dd>
          <dt className="text-zinc-600 dark:text-zinc-400">{row.inFlight ? "Held" : "Held while running"}</dt>
          <dd className="tabular-nums">
            {row.held}
            <span className="text-zinc-600 dark:text-zinc-400">
              {row.inFlight
                ? " (the most it can cost; what it does not use comes back)"
                : " (what was not charged went back to your balance)"}
            </span>
          </dd>
          {row.limit ? (
            <>
              <dt className="text-zinc-600 dark:text-zinc-400">Your limit</dt>
              <dd className="tabular-nums">{row.limit}</dd>
            </>
          ) : null}
          {row.totalTime ? (
            <>
              <dt className="text-zinc-600 dark:text-zinc-400">Run time</dt>
              <dd className="tabular-nums">{row.totalTime}</dd>
            </>
          ) : null}
        </dl>
        <div>
          <h3 className="mb-2 text-sm font-medium">Timeline (UTC)</h3>
          <ol className="space-y-1 text-sm">
            {row.timings.map((step) => (
              <li key={step.label} className="flex flex-wrap gap-x-2">
                <span className="w-28 shrink-0 text-zinc-600 dark:text-zinc-400">{step.label}</span>
                <time dateTime={step.iso} className="tabular-nums">
                  {step.time}
                </time>
                {step.note ? <span className="text-zinc-600 dark:text-zinc-400">(+{step.note})</span> : null}
              </li>
            ))}
          </ol>
        </div>
        {row.usage.length ? (
          <div>
            <h3 className="mb-2 text-sm font-medium">
              {row.usageEstimated ? "Usage as charged" : "Usage reported by the provider"}
            </h3>
            <Pairs items={row.usage} label="Usage" />
            {row.usageEstimated ? (
              <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400" data-testid="usage-estimated">
                Usage estimated: the provider did not report all of it, so what it left out was counted at most one
                token per byte of text (never more than was held).
              </p>
            ) : null}
          </div>
        ) : null}
      </section>

      <SupportAccess grants={row.support.grants} done={row.support.done} lastResult={actionData?.grant} />

      <section aria-labelledby="actions-heading" className="space-y-4">
        <h2 id="actions-heading" className="sr-only">
          Actions
        </h2>
        <div className="flex flex-wrap gap-3">
          <Link to={row.rerunUrl} className="btn-primary">
            Run again
          </Link>
          {row.chatUrl ? (
            <Link to={row.chatUrl} className="btn-secondary">
              Open chat
            </Link>
          ) : null}
        </div>
        {row.inFlight ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            You can delete this generation once it has finished.
          </p>
        ) : (
          <DeleteGeneration />
        )}
      </section>
    </div>
  );
}

function Progress({ row }: { row: ReturnType<typeof useLoaderData<typeof loader>> }) {
  const label = row.status === "queued" ? "Waiting to start…" : row.modality === "text" ? "Writing…" : "Working…";
  return (
    <div className="space-y-2 card">
      <p className="text-sm font-medium" id="progress-label">
        {label} <span className="tabular-nums">{row.progress}%</span>
      </p>
      <div
        role="progressbar"
        aria-labelledby="progress-label"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={row.progress}
        className="h-2 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
      >
        <div className="h-full rounded-full bg-brand-600 transition-[width]" style={{ width: `${row.progress}%` }} />
      </div>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        This page updates by itself; you can also leave and come back later. Nothing is charged if it fails.
      </p>
    </div>
  );
}

function Pairs({ items, label }: { items: Array<{ label: string; value: string }>; label: string }) {
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" aria-label={label}>
      {items.map((item) => (
        <div key={item.label} className="contents">
          <dt className="text-zinc-600 dark:text-zinc-400">{item.label}</dt>
          <dd className="break-words tabular-nums">{item.value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Let support see this generation for a while (only when the member chooses to), and end it. */
function SupportAccess({
  grants,
  done,
  lastResult,
}: {
  grants: ReturnType<typeof useLoaderData<typeof loader>>["support"]["grants"];
  done: string | null;
  lastResult: Parameters<typeof SupportGrantForm>[0]["lastResult"];
}) {
  const own = grants.filter((grant) => grant.scope === "generation");
  return (
    <section aria-labelledby="support-heading" className="space-y-3 card">
      <h2 id="support-heading" className="text-lg font-semibold">
        Support access
      </h2>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        Our staff cannot see your prompts, outputs or files. If you asked us for help with this generation, you can let
        support see it (prompt, output and files) for a limited time. Every view is recorded, and you can revoke access
        at any time.
      </p>
      <div aria-live="polite">{done ? <FormMessage tone="success" errors={[done]} /> : null}</div>
      {grants.length ? (
        <SupportGrantList grants={grants} label="Support access to this generation" />
      ) : (
        <p className="text-sm">Support cannot see this generation.</p>
      )}
      <SupportGrantForm
        formId="support-grant"
        lastResult={lastResult}
        legend={own.length ? "Replace it with a new period, starting now" : "Let support see this generation for"}
        submitLabel={own.length ? "Replace access" : "Allow support access"}
      />
    </section>
  );
}

/** A native disclosure is the confirmation step: it works without JavaScript and with a keyboard. */
function DeleteGeneration() {
  return (
    <details className="card">
      <summary className="cursor-pointer font-medium text-red-700 select-none dark:text-red-400">
        Delete this generation…
      </summary>
      <div className="mt-3 space-y-3 text-sm">
        <p>
          The prompt, the output, the parameters and every file of this generation will be deleted for good. The charge
          stays on your wallet statement (as “Generation · model”), because the money really moved.
        </p>
        <Form method="post">
          <SubmitButton className="btn-danger" name="intent" value="delete" pendingText="Deleting…">
            Delete permanently
          </SubmitButton>
        </Form>
      </div>
    </details>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
