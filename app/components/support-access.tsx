import { getCollectionProps, getFormProps, useForm, type SubmissionResult } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import { Form, Link } from "@remix-run/react";
import { z } from "zod";
import { ErrorList, FormMessage, SubmitButton } from "#app/components/forms";

// The member's side of support access: the form that grants it for a fixed time, and the list of running
// grants with a Revoke button each. Used by a generation's page (/history/:id) and Settings → Privacy.
// The schemas run in the browser too, so they live here, not in the .server model (which checks the
// duration again against the same fixed set).

export const SUPPORT_GRANT_INTENT = "support-grant";
export const SUPPORT_REVOKE_INTENT = "support-revoke";

export const SUPPORT_DURATION_VALUES = ["1h", "24h", "7d"] as const;
const DURATION_LABEL: Record<(typeof SUPPORT_DURATION_VALUES)[number], string> = {
  "1h": "1 hour",
  "24h": "24 hours",
  "7d": "7 days",
};

export const supportGrantSchema = z.object({
  intent: z.literal(SUPPORT_GRANT_INTENT),
  duration: z.enum(SUPPORT_DURATION_VALUES, { error: "Choose for how long: 1 hour, 24 hours or 7 days." }),
});

export const supportRevokeSchema = z.object({
  intent: z.literal(SUPPORT_REVOKE_INTENT),
  grantId: z
    .string({ error: "Reload the page and try again." })
    .regex(/^[a-z0-9]{1,40}$/i, "Reload the page and try again."),
});

/** A running grant as the member sees it (dates already written out, so server and browser agree). */
export type GrantView = {
  id: string;
  scope: "generation" | "history";
  /** What it covers, e.g. "Text · Demo chat, 3 May 2025" or "Your whole history". */
  label: string;
  /** The generation's page, for a one-generation grant shown outside it. */
  href: string | null;
  expiresIso: string;
  /** "3 May 2025, 14:05 UTC" */
  expires: string;
  /** "about 23 hours left" */
  left: string;
};

const expiryFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

export const formatExpiry = (date: Date) => `${expiryFormat.format(date)} UTC`;

/** "about 6 days left", "about 3 hours left", "12 minutes left", "under a minute left". */
export function timeLeft(expiresAt: Date, now = new Date()): string {
  const ms = expiresAt.getTime() - now.getTime();
  if (ms < 60_000) return "under a minute left";
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? "" : "s"} left`;
  const hours = Math.round(ms / 3_600_000);
  if (hours < 48) return `about ${hours} hour${hours === 1 ? "" : "s"} left`;
  return `about ${Math.round(ms / 86_400_000)} days left`;
}

export function SupportGrantForm({
  formId,
  lastResult,
  legend,
  submitLabel,
}: {
  formId: string;
  lastResult: SubmissionResult<string[]> | null | undefined;
  legend: string;
  submitLabel: string;
}) {
  const [form, fields] = useForm({
    id: formId,
    lastResult,
    defaultValue: { duration: "1h" },
    onValidate: ({ formData }) => parseWithZod(formData, { schema: supportGrantSchema }),
    shouldValidate: "onSubmit",
  });
  return (
    <Form method="post" className="space-y-3" {...getFormProps(form)}>
      <FormMessage id={form.errorId} errors={form.errors} />
      <fieldset aria-describedby={fields.duration.errors?.length ? fields.duration.errorId : undefined}>
        <legend className="mb-1 text-sm font-medium">{legend}</legend>
        <div className="flex flex-wrap gap-x-5 gap-y-1">
          {getCollectionProps(fields.duration, { type: "radio", options: [...SUPPORT_DURATION_VALUES] }).map(
            ({ key, ...props }) => (
              <label key={key} htmlFor={props.id} className="flex min-h-11 items-center gap-2 text-sm">
                <input {...props} className="size-4 accent-brand-600" />
                {DURATION_LABEL[props.value as (typeof SUPPORT_DURATION_VALUES)[number]] ?? props.value}
              </label>
            ),
          )}
        </div>
        <ErrorList id={fields.duration.errorId} errors={fields.duration.errors} />
      </fieldset>
      <SubmitButton className="btn-secondary" name="intent" value={SUPPORT_GRANT_INTENT} pendingText="Allowing…">
        {submitLabel}
      </SubmitButton>
    </Form>
  );
}

export function SupportGrantList({ grants, label }: { grants: GrantView[]; label: string }) {
  if (grants.length === 0) return null;
  return (
    <ul className="space-y-2" aria-label={label}>
      {grants.map((grant) => (
        <li
          key={grant.id}
          className="flex flex-wrap items-center justify-between gap-3 rounded-lg border border-zinc-200 p-3 text-sm dark:border-zinc-800"
        >
          <div className="min-w-0">
            <p className="font-medium break-words">
              {grant.href ? (
                <Link to={grant.href} className="link">
                  {grant.label}
                </Link>
              ) : (
                grant.label
              )}
            </p>
            <p className="text-zinc-600 dark:text-zinc-400">
              Until <time dateTime={grant.expiresIso}>{grant.expires}</time> ({grant.left})
            </p>
          </div>
          <Form method="post">
            <input type="hidden" name="grantId" value={grant.id} />
            <SubmitButton className="btn-secondary" name="intent" value={SUPPORT_REVOKE_INTENT} pendingText="Revoking…">
              Revoke<span className="sr-only"> access to {grant.label}</span>
            </SubmitButton>
          </Form>
        </li>
      ))}
    </ul>
  );
}
