import type { ReactNode } from "react";
import type { CatalogEntry } from "#app/utils/catalog";
import { describePrice, MODALITY_LABELS } from "#app/utils/catalog";
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

function Select({
  id,
  label,
  name,
  options,
  defaultValue,
  errors,
  onChange,
}: {
  id: string;
  label: string;
  name: string;
  options: Array<{ value: string; label: string }>;
  defaultValue?: string;
  errors?: string[];
  onChange?: () => void;
}) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <select
        id={id}
        name={name}
        className="input"
        defaultValue={defaultValue}
        onChange={onChange}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={errors?.length ? `${id}-error` : undefined}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <ErrorList id={`${id}-error`} errors={errors} />
    </div>
  );
}

function NumberInput({
  id,
  label,
  name,
  hint,
  errors,
  ...rest
}: {
  id: string;
  label: string;
  name: string;
  hint?: ReactNode;
  errors?: string[];
  min?: number;
  max?: number;
  step?: number | "any";
  defaultValue?: string | number;
  placeholder?: string;
  inputMode?: "numeric" | "decimal";
}) {
  const describedBy = [hint ? `${id}-hint` : null, errors?.length ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <input
        id={id}
        name={name}
        type="number"
        className="input"
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={describedBy || undefined}
        {...rest}
      />
      {hint ? (
        <p id={`${id}-hint`} className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      <ErrorList id={`${id}-error`} errors={errors} />
    </div>
  );
}

export type ParamDefaults = Partial<
  Record<"maxOutputTokens" | "temperature" | "size" | "quality" | "n" | "voice" | "seconds" | "aspectRatio", string>
>;

/** The settings a model takes, named as the form schema expects them. */
export function ModelSettings({
  idPrefix,
  entry,
  errors,
  defaults = {},
  onChange,
}: {
  idPrefix: string;
  entry: CatalogEntry;
  errors: FieldErrors;
  defaults?: ParamDefaults;
  onChange?: () => void;
}) {
  const caps = entry.capabilities;
  const id = (name: string) => `${idPrefix}-${name}`;
  // key: switching models resets the fields to that model's defaults.
  if (entry.modality === "text") {
    return (
      <div key={entry.id} className="grid gap-4 sm:grid-cols-2">
        <NumberInput
          id={id("maxOutputTokens")}
          label="Longest answer (tokens)"
          name="maxOutputTokens"
          min={1}
          max={caps.maxOutputTokens}
          step={1}
          inputMode="numeric"
          defaultValue={defaults.maxOutputTokens ?? String(caps.defaultOutputTokens)}
          hint={`Up to ${caps.maxOutputTokens.toLocaleString("en")}. A token is about ¾ of a word.`}
          errors={errors.maxOutputTokens}
        />
        {caps.temperature ? (
          <NumberInput
            id={id("temperature")}
            label="Temperature"
            name="temperature"
            min={0}
            max={2}
            step={0.1}
            inputMode="decimal"
            defaultValue={defaults.temperature ?? ""}
            placeholder="Model default"
            hint="0 is focused and repeatable, 2 is most varied."
            errors={errors.temperature}
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
            id={id("size")}
            label="Size"
            name="size"
            options={caps.sizes.map((size) => ({ value: size, label: size.replace("x", " × ") }))}
            defaultValue={defaults.size}
            errors={errors.size}
            onChange={onChange}
          />
        ) : null}
        {caps.qualities.length ? (
          <Select
            id={id("quality")}
            label="Quality"
            name="quality"
            options={caps.qualities.map((quality) => ({
              value: quality,
              label: quality[0]!.toUpperCase() + quality.slice(1),
            }))}
            defaultValue={defaults.quality}
            errors={errors.quality}
            onChange={onChange}
          />
        ) : null}
        {caps.maxImages > 1 ? (
          <NumberInput
            id={id("n")}
            label="Number of images"
            name="n"
            min={1}
            max={caps.maxImages}
            step={1}
            inputMode="numeric"
            defaultValue={defaults.n ?? "1"}
            errors={errors.n}
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
            id={id("voice")}
            label="Voice"
            name="voice"
            options={caps.voices.map((voice) => ({ value: voice.id, label: voice.label }))}
            defaultValue={defaults.voice}
            errors={errors.voice}
          />
        ) : null}
      </div>
    );
  }
  return (
    <div key={entry.id} className="grid gap-4 sm:grid-cols-2">
      {caps.seconds.length ? (
        <Select
          id={id("seconds")}
          label="Length"
          name="seconds"
          options={caps.seconds.map((seconds) => ({ value: String(seconds), label: `${seconds} seconds` }))}
          defaultValue={defaults.seconds}
          errors={errors.seconds}
          onChange={onChange}
        />
      ) : null}
      {caps.aspectRatios.length ? (
        <Select
          id={id("aspectRatio")}
          label="Shape"
          name="aspectRatio"
          options={caps.aspectRatios.map((ratio) => ({ value: ratio, label: ratio }))}
          defaultValue={defaults.aspectRatio}
          errors={errors.aspectRatio}
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
  body.delete("file0");
  files.forEach((file, index) => body.append(`file${index}`, file, file.name));
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 102.4) / 10} KB`;
  return `${Math.round(bytes / 104857.6) / 10} MB`;
}

/**
 * Files to send with the prompt: chosen (several at once or one by one), listed with their size, each
 * removable; a file over the model's size limit is refused here with a message tied to the field.
 */
export function AttachmentsField({
  entry,
  files,
  onFilesChange,
  errors,
  onError,
  maxFiles,
  name,
}: {
  entry: CatalogEntry;
  files: File[];
  onFilesChange: (files: File[]) => void;
  errors?: string[];
  onError: (message: string | undefined) => void;
  maxFiles: number;
  /** Set for a form that can also be posted without JavaScript (one file then). */
  name?: string;
}) {
  const { maxFileBytes } = entry.capabilities;
  const limit = Math.min(entry.capabilities.maxFiles, maxFiles);
  const image = entry.modality === "image";
  return (
    <div>
      <label htmlFor="files" className="mb-1 block text-sm font-medium">
        {image ? "Start from pictures" : "Attachments"}{" "}
        <span className="font-normal text-zinc-600 dark:text-zinc-400">(optional)</span>
      </label>
      <input
        id="files"
        name={name}
        type="file"
        multiple
        accept={entry.capabilities.fileTypes.join(",")}
        className="block w-full text-sm file:mr-3 file:rounded-lg file:border-0 file:bg-zinc-200 file:px-3 file:py-2 file:font-semibold dark:file:bg-zinc-800"
        aria-describedby={["files-hint", errors?.length ? "files-error" : null].filter(Boolean).join(" ")}
        aria-invalid={errors?.length ? true : undefined}
        onChange={(event) => {
          const chosen = [...files, ...Array.from(event.target.files ?? [])].slice(0, limit);
          const tooBig = chosen.find((file) => file.size > maxFileBytes);
          onError(
            tooBig
              ? `${tooBig.name} is larger than ${formatBytes(maxFileBytes)}, the limit for ${entry.label}.`
              : undefined,
          );
          onFilesChange(tooBig ? chosen.filter((file) => file !== tooBig) : chosen);
          event.target.value = "";
        }}
      />
      <p id="files-hint" className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        {image ? "Pictures to edit or use as reference (PNG, JPEG, WebP)" : "Images, PDFs and text files"}, up to{" "}
        {formatBytes(maxFileBytes)} each, at most {limit}.
      </p>
      <ErrorList id="files-error" errors={errors} />
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
