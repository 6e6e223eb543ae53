import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { CheckboxField, Field, FormMessage, SubmitButton } from "#app/components/forms";
import { MODALITY_LABEL } from "#app/components/generation-output";
import {
  formatExpiry,
  type GrantView,
  SUPPORT_GRANT_INTENT,
  SUPPORT_REVOKE_INTENT,
  SupportGrantForm,
  SupportGrantList,
  supportGrantSchema,
  supportRevokeSchema,
  timeLeft,
} from "#app/components/support-access";
import { enqueueExport } from "#app/jobs/exports.server";
import {
  deleteAccount,
  EXPORT_MAX_FILE_BYTES,
  EXPORTS_PER_DAY,
  EXPORT_TTL_DAYS,
  getPrivacyOverview,
  markExportFailed,
  requestExport,
} from "#app/models/data-rights.server";
import { blankSessionCookie } from "#app/models/session.server";
import {
  grantSupportAccess,
  listActiveGrants,
  revokeSupportAccess,
  type MemberGrant,
} from "#app/models/support-access.server";
import { requireUser } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { logger } from "#app/utils/logger.server";
import { formatMoney } from "#app/utils/money";
import { consumeRateLimit, rateLimits, retryMessage } from "#app/utils/rate-limit.server";
import { clientIp } from "#app/utils/request.server";
import { CurrentPasswordSchema } from "#app/utils/validation";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Privacy & data · Settings · AI Wallet" }];

const ExportSchema = z.object({ intent: z.literal("export") });

const confirmField = z.literal("on", { error: "Tick the box to confirm you understand." });

/** Accounts with a password re-enter it; Google-only accounts type their email address. */
function deleteSchema(hasPassword: boolean) {
  return hasPassword
    ? z.object({ intent: z.literal("delete"), password: CurrentPasswordSchema, confirm: confirmField })
    : z.object({
        intent: z.literal("delete"),
        confirmEmail: z.string({ error: "Type your email address" }).trim().min(1, "Type your email address").max(254),
        confirm: confirmField,
      });
}

const SUPPORT_DONE: Record<string, string> = {
  granted: "Support can now see your history until the time shown below.",
  revoked: "Support access ended.",
};

const generationDate = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" });

