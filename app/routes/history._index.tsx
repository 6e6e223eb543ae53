import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation, useSubmit } from "@remix-run/react";
import type { FormEvent } from "react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage } from "#app/components/forms";
import {
  formatDuration,
  MODALITY_LABEL,
  MODALITY_NAMES,
  ModalityIcon,
  STATUS_LABEL,
  STATUS_NAMES,
  StatusBadge,
} from "#app/components/generation-output";
import { listHistory, type HistoryItem } from "#app/models/history.server";
import { requireUser } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";

export const meta: MetaFunction = () => [{ title: "History · AI Wallet" }];

const DAY_MS = 86_400_000;

/** A YYYY-MM-DD calendar day (UTC), as a date input sends it; anything else is ignored. */
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((text) => {
    const date = new Date(`${text}T00:00:00.000Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
  });

// Filters come from a GET form or a shared link: a value that makes no sense is dropped, never an error.
// (Module scope is also bundled for the browser: nothing here may come from a .server module.)
const FiltersSchema = z.object({
  q: z.string().trim().max(200).optional().catch(undefined),
  modality: z.enum(MODALITY_NAMES).optional().catch(undefined),
  model: z
    .string()
    .trim()
    .max(200)
    .regex(/^[\w.:/@-]+$/)
    .optional()
    .catch(undefined),
  status: z.enum(STATUS_NAMES).optional().catch(undefined),
  from: day.optional().catch(undefined),
  to: day.optional().catch(undefined),
  page: z.coerce.number().int().min(1).max(1_000_000).optional().catch(undefined),
  deleted: z.literal("1").optional().catch(undefined),
});

const dateFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

function costLabel(item: HistoryItem, currency: string) {
  if (item.status === "queued" || item.status === "running") {
    return { text: `Up to ${formatMoney(item.heldAmount, currency)}`, tone: "pending" as const };
  }
  if (item.cost === null) return { text: "—", tone: "pending" as const };
  if ((item.status === "failed" || item.status === "cancelled") && item.cost === 0n) {
    return { text: "Not charged", tone: "free" as const };
  }
  return { text: formatMoney(item.cost, currency), tone: "charged" as const };
}

function present(item: HistoryItem, currency: string) {
  const cost = costLabel(item, currency);
  return {
    id: item.id,
    modality: item.modality,
    modelLabel: item.modelLabel,
    status: item.status,
    prompt: item.promptPreview,
    output: item.outputPreview,
    image: item.outputFile?.mediaType.startsWith("image/") ? `/files/${item.outputFile.id}` : null,
    moreOutputs: Math.max(0, item.outputCount - 1),
    progress: item.progress,
    cost: cost.text,
    costTone: cost.tone,
    iso: item.createdAt.toISOString(),
    date: dateFormat.format(item.createdAt),
    duration: item.durationMs === null ? null : formatDuration(item.durationMs),
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const url = new URL(request.url);
  const filters = FiltersSchema.parse(Object.fromEntries(url.searchParams));
  const from = filters.from ? new Date(`${filters.from}T00:00:00.000Z`) : null;
  // "To" is a whole day, included.
  const to = filters.to ? new Date(new Date(`${filters.to}T00:00:00.000Z`).getTime() + DAY_MS) : null;
  const result = await listHistory(user.id, {
    q: filters.q,
    modality: filters.modality,
    model: filters.model,
    status: filters.status,
    from,
    to,
    page: filters.page,
  });
  const currency = env.WALLET_CURRENCY;
  const narrowed = Boolean(filters.modality || filters.model || filters.status || filters.from || filters.to);
  return {
    filters: {
      q: filters.q ?? "",
      modality: filters.modality ?? "",
      model: filters.model ?? "",
      status: filters.status ?? "",
      from: filters.from ?? "",
      to: filters.to ?? "",
    },
    narrowed,
    active: narrowed || Boolean(filters.q),
    dateError: from && to && from >= to ? "The “from” date is after the “to” date." : null,
    deleted: filters.deleted === "1",
    hasAny: result.models.length > 0,
    models: result.models,
    searching: result.searching,
    total: result.total,
    page: result.page,
    pageCount: result.pageCount,
    items: result.items.map((item) => present(item, currency)),
  };
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;
type Row = LoaderData["items"][number];

/** The current filters with another page (the success notice is not carried along). */
function pageHref(filters: LoaderData["filters"], page: number) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) params.set(key, value);
  if (page > 1) params.set("page", String(page));
  const query = params.toString();
  return query ? `?${query}` : "/history";
}

function Thumbnail({ row, size = "size-12" }: { row: Row; size?: string }) {
  if (row.image) {
    return (
      <img
        src={row.image}
        alt=""
        width={48}
        height={48}
        loading="lazy"
        className={`${size} shrink-0 rounded-lg border border-zinc-200 bg-zinc-100 object-cover dark:border-zinc-800 dark:bg-zinc-800`}
      />
    );
  }
  return (
    <span
      className={`${size} flex shrink-0 items-center justify-center rounded-lg bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300`}
    >
      <ModalityIcon modality={row.modality} />
    </span>
  );
}

function CostText({ row }: { row: Row }) {
  const style =
    row.costTone === "free"
      ? "text-emerald-700 dark:text-emerald-400"
      : row.costTone === "pending"
        ? "text-zinc-600 dark:text-zinc-400"
        : "";
  return <span className={`tabular-nums ${style}`}>{row.cost}</span>;
}

function PromptCell({ row }: { row: Row }) {
  return (
    <>
      <Link
        to={`/history/${row.id}`}
        className="line-clamp-2 font-medium text-brand-700 hover:underline dark:text-brand-100"
      >
        {row.prompt || <span className="italic">(no prompt)</span>}
      </Link>
      {row.output ? (
        <p className="mt-1 line-clamp-2 text-sm text-zinc-600 dark:text-zinc-400">
          <span className="sr-only">Output: </span>
          {row.output}
        </p>
      ) : null}
      {row.moreOutputs > 0 ? (
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          +{row.moreOutputs} more {row.moreOutputs === 1 ? "file" : "files"}
        </p>
      ) : null}
    </>
  );
}

export default function HistoryPage() {
  const data = useLoaderData<typeof loader>();
  const { items, hasAny, active, total, page, pageCount } = data;
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-bold">History</h1>
        <Link to="/generate" className="btn-primary">
          New generation
        </Link>
      </div>

      {data.deleted ? (
        <FormMessage
          tone="success"
          errors={[
            "Generation deleted. Its prompt, output and files are gone for good; the charge stays on your wallet statement.",
          ]}
        />
      ) : null}

      {hasAny ? <Filters /> : null}

      {!hasAny ? (
        <div className="card text-center">
          <p className="font-medium">No generations yet.</p>
          <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
            Everything you run (prompts, files, outputs and what each one cost) will be listed here.
          </p>
          <Link to="/generate" className="mt-4 btn-primary">
            Make your first generation
          </Link>
        </div>
      ) : items.length === 0 ? (
        <div className="card text-center" role="status">
          <p className="font-medium">No generations match {active ? "these filters" : "this page"}.</p>
          {data.dateError ? <p className="mt-1 text-sm text-red-700 dark:text-red-400">{data.dateError}</p> : null}
          <Link to="/history" className="mt-4 btn-secondary">
            Clear search and filters
          </Link>
        </div>
      ) : (
        <section aria-labelledby="results-heading" className="space-y-3">
          <h2 id="results-heading" className="text-sm text-zinc-600 dark:text-zinc-400" aria-live="polite">
            {total === 1 ? "1 generation" : `${total.toLocaleString("en")} generations`}
            {data.searching ? ", best matches first" : ", newest first"}. Times are UTC.
          </h2>
          <ResultsTable />
          <ResultsList />
          {pageCount > 1 ? (
            <nav aria-label="History pages" className="flex items-center justify-between gap-2 text-sm">
              {page > 1 ? (
                <Link to={pageHref(data.filters, page - 1)} className="btn-secondary min-h-9 py-1" rel="prev">
                  ← Previous
                </Link>
              ) : (
                <span />
              )}
              <p aria-current="page">
                Page {page} of {pageCount}
              </p>
              {page < pageCount ? (
                <Link to={pageHref(data.filters, page + 1)} className="btn-secondary min-h-9 py-1" rel="next">
                  Next →
                </Link>
              ) : (
                <span />
              )}
            </nav>
          ) : null}
        </section>
      )}
    </div>
  );
}

/** Search and filters: one GET form, so it works without JavaScript and every result page has a URL. */
function Filters() {
  const { filters, models, narrowed, active, dateError } = useLoaderData<typeof loader>();
  const navigation = useNavigation();
  const submit = useSubmit();
  const searching = navigation.state === "loading" && navigation.location.pathname === "/history";
  // With JavaScript, empty fields are left out of the URL ("?q=fox", not "?q=fox&modality=&model=…").
  // Without it, the browser submits the form as it is, which works just the same.
  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(event.currentTarget)) {
      if (typeof value === "string" && value.trim() !== "") params.append(key, value);
    }
    submit(params, { method: "get", action: "/history" });
  }
  const narrowedCount = [filters.modality, filters.model, filters.status, filters.from, filters.to].filter(
    Boolean,
  ).length;
  return (
    <Form
      method="get"
      action="/history"
      onSubmit={onSubmit}
      role="search"
      aria-label="Search and filter your history"
      className="space-y-4 card"
    >
      <div>
        <label htmlFor="history-q" className="mb-1 block text-sm font-medium">
          Search prompts and outputs
        </label>
        <div className="flex gap-2">
          <input
            id="history-q"
            type="search"
            name="q"
            defaultValue={filters.q}
            key={filters.q}
            maxLength={200}
            placeholder="e.g. wallet payment"
            className="input"
            aria-describedby="history-q-hint"
          />
          <button type="submit" className="btn-primary shrink-0" aria-busy={searching}>
            Search
          </button>
        </div>
        <p id="history-q-hint" className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Every word must appear; the start of a word is enough.
        </p>
      </div>
      <details open={narrowed} className="group">
        <summary className="cursor-pointer text-sm font-medium select-none">
          Filters{narrowedCount ? ` (${narrowedCount} on)` : ""}
        </summary>
        <div className="mt-3 grid grid-cols-2 gap-3 sm:grid-cols-5">
          <SelectFilter
            id="history-modality"
            name="modality"
            label="Type"
            value={filters.modality}
            any="All types"
            options={Object.entries(MODALITY_LABEL).map(([value, label]) => ({ value, label }))}
          />
          <SelectFilter
            id="history-status"
            name="status"
            label="Status"
            value={filters.status}
            any="Any status"
            options={Object.entries(STATUS_LABEL).map(([value, label]) => ({ value, label }))}
          />
          <div className="col-span-2 sm:col-span-1">
            <SelectFilter
              id="history-model"
              name="model"
              label="Model"
              value={filters.model}
              any="All models"
              options={models.map((model) => ({ value: model.id, label: model.label }))}
            />
          </div>
          <DateFilter
            id="history-from"
            name="from"
            label="From (UTC)"
            value={filters.from}
            invalid={Boolean(dateError)}
          />
          <DateFilter id="history-to" name="to" label="To (UTC)" value={filters.to} invalid={Boolean(dateError)} />
        </div>
        {dateError ? (
          <p className="mt-2 text-sm text-red-700 dark:text-red-400" id="history-date-error">
            {dateError}
          </p>
        ) : null}
        <div className="mt-3 flex flex-wrap gap-2">
          <button type="submit" className="btn-secondary">
            Apply filters
          </button>
        </div>
      </details>
      {active ? (
        <p className="text-sm">
          <Link to="/history" className="link">
            Clear search and filters
          </Link>
        </p>
      ) : null}
    </Form>
  );
}

function SelectFilter({
  id,
  name,
  label,
  value,
  any,
  options,
}: {
  id: string;
  name: string;
  label: string;
  value: string;
  any: string;
  options: Array<{ value: string; label: string }>;
}) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <select id={id} name={name} defaultValue={value} key={value} className="input">
        <option value="">{any}</option>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function DateFilter({
  id,
  name,
  label,
  value,
  invalid,
}: {
  id: string;
  name: string;
  label: string;
  value: string;
  invalid: boolean;
}) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <input
        id={id}
        type="date"
        name={name}
        defaultValue={value}
        key={value}
        className="input"
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? "history-date-error" : undefined}
      />
    </div>
  );
}

/** Wide screens: a table. */
function ResultsTable() {
  const { items, page, pageCount } = useLoaderData<typeof loader>();
  return (
    <div className="hidden card p-0 sm:block sm:p-0">
      <table className="w-full text-sm">
        <caption className="sr-only">
          Your generations, page {page} of {pageCount}
        </caption>
        <thead>
          <tr className="border-b border-zinc-200 text-left text-zinc-600 dark:border-zinc-800 dark:text-zinc-400">
            <th scope="col" className="py-2 pr-3 pl-4 font-medium">
              <span className="sr-only">Preview</span>
            </th>
            <th scope="col" className="py-2 pr-4 font-medium">
              Prompt
            </th>
            <th scope="col" className="py-2 pr-4 font-medium">
              Model
            </th>
            <th scope="col" className="py-2 pr-4 font-medium">
              Status
            </th>
            <th scope="col" className="py-2 pr-4 text-right font-medium">
              Cost
            </th>
            <th scope="col" className="py-2 pr-4 font-medium">
              Date (UTC)
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((row) => (
            <tr key={row.id} className="border-b border-zinc-100 align-top last:border-0 dark:border-zinc-800">
              <td className="py-3 pr-3 pl-4">
                <Thumbnail row={row} />
              </td>
              <td className="max-w-md py-3 pr-4">
                <PromptCell row={row} />
              </td>
              <td className="py-3 pr-4">
                <p>{row.modelLabel}</p>
                <p className="text-zinc-600 dark:text-zinc-400">{MODALITY_LABEL[row.modality]}</p>
              </td>
              <td className="py-3 pr-4">
                <StatusBadge status={row.status} />
                {row.status === "running" && row.modality !== "text" ? (
                  <p className="mt-1 text-zinc-600 tabular-nums dark:text-zinc-400">{row.progress}%</p>
                ) : null}
              </td>
              <td className="py-3 pr-4 text-right whitespace-nowrap">
                <CostText row={row} />
              </td>
              <td className="py-3 pr-4 whitespace-nowrap text-zinc-600 dark:text-zinc-400">
                <time dateTime={row.iso}>{row.date}</time>
                {row.duration ? <p>took {row.duration}</p> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Phones: one card per generation. */
function ResultsList() {
  const { items } = useLoaderData<typeof loader>();
  return (
    <ul className="space-y-3 sm:hidden" aria-label="Your generations">
      {items.map((row) => (
        <li key={row.id} className="card p-4">
          <div className="flex items-start gap-3">
            <Thumbnail row={row} size="size-14" />
            <div className="min-w-0 flex-1">
              <PromptCell row={row} />
            </div>
          </div>
          <div className="mt-3 flex flex-wrap items-center justify-between gap-x-3 gap-y-1 text-sm">
            <p className="min-w-0">
              <span className="font-medium">{row.modelLabel}</span>
              <span className="text-zinc-600 dark:text-zinc-400"> · {MODALITY_LABEL[row.modality]}</span>
            </p>
            <p className="flex items-center gap-2">
              <StatusBadge status={row.status} />
              <span className="sr-only">Cost </span>
              <CostText row={row} />
            </p>
          </div>
          <p className="mt-1 text-[13px] text-zinc-600 dark:text-zinc-400">
            <time dateTime={row.iso}>{row.date} UTC</time>
            {row.duration ? ` · took ${row.duration}` : null}
          </p>
        </li>
      ))}
    </ul>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
