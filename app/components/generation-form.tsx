import { useEffect, useRef, useSyncExternalStore, type ReactNode } from "react";
import type { CatalogEntry } from "#app/utils/catalog";
import { describePrice, MODALITY_LABELS } from "#app/utils/catalog";
import { ATTACHMENT_FIELDS } from "#app/utils/generation-form";
import { formatMoney } from "#app/utils/money";
import {
  estimateImages,
  estimateInputTokens,
  estimateSpeech,
  estimateText,
  estimateVideo,
  type Modality,
} from "#app/utils/pricing";
import { ErrorList } from "./forms";

// The pieces of the generation form shared by /generate, /chat and /compare: the model picker with prices,
// the per-modality settings, and the live "up to" estimate.

export type FieldErrors = Record<string, string[] | undefined>;

const MODALITY_ORDER: Modality[] = ["text", "image", "speech", "video"];

export function ModelPicker({
  id,
  name = "model",
  label = "Model",
  catalog,
  value,
  onChange,
  currency,
  errors,
  modalities = MODALITY_ORDER,
}: {
  id: string;
  name?: string;
  label?: string;
  catalog: CatalogEntry[];
  value: string;
  onChange: (modelId: string) => void;
  currency: string;
  errors?: string[];
  modalities?: Modality[];
}) {
  const selected = catalog.find((entry) => entry.id === value);
  const errorId = `${id}-error`;
  const infoId = `${id}-info`;
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <select
        id={id}
        name={name}
        className="input"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={[infoId, errors?.length ? errorId : null].filter(Boolean).join(" ")}
      >
        {modalities.map((modality) => {
          const entries = catalog.filter((entry) => entry.modality === modality);
          if (entries.length === 0) return null;
          return (
            <optgroup key={modality} label={MODALITY_LABELS[modality]}>
              {entries.map((entry) => (
                <option key={entry.id} value={entry.id} disabled={!entry.available}>
                  {entry.label} · {entry.providerLabel}
                  {entry.available ? "" : " (unavailable)"}
                </option>
              ))}
            </optgroup>
          );
        })}
      </select>
      <ErrorList id={errorId} errors={errors} />
      {selected ? (
        <div id={infoId} className="mt-2 space-y-1 text-sm text-zinc-600 dark:text-zinc-400">
          <p>
            {selected.provider === "demo" ? (
              <span className="mr-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs font-semibold text-amber-900 dark:bg-amber-900 dark:text-amber-100">
                Demo
              </span>
            ) : null}
            {selected.description}
          </p>
          <p>
            <span className="font-medium text-zinc-800 dark:text-zinc-200">Price:</span>{" "}
            {describePrice(selected, currency)}
          </p>
          <p>
            <span className="font-medium text-zinc-800 dark:text-zinc-200">Privacy:</span> {selected.privacyNote}
          </p>
        </div>
      ) : null}
    </div>
  );
}

/**
 * What a settings field needs from the form: Conform's field metadata (its id and error id, name, the value
 * it starts from, its errors) fits as it is.
 */
export type FieldMeta = {
  id: string;
  name: string;
  errorId: string;
  initialValue?: unknown;
  errors?: string[];
};

export type SettingName =
  "maxOutputTokens" | "temperature" | "size" | "quality" | "n" | "voice" | "seconds" | "aspectRatio";

export type ParamDefaults = Partial<Record<SettingName, string>>;

/** The value a field starts from: what the form holds for it (typed before, or a re-run's), else the model's. */
function initial(meta: FieldMeta, fallback?: string): string | undefined {
  return typeof meta.initialValue === "string" ? meta.initialValue : fallback;
}