function presentGrant(grant: MemberGrant, now: Date): GrantView {
  const generation = grant.generation;
  return {
    id: grant.id,
    scope: generation ? "generation" : "history",
    label: generation
      ? `${MODALITY_LABEL[generation.modality]} · ${generation.modelLabel}, ${generationDate.format(generation.createdAt)}`
      : "Your whole history",
    href: generation ? `/history/${generation.id}` : null,
    expiresIso: grant.expiresAt.toISOString(),
    expires: formatExpiry(grant.expiresAt),
    left: timeLeft(grant.expiresAt, now),
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const now = new Date();
  const [overview, grants] = await Promise.all([
    getPrivacyOverview(user.id),
    listActiveGrants(user.id, undefined, now),
  ]);
  const latest = overview.latestExport;
  const params = new URL(request.url).searchParams;
  const supportDone = params.get("support");
  return {
    requested: params.get("export") === "requested",
    supportGrants: grants.map((grant) => presentGrant(grant, now)),
    supportDone: supportDone ? (SUPPORT_DONE[supportDone] ?? null) : null,
    email: user.email,
    hasPassword: overview.hasPassword,
    balance: formatMoney(overview.balance.available, overview.balance.currency),
    hasBalance: overview.balance.available > 0n,
    held: overview.balance.held > 0n,
    generations: overview.generations,
    files: overview.files,
    exportDays: EXPORT_TTL_DAYS,
    exportsPerDay: EXPORTS_PER_DAY,
    exportMaxSize:
      EXPORT_MAX_FILE_BYTES >= 1024 ** 3
        ? `about ${Math.round(EXPORT_MAX_FILE_BYTES / 1024 ** 3)} GB`
        : `${Math.round(EXPORT_MAX_FILE_BYTES / 1024 ** 2)} MB`,
    latestExport: latest
      ? {
          status: latest.status,
          createdAt: latest.createdAt.toISOString(),
          expiresAt: latest.expiresAt?.toISOString() ?? null,
        }
      : null,
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request);
  const formData = await readForm(request);
  const ip = clientIp(context);
  const intent = formData.get("intent");

  if (intent === SUPPORT_GRANT_INTENT) {
    const submission = parseWithZod(formData, { schema: supportGrantSchema });
    if (submission.status !== "success")
      return data({ export: null, delete: null, support: submission.reply() }, { status: 400 });
    const result = await grantSupportAccess(user.id, { wholeHistory: true, duration: submission.value.duration }, ip);
    if (!result.ok) throw new Response("Not Found", { status: 404 });
    return redirect("/settings/privacy?support=granted");
  }

  if (intent === SUPPORT_REVOKE_INTENT) {
    const submission = parseWithZod(formData, { schema: supportRevokeSchema });
    if (submission.status !== "success") {
      const reply = submission.reply({
        formErrors: ["That request was not understood. Reload the page and try again."],
      });
      return data({ export: null, delete: null, support: reply }, { status: 400 });
    }
    const result = await revokeSupportAccess(user.id, submission.value.grantId, ip);
    if (!result.ok) throw new Response("Not Found", { status: 404 });
    return redirect("/settings/privacy?support=revoked");
  }

  if (intent === "export") {
    const submission = parseWithZod(formData, { schema: ExportSchema });
    if (submission.status !== "success")
      return data({ export: "That request was not understood.", delete: null, support: null }, { status: 400 });
    const result = await requestExport(user.id, ip);
    if (!result.ok && result.reason === "too_many") {
      const hours = Math.ceil(result.retryAfterSeconds / 3600);
      return data(
        {
          export: `You can ask for ${result.limit} exports a day. Try again in ${hours === 1 ? "about 1 hour" : `about ${hours} hours`}.`,
          delete: null,
          support: null,
        },
        { status: 429, headers: { "Retry-After": String(result.retryAfterSeconds) } },
      );
    }
    if (!result.ok) {
      return data(
        {
          export: "Your export is already being prepared. We will email you when it is ready.",
          delete: null,
          support: null,
        },
        { status: 409 },
      );
    }
    try {
      await enqueueExport(result.exportId);
    } catch (error) {
      await markExportFailed(result.exportId);
      logger.error("data_export.enqueue_failed", {
        exportId: result.exportId,
        errorName: error instanceof Error ? error.name : "unknown",
      });
      return data(
        {
          export: "We could not start your export just now. Please try again in a minute.",
          delete: null,
          support: null,
        },
        { status: 503 },
      );
    }
    return redirect("/settings/privacy?export=requested");
  }

  const schema = deleteSchema(user.hasPassword);
  const submission = parseWithZod(formData, { schema });
  const hide = { hideFields: ["password"] };
  if (submission.status !== "success")
    return data({ export: null, delete: submission.reply(hide), support: null }, { status: 400 });
  const limit = await consumeRateLimit(`delete-account:user:${user.id}`, rateLimits.loginPerAccount);
  if (!limit.allowed) {
    return data(
      {
        export: null,
        delete: submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)], ...hide }),
        support: null,
      },
      { status: 429 },
    );
  }
  const value = submission.value;
  const result = await deleteAccount({
    userId: user.id,
    password: "password" in value ? value.password : null,
    confirmEmail: "confirmEmail" in value ? value.confirmEmail : null,
    ip,
  });
  if (!result.ok) {
    const reply =
      result.reason === "password"
        ? submission.reply({ fieldErrors: { password: ["That is not your password."] }, ...hide })
        : result.reason === "email"
          ? submission.reply({ fieldErrors: { confirmEmail: ["That is not your account's email address."] } })
          : result.reason === "in_flight"
            ? submission.reply({
                formErrors: ["A generation is still running. Wait until it has finished (or stop it), then try again."],
                ...hide,
              })
            : submission.reply({ formErrors: ["This account cannot be deleted."], ...hide });
    return data({ export: null, delete: reply, support: null }, { status: 400 });
  }
  return redirect("/?accountDeleted=1", { headers: { "Set-Cookie": blankSessionCookie() } });
}

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

function ExportStatus({ latest }: { latest: ReturnType<typeof useLoaderData<typeof loader>>["latestExport"] }) {
  if (!latest) return null;
  const asked = formatDateTime(latest.createdAt);
  switch (latest.status) {
    case "pending":
      return <p className="text-sm">{`Your export asked on ${asked} is being prepared. We will email you a link.`}</p>;
    case "ready":
      return (
        <p className="text-sm">
          {`Your export is ready: open the link we emailed you${latest.expiresAt ? ` before ${formatDateTime(latest.expiresAt)}` : ""}.`}
        </p>
      );
    case "downloaded":
      return <p className="text-sm">{`Your last export (asked on ${asked}) was downloaded.`}</p>;
    case "expired":
      return <p className="text-sm">{`Your last export (asked on ${asked}) has expired. Ask for a new one.`}</p>;
    case "failed":
      return (
        <p className="text-sm">
          {`Your last export (asked on ${asked}) could not be built. Try again; if it fails again, `}
          <Link to="/contact" className="link">
            contact us
          </Link>
          .
        </p>
      );
  }
}

