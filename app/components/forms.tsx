import { useNavigation } from "@remix-run/react";
import { escapeHtml } from "#app/utils/html";
import { countryOptions } from "#app/utils/validation";
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";

export type ListOfErrors = Array<string | null | undefined> | null | undefined;

export function ErrorList({ id, errors }: { id?: string; errors?: ListOfErrors }) {
  const list = errors?.filter(Boolean);
  if (!list?.length) return null;
  return (
    <ul id={id} className="mt-1 space-y-1 text-sm text-red-700 dark:text-red-400">
      {list.map((error) => (
        <li key={error}>{error}</li>
      ))}
    </ul>
  );
}

/** A form-level message (for errors that belong to no one field). */
export function FormMessage({
  id,
  errors,
  tone = "error",
}: {
  id?: string;
  errors?: ListOfErrors;
  tone?: "error" | "success";
}) {
  const list = errors?.filter(Boolean);
  if (!list?.length) return null;
  const style =
    tone === "error"
      ? "border-red-200 bg-red-50 text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200"
      : "border-emerald-200 bg-emerald-50 text-emerald-800 dark:border-emerald-900 dark:bg-emerald-950 dark:text-emerald-200";
  return (
    <div
      id={id}
      role={tone === "error" ? "alert" : "status"}
      className={`my-3 rounded-lg border px-3 py-2 text-sm ${style}`}
    >
      {list.map((message) => (
        <p key={message}>{message}</p>
      ))}
    </div>
  );
}

type FieldProps = {
  label: ReactNode;
  hint?: ReactNode;
  errors?: ListOfErrors;
  inputProps: InputHTMLAttributes<HTMLInputElement> & { id?: string };
};

/** Label, input, hint and errors tied together for screen readers (aria-describedby, aria-invalid). */
export function Field({ label, hint, errors, inputProps }: FieldProps) {
  const fallbackId = useId();
  const id = inputProps.id ?? fallbackId;
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const hasErrors = Boolean(errors?.filter(Boolean).length);
  const describedBy = [hint ? hintId : null, hasErrors ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <input
        {...inputProps}
        id={id}
        className={inputProps.className ? `input ${inputProps.className}` : "input"}
        aria-invalid={hasErrors || undefined}
        aria-describedby={describedBy}
      />
      {hint ? (
        <p id={hintId} className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      <ErrorList id={errorId} errors={errors} />
    </div>
  );
}

type SelectFieldProps = {
  label: ReactNode;
  errors?: ListOfErrors;
  selectProps: SelectHTMLAttributes<HTMLSelectElement> & { id?: string };
} & (
  | { options: Array<{ value: string; label: string }>; placeholder?: string; optionsHtml?: never }
  /** A long fixed list as ready-made, escaped `<option>` markup (placeholder included). */
  | { options?: never; placeholder?: never; optionsHtml: string }
);

export function SelectField({ label, errors, selectProps, options, optionsHtml, placeholder }: SelectFieldProps) {
  const fallbackId = useId();
  const id = selectProps.id ?? fallbackId;
  const errorId = `${id}-error`;
  const hasErrors = Boolean(errors?.filter(Boolean).length);
  const props: SelectFieldProps["selectProps"] = {
    ...selectProps,
    id,
    className: "input",
    "aria-invalid": hasErrors || undefined,
    "aria-describedby": hasErrors ? errorId : undefined,
  };
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      {optionsHtml !== undefined ? (
        <select {...props} dangerouslySetInnerHTML={{ __html: optionsHtml }} />
      ) : (
        <select {...props}>
          {placeholder ? <option value="">{placeholder}</option> : null}
          {options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      )}
      <ErrorList id={errorId} errors={errors} />
    </div>
  );
}

export function CheckboxField({
  label,
  errors,
  inputProps,
}: {
  label: ReactNode;
  errors?: ListOfErrors;
  inputProps: InputHTMLAttributes<HTMLInputElement> & { id?: string };
}) {
  const fallbackId = useId();
  const id = inputProps.id ?? fallbackId;
  const errorId = `${id}-error`;
  const hasErrors = Boolean(errors?.filter(Boolean).length);
  return (
    <div>
      <div className="flex items-start gap-3">
        <input
          {...inputProps}
          type="checkbox"
          id={id}
          className="mt-0.5 size-5 shrink-0 accent-brand-600 aria-[invalid=true]:outline-2 aria-[invalid=true]:outline-red-600"
          aria-invalid={hasErrors || undefined}
          aria-describedby={hasErrors ? errorId : undefined}
        />
        <label htmlFor={id} className="text-sm">
          {label}
        </label>
      </div>
      <ErrorList id={errorId} errors={errors} />
    </div>
  );
}

/** Submit button that shows progress while its form is being submitted. */
export function SubmitButton({
  children,
  pendingText,
  className = "btn-primary w-full",
  name,
  value,
}: {
  children: ReactNode;
  pendingText?: string;
  className?: string;
  name?: string;
  value?: string;
}) {
  const navigation = useNavigation();
  const pending = navigation.state === "submitting" && (name === undefined || navigation.formData?.get(name) === value);
  return (
    <button type="submit" className={className} name={name} value={value} disabled={pending} aria-busy={pending}>
      {pending ? (pendingText ?? "Working…") : children}
    </button>
  );
}

export function CountrySelect({
  errors,
  selectProps,
}: {
  errors?: ListOfErrors;
  selectProps: SelectFieldProps["selectProps"];
}) {
  const selected = typeof selectProps.defaultValue === "string" ? selectProps.defaultValue : undefined;
  return (
    <SelectField
      label="Country"
      errors={errors}
      selectProps={{ ...selectProps, autoComplete: "country" }}
      optionsHtml={countryOptionsHtml(selected)}
    />
  );
}

let countryMarkup: string | null = null;

/**
 * The country list as `<option>` markup, made once: React took about 1 ms of every profile or sign-up
 * page to render its 250 options. The chosen country is marked `selected`, as React would.
 */
function countryOptionsHtml(selected: string | undefined) {
  countryMarkup ??= [{ value: "", label: "Choose your country" }, ...countryOptions()]
    .map((option) => `<option value="${escapeHtml(option.value)}">${escapeHtml(option.label)}</option>`)
    .join("");
  if (!selected) return countryMarkup;
  const tag = `<option value="${escapeHtml(selected)}">`;
  return countryMarkup.replace(tag, `<option value="${escapeHtml(selected)}" selected="">`);
}