function Select({
  meta,
  label,
  options,
  onChange,
}: {
  meta: FieldMeta;
  label: string;
  options: Array<{ value: string; label: string }>;
  onChange?: () => void;
}) {
  const invalid = Boolean(meta.errors?.length);
  return (
    <div>
      <label htmlFor={meta.id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <select
        id={meta.id}
        name={meta.name}
        className="input"
        defaultValue={initial(meta)}
        onChange={onChange}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? meta.errorId : undefined}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <ErrorList id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

function NumberInput({
  meta,
  label,
  hint,
  fallback,
  ...rest
}: {
  meta: FieldMeta;
  label: string;
  hint?: ReactNode;
  /** The model's default when the form holds no value. */
  fallback?: string;
  min?: number;
  max?: number;
  step?: number | "any";
  placeholder?: string;
  inputMode?: "numeric" | "decimal";
}) {
  const invalid = Boolean(meta.errors?.length);
  const hintId = `${meta.id}-hint`;
  const describedBy = [hint ? hintId : null, invalid ? meta.errorId : null].filter(Boolean).join(" ");
  return (
    <div>
      <label htmlFor={meta.id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <input
        id={meta.id}
        name={meta.name}
        type="number"
        className="input"
        defaultValue={initial(meta, fallback)}
        aria-invalid={invalid || undefined}
        aria-describedby={describedBy || undefined}
        {...rest}
      />
      {hint ? (
        <p id={hintId} className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      <ErrorList id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

/** The settings a model takes, named as the form schema expects them; `fields` is Conform's fieldset. */
export function ModelSettings({
  entry,
  fields,
  onChange,
}: {
  entry: CatalogEntry;
  fields: Record<SettingName, FieldMeta>;
  onChange?: () => void;
}) {
  const caps = entry.capabilities;
  // key: switching models resets the fields to that model's defaults.
  if (entry.modality === "text") {
    return (
      <div key={entry.id} className="grid gap-4 sm:grid-cols-2">
        <NumberInput
          meta={fields.maxOutputTokens}
          label="Longest answer (tokens)"
          min={1}
          max={caps.maxOutputTokens}
          step={1}
          inputMode="numeric"
          fallback={String(caps.defaultOutputTokens)}
          hint={`Up to ${caps.maxOutputTokens.toLocaleString("en")}. A token is about ¾ of a word.`}
        />
        {caps.temperature ? (
          <NumberInput
            meta={fields.temperature}
            label="Temperature"
            min={0}
            max={2}
            step={0.1}
            inputMode="decimal"
            placeholder="Model default"
            hint="0 is focused and repeatable, 2 is most varied."
          />
        ) : null}
      </div>
    );
  }
  if (entry.modality === "image") {
    return (
      <div key={entry.id} className="grid gap-4 sm:grid-cols-3">
        {caps.sizes.length ? (
          <Select
            meta={fields.size}
            label="Size"
            options={caps.sizes.map((size) => ({ value: size, label: size.replace("x", " × ") }))}
            onChange={onChange}
          />
        ) : null}
        {caps.qualities.length ? (
          <Select
            meta={fields.quality}
            label="Quality"
            options={caps.qualities.map((quality) => ({
              value: quality,
              label: quality[0]!.toUpperCase() + quality.slice(1),
            }))}
            onChange={onChange}
          />
        ) : null}
        {caps.maxImages > 1 ? (
          <NumberInput
            meta={fields.n}
            label="Number of images"
            min={1}
            max={caps.maxImages}
            step={1}
            inputMode="numeric"
            fallback="1"
          />
        ) : null}
      </div>
    );
  }
  if (entry.modality === "speech") {
    return (
      <div key={entry.id} className="grid gap-4 sm:grid-cols-2">
        {caps.voices.length ? (
          <Select
            meta={fields.voice}
            label="Voice"
            options={caps.voices.map((voice) => ({ value: voice.id, label: voice.label }))}
          />
        ) : null}
      </div>
    );
  }
  return (
    <div key={entry.id} className="grid gap-4 sm:grid-cols-2">
      {caps.seconds.length ? (
        <Select
          meta={fields.seconds}
          label="Length"
          options={caps.seconds.map((seconds) => ({ value: String(seconds), label: `${seconds} seconds` }))}
          onChange={onChange}
        />
      ) : null}
      {caps.aspectRatios.length ? (
        <Select
          meta={fields.aspectRatio}
          label="Shape"
          options={caps.aspectRatios.map((ratio) => ({ value: ratio, label: ratio }))}
        />
      ) : null}
    </div>
  );
}

/** The most a request can cost, computed from the form as it is now (same code as the server's hold). */
export function estimateFromForm(
  entry: CatalogEntry,
  form: HTMLFormElement | null,
  files: Array<{ type: string; size: number }>,
  /** Earlier turns of a chat, sent again with this prompt. */
  history: string[] = [],
): bigint | null {
  if (!form) return null;
  const data = new FormData(form);
  const text = (name: string) => {
    const value = data.get(name);
    return typeof value === "string" ? value : "";
  };
  const integer = (name: string, fallback: number) => {
    const value = Number(text(name));
    return Number.isInteger(value) && value > 0 ? value : fallback;
  };
  const caps = entry.capabilities;
  const sizes = files.map((file) => ({ mediaType: file.type || "application/octet-stream", size: file.size }));
  switch (entry.modality) {
    case "text": {
      const inputTokens = estimateInputTokens([...history, text("prompt")], sizes, caps);
      const maxOutput = Math.min(integer("maxOutputTokens", caps.defaultOutputTokens), caps.maxOutputTokens);
      return estimateText(entry.price, inputTokens, maxOutput);
    }
    case "image":
      return estimateImages(
        entry.price,
        integer("n", 1),
        { size: text("size") || caps.sizes[0], quality: text("quality") || caps.qualities[0] },
        { prompt: text("prompt"), files: sizes, limits: caps },
      );
    case "speech":
      return estimateSpeech(entry.price, text("prompt"));
    case "video":
      return estimateVideo(entry.price, integer("seconds", caps.seconds[0] ?? 4));
  }
}

export function EstimateNote({
  estimate,
  available,
  cap,
  currency,
  modality,
}: {
  estimate: bigint | null;
  available: bigint;
  cap: bigint | null;
  currency: string;
  modality: Modality;
}) {
  if (estimate === null) return null;
  const money = (amount: bigint) => formatMoney(amount, currency);
  const overBalance = estimate > available;
  const overCap = cap !== null && estimate > cap;
  return (
    <div aria-live="polite" className="text-sm">
      <p>
        <span className="font-semibold">Up to {money(estimate)}</span>{" "}
        <span className="text-zinc-600 dark:text-zinc-400">
          · you pay only what is used · available {money(available)}
        </span>
      </p>
      {overBalance ? (
        <p className="mt-1 text-red-700 dark:text-red-400">
          That is more than your available balance.{" "}
          <a className="link" href="/wallet/top-up">
            Top up your wallet
          </a>{" "}
          or ask for less.
        </p>
      ) : null}
      {overCap ? (
        <p className="mt-1 text-amber-800 dark:text-amber-300">
          {modality === "text"
            ? "Above your limit: the answer will be kept shorter so it costs no more than the limit."
            : "Above your limit: lower the settings or raise the limit."}
        </p>
      ) : null}
    </div>
  );
}

/** Attachments as the server expects them: file0, file1… (one per part, each checked on its own). */
export function appendFiles(body: FormData, files: File[]) {
  for (const name of ATTACHMENT_FIELDS) body.delete(name);
  files.forEach((file, index) => body.append(ATTACHMENT_FIELDS[index]!, file, file.name));
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 102.4) / 10} KB`;
  return `${Math.round(bytes / 104857.6) / 10} MB`;
}

const noSubscription = () => () => undefined;
/** False while the server's HTML is all there is (no JavaScript yet, or none at all), true once React runs. */
function useHydrated(): boolean {
  return useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
}

const FILE_INPUT_CLASS =
  "block w-full text-sm file:mr-3 file:rounded-lg file:border-0 file:bg-zinc-200 file:px-3 file:py-2 file:font-semibold dark:file:bg-zinc-800";

/**
 * Files to send with the prompt: chosen (several at once or one by one), listed with their size, each
 * removable; a file over the model's size limit is refused here with a message tied to the field.
 *
 * With `fieldNames`, the form can also be posted without JavaScript: until the page is interactive it shows
 * one plain file input per name (a browser sends every file of one `multiple` input under the same name,
 * and the server reads one file per name), the first one open and the others under "Attach more files".
 * Files chosen there before the script starts are taken over by the picker.
 */
export function AttachmentsField({
  entry,
  files,
  onFilesChange,
  errors,
  onError,
  maxFiles,
  fieldNames,
  id = "files",
}: {
  entry: CatalogEntry;
  files: File[];
  onFilesChange: (files: File[]) => void;
  errors?: string[];
  onError: (message: string | undefined) => void;
  maxFiles: number;
  fieldNames?: readonly string[];
  id?: string;
}) {
  const { maxFileBytes } = entry.capabilities;
  const limit = Math.min(entry.capabilities.maxFiles, maxFiles, fieldNames?.length ?? maxFiles);
  const image = entry.modality === "image";
  const hydrated = useHydrated();
  const interactive = hydrated || !fieldNames;
  // The plain inputs' container, kept after it leaves the page so the files chosen in it can be read.
  const plain = useRef<HTMLDivElement | null>(null);
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const invalid = Boolean(errors?.length);
  const describedBy = [hintId, invalid ? errorId : null].filter(Boolean).join(" ");

  function choose(chosen: File[]) {
    const kept = chosen.slice(0, limit);
    const tooBig = kept.find((file) => file.size > maxFileBytes);
    onError(
      tooBig ? `${tooBig.name} is larger than ${formatBytes(maxFileBytes)}, the limit for ${entry.label}.` : undefined,
    );
    onFilesChange(tooBig ? kept.filter((file) => file !== tooBig) : kept);
  }

  useEffect(() => {
    if (!hydrated || !plain.current) return;
    const inputs = plain.current.querySelectorAll<HTMLInputElement>("input[type=file]");
    const early = Array.from(inputs).flatMap((input) => Array.from(input.files ?? []));
    plain.current = null;
    if (early.length) choose(early);
    // Once, when the page becomes interactive.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [hydrated]);

  const label = image ? "Start from pictures" : "Attachments";
  const hint = (
    <p id={hintId} className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
      {image ? "Pictures to edit or use as reference (PNG, JPEG, WebP)" : "Images, PDFs and text files"}, up to{" "}
      {formatBytes(maxFileBytes)} each, at most {limit}.
    </p>
  );
  const accept = entry.capabilities.fileTypes.join(",");

  if (!interactive && fieldNames) {
    const [first, ...more] = fieldNames.slice(0, limit);
    return (
      <div
        ref={(element) => {
          if (element) plain.current = element;
        }}
      >
        <label htmlFor={id} className="mb-1 block text-sm font-medium">
          {label} <span className="font-normal text-zinc-600 dark:text-zinc-400">(optional)</span>
        </label>
        <input
          id={id}
          name={first}
          type="file"
          accept={accept}
          className={FILE_INPUT_CLASS}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
        />
        {hint}
        <ErrorList id={errorId} errors={errors} />
        {more.length ? (
          <details className="mt-2 text-sm">
            <summary className="cursor-pointer link">Attach more files</summary>
            <div className="mt-2 space-y-3">
              {more.map((name, index) => (
                <div key={name}>
                  <label htmlFor={`${id}-${index + 2}`} className="mb-1 block font-medium">
                    {image ? "Picture" : "File"} {index + 2}
                  </label>
                  <input
                    id={`${id}-${index + 2}`}
                    name={name}
                    type="file"
                    accept={accept}
                    className={FILE_INPUT_CLASS}
                    aria-describedby={describedBy}
                    aria-invalid={invalid || undefined}
                  />
                </div>
              ))}
            </div>
          </details>
        ) : null}
      </div>
    );
  }

  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label} <span className="font-normal text-zinc-600 dark:text-zinc-400">(optional)</span>
      </label>
      <input
        id={id}
        type="file"
        multiple
        accept={accept}
        className={FILE_INPUT_CLASS}
        aria-describedby={describedBy}
        aria-invalid={invalid || undefined}
        onChange={(event) => {
          choose([...files, ...Array.from(event.target.files ?? [])]);
          event.target.value = "";
        }}
      />
      {hint}
      <ErrorList id={errorId} errors={errors} />
      {files.length ? (
        <ul className="mt-2 space-y-1 text-sm">
          {files.map((file, index) => (
            <li key={`${file.name}-${index}`} className="flex items-center justify-between gap-2">
              <span className="truncate">
                {file.name} <span className="text-zinc-500">({formatBytes(file.size)})</span>
              </span>
              <button
                type="button"
                className="text-sm link"
                onClick={() => onFilesChange(files.filter((_, other) => other !== index))}
              >
                Remove<span className="sr-only"> {file.name}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