export default function PrivacySettings() {
  const loaderData = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [deleteForm, fields] = useForm({
    id: "delete-account",
    lastResult: actionData?.delete,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: deleteSchema(loaderData.hasPassword) }),
    // Checked on submit only: re-checking on blur would remove a server error ("not your password") just as
    // the member clicks the button, moving the button from under the pointer so the click is lost.
    shouldValidate: "onSubmit",
    shouldRevalidate: "onSubmit",
  });
  const pending = loaderData.latestExport?.status === "pending";
  return (
    <div className="space-y-8">
      <section aria-labelledby="export-heading" className="space-y-3">
        <div>
          <h2 id="export-heading" className="text-lg font-semibold">
            Download your data
          </h2>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            One ZIP file with your profile, sessions, generations (prompts, settings, outputs, costs), conversations,
            top-ups, your full wallet statement, and every file we keep for you. We email you a link when it is ready;
            it works once, while you are signed in, for {loaderData.exportDays} days.
          </p>
        </div>
        <div className="space-y-3 card">
          {loaderData.requested && pending ? (
            <FormMessage tone="success" errors={["Export requested. We will email you when it is ready."]} />
          ) : null}
          {actionData?.export ? <FormMessage errors={[actionData.export]} /> : null}
          <ExportStatus latest={loaderData.latestExport} />
          <Form method="post">
            <SubmitButton pendingText="Requesting…" className="btn-secondary" name="intent" value="export">
              Request export
            </SubmitButton>
          </Form>
          <p className="text-xs text-zinc-600 dark:text-zinc-400">
            {`One export holds up to ${loaderData.exportMaxSize} of files; if yours are more, contact us. You can ask for ${loaderData.exportsPerDay} exports a day.`}
          </p>
        </div>
      </section>

      <section aria-labelledby="support-heading" className="space-y-3">
        <div>
          <h2 id="support-heading" className="text-lg font-semibold">
            Support access
          </h2>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            Our staff cannot see your prompts, outputs or files. When you ask us for help, you can let support see one
            generation (from its page in your history) or your whole history, for a limited time. Every view is
            recorded; access ends by itself, or when you revoke it.
          </p>
        </div>
        <div className="space-y-4 card">
          <div aria-live="polite">
            {loaderData.supportDone ? <FormMessage tone="success" errors={[loaderData.supportDone]} /> : null}
          </div>
          {loaderData.supportGrants.length ? (
            <div className="space-y-2">
              <h3 className="text-sm font-medium">Support can currently see</h3>
              <SupportGrantList grants={loaderData.supportGrants} label="Active support access" />
            </div>
          ) : (
            <p className="text-sm">Support cannot see any of your generations.</p>
          )}
          <SupportGrantForm
            formId="support-history"
            lastResult={actionData?.support}
            legend={
              loaderData.supportGrants.some((grant) => grant.scope === "history")
                ? "Replace whole-history access with a new period, starting now"
                : "Let support see your whole history for"
            }
            submitLabel="Allow access to my whole history"
          />
        </div>
      </section>

      <section aria-labelledby="delete-heading" className="space-y-3">
        <div>
          <h2 id="delete-heading" className="text-lg font-semibold">
            Delete your account
          </h2>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">This cannot be undone. Download your data first.</p>
        </div>
        <div className="space-y-3 card text-sm">
          <p>
            <strong>Your wallet balance of {loaderData.balance} will be forfeited.</strong>{" "}
            {loaderData.hasBalance ? (
              <>
                If you would like it refunded instead,{" "}
                <Link to="/contact" className="link">
                  contact us
                </Link>{" "}
                before you delete your account.
              </>
            ) : null}
          </p>
          <div>
            <p className="font-medium">Erased now</p>
            <ul className="ml-5 list-disc">
              <li>your email address, name, phone number and country;</li>
              <li>
                the prompts, outputs and settings of your {plural(loaderData.generations, "generation", "generations")},
                and your {plural(loaderData.files, "file", "files")} (outputs, attachments, receipts);
              </li>
              <li>your conversations, data exports, sessions and password;</li>
              <li>the sender numbers and references of your manual top-ups, and your name in messages you sent us.</li>
            </ul>
          </div>
          <div>
            <p className="font-medium">Kept, without your name or contact details</p>
            <ul className="ml-5 list-disc">
              <li>
                the amounts of your payments and wallet movements, and which model each generation used and what it cost
                (our accounts must balance, and tax law asks us to keep payment records);
              </li>
              <li>the security log of actions on the account, by account number only.</li>
            </ul>
          </div>
        </div>
        <Form method="post" className="space-y-4 card" {...getFormProps(deleteForm)}>
          <FormMessage id={deleteForm.errorId} errors={deleteForm.errors} />
          {loaderData.hasPassword ? (
            <Field
              label="Your password"
              hint="To make sure it is you."
              errors={fields.password?.errors}
              inputProps={{
                ...getInputProps(fields.password!, { type: "password" }),
                autoComplete: "current-password",
              }}
            />
          ) : (
            <Field
              label="Type your email address"
              hint={`You sign in with Google: type ${loaderData.email} to confirm it is you.`}
              errors={fields.confirmEmail?.errors}
              inputProps={{ ...getInputProps(fields.confirmEmail!, { type: "email" }), autoComplete: "off" }}
            />
          )}
          <CheckboxField
            label={`I understand that my account and data will be erased and my balance of ${loaderData.balance} forfeited.`}
            errors={fields.confirm.errors}
            inputProps={getInputProps(fields.confirm, { type: "checkbox" })}
          />
          <SubmitButton pendingText="Deleting…" className="btn-danger" name="intent" value="delete">
            Delete my account
          </SubmitButton>
        </Form>
      </section>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
