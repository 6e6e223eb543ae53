import { getFormProps, getInputProps, getSelectProps, getTextareaProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { ErrorList, Field, FormMessage, SubmitButton } from "#app/components/forms";
import {
  adjustBalance,
  changeMemberRole,
  getMemberForAdmin,
  MAX_REASON_LENGTH,
  setMemberDisabled,
} from "#app/models/admin-members.server";
import { requireRole } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { readForm } from "#app/utils/form.server";
import { formatMoney, parseAmount } from "#app/utils/money";
import { clientIp } from "#app/utils/request.server";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Member — Admin — AI Wallet" }];

const formatDate = (iso: string | null) => (iso ? formatDateTime(iso) : "—");

// Shared by the browser (instant feedback) and the server; the model checks the same rules again.
function adjustSchema(currency: string, maxReason: number) {
  return z.object({
    intent: z.literal("adjust"),
    requestId: z.string({ error: "Reload the page and try again" }),
    direction: z.enum(["credit", "debit"], { error: "Choose credit or debit" }),
    amount: z.string({ error: "Enter an amount" }).transform((text, ctx) => {
      const parsed = parseAmount(text, currency);
      if (!parsed.ok) {
        ctx.addIssue({ code: "custom", message: parsed.error });
        return z.NEVER;
      }
      return parsed.micros;
    }),
    reason: z
      .string({ error: "Say why (kept in the ledger and the audit log)" })
      .trim()
      .min(3, "Say why (kept in the ledger and the audit log)")
      .max(maxReason, `At most ${maxReason} characters`),
  });
}

// Defined here, not imported: a .server module is empty in the browser, and this schema runs there too.
const ROLE_VALUES = ["member", "support", "admin"] as const;
const roleSchema = z.object({ intent: z.literal("role"), role: z.enum(ROLE_VALUES, { error: "Choose a role" }) });

const DONE_MESSAGES: Record<string, string> = {
  adjusted: "Adjustment recorded in the ledger.",
  replayed: "That adjustment was already recorded (the form was sent twice): nothing changed.",
  disabled: "Account disabled. All its sessions have ended.",
  enabled: "Account enabled. The member can sign in again.",
  role: "Role changed.",
  unchanged: "Nothing to change.",
};

export async function loader({ request, params }: LoaderFunctionArgs) {
  const user = await requireRole(request, ["admin", "support"]);
  const member = await getMemberForAdmin(params.id ?? "");
  if (!member) throw new Response("Not Found", { status: 404 });
  const currency = member.balance.currency;
  const money = (micros: bigint) => formatMoney(micros, currency);
  const done = new URL(request.url).searchParams.get("done");
  const { profile } = member;
  return {
    canAct: user.role === "admin",
    isSelf: user.id === profile.id,
    currency,
    maxReasonLength: MAX_REASON_LENGTH,
    // A fresh id per page view: the form carries it, so a double submit is one ledger transfer.
    requestId: crypto.randomUUID(),
    done: done ? (DONE_MESSAGES[done] ?? null) : null,
    profile: {
      id: profile.id,
      email: profile.email,
      displayName: profile.displayName,
      country: profile.country,
      phone: profile.phone,
      role: profile.role,
      hasPassword: profile.hasPassword,
      googleLinked: profile.googleLinked,
      createdAt: profile.createdAt.toISOString(),
      emailVerifiedAt: profile.emailVerifiedAt?.toISOString() ?? null,
      disabledAt: profile.disabledAt?.toISOString() ?? null,
    },
    balance: {
      balance: money(member.balance.balance),
      held: money(member.balance.held),
      available: money(member.balance.available),
    },
    statement: member.statement.items.map((item) => ({
      id: item.id,
      date: item.date.toISOString(),
      description: item.description,
      amount: money(item.amount),
      credit: item.amount > 0n,
      balanceAfter: money(item.balanceAfter),
    })),
    statementTotal: member.statement.total,
    generations: member.generations,
    sessions: member.sessions,
  };
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  // Members: the page does not exist (404). Support: it exists, the actions do not (403).
  const user = await requireRole(request, ["admin", "support"]);
  if (user.role !== "admin") throw new Response("Forbidden", { status: 403 });
  const id = params.id ?? "";
  const formData = await readForm(request);
  const intent = formData.get("intent");
  const actor = { actorId: user.id, ip: clientIp(context) };
  const done = (what: string) => redirect(`/admin/members/${encodeURIComponent(id)}?done=${what}`);

  if (intent === "adjust") {
    const submission = parseWithZod(formData, { schema: adjustSchema(env.WALLET_CURRENCY, MAX_REASON_LENGTH) });
    if (submission.status !== "success") {
      return data({ intent: "adjust" as const, result: submission.reply() }, { status: 400 });
    }
    const outcome = await adjustBalance({ ...actor, memberId: id, ...submission.value });
    if (outcome.ok) throw done(outcome.replayed ? "replayed" : "adjusted");
    if (outcome.reason === "not_found") throw new Response("Not Found", { status: 404 });
    const errors =
      outcome.reason === "self" || outcome.field === "requestId"
        ? { formErrors: [outcome.error] }
        : { fieldErrors: { [outcome.field]: [outcome.error] } };
    return data({ intent: "adjust" as const, result: submission.reply(errors) }, { status: 400 });
  }

  if (intent === "disable" || intent === "enable") {
    const outcome = await setMemberDisabled({ ...actor, memberId: id, disabled: intent === "disable" });
    if (outcome.ok) throw done(outcome.changed ? (intent === "disable" ? "disabled" : "enabled") : "unchanged");
    if (outcome.reason === "not_found") throw new Response("Not Found", { status: 404 });
    return data({ intent: "account" as const, error: outcome.error }, { status: 400 });
  }

  if (intent === "role") {
    const submission = parseWithZod(formData, { schema: roleSchema });
    if (submission.status !== "success") {
      return data({ intent: "role" as const, result: submission.reply() }, { status: 400 });
    }
    const outcome = await changeMemberRole({ ...actor, memberId: id, role: submission.value.role });
    if (outcome.ok) throw done(outcome.changed ? "role" : "unchanged");
    if (outcome.reason === "not_found") throw new Response("Not Found", { status: 404 });
    return data(
      { intent: "role" as const, result: submission.reply({ formErrors: [outcome.error] }) },
      { status: 400 },
    );
  }

  throw new Response("Bad Request", { status: 400 });
}

function AdjustForm({
  currency,
  requestId,
  maxReasonLength,
  available,
}: {
  currency: string;
  requestId: string;
  maxReasonLength: number;
  available: string;
}) {
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "adjust",
    lastResult: actionData?.intent === "adjust" ? actionData.result : undefined,
    defaultValue: { direction: "credit" },
    onValidate: ({ formData }) => parseWithZod(formData, { schema: adjustSchema(currency, maxReasonLength) }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <Form method="post" className="space-y-4 card" {...getFormProps(form)}>
      <h2 className="text-lg font-semibold">Adjust the balance</h2>
      <FormMessage id={form.errorId} errors={form.errors} />
      <input type="hidden" name="requestId" value={requestId} />
      <fieldset>
        <legend className="mb-1 text-sm font-medium">Direction</legend>
        <div className="flex flex-wrap gap-4">
          {(["credit", "debit"] as const).map((direction) => (
            <label key={direction} className="flex min-h-11 items-center gap-2 text-sm">
              <input
                type="radio"
                name={fields.direction.name}
                value={direction}
                defaultChecked={fields.direction.initialValue === direction}
              />
              {direction === "credit" ? "Credit (add money)" : `Debit (take money, at most ${available})`}
            </label>
          ))}
        </div>
        <ErrorList id={fields.direction.errorId} errors={fields.direction.errors} />
      </fieldset>
      <Field
        label={`Amount (${currency})`}
        errors={fields.amount.errors}
        inputProps={{ ...getInputProps(fields.amount, { type: "text" }), inputMode: "decimal", autoComplete: "off" }}
      />
      <div>
        <label htmlFor={fields.reason.id} className="mb-1 block text-sm font-medium">
          Reason
        </label>
        <textarea
          {...getTextareaProps(fields.reason)}
          rows={2}
          className="input"
          aria-describedby={`${fields.reason.id}-hint ${fields.reason.errorId}`}
        />
        <p id={`${fields.reason.id}-hint`} className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Required. Kept in the ledger and the audit log; the member sees “Adjustment” on their statement.
        </p>
        <ErrorList id={fields.reason.errorId} errors={fields.reason.errors} />
      </div>
      <SubmitButton name="intent" value="adjust" className="btn-primary min-h-12 w-full" pendingText="Adjusting…">
        Record the adjustment
      </SubmitButton>
    </Form>
  );
}

function RoleForm({ role }: { role: string }) {
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "role",
    lastResult: actionData?.intent === "role" ? actionData.result : undefined,
    defaultValue: { role },
    onValidate: ({ formData }) => parseWithZod(formData, { schema: roleSchema }),
  });
  return (
    <Form method="post" className="space-y-4 card" {...getFormProps(form)}>
      <h2 className="text-lg font-semibold">Role</h2>
      <FormMessage id={form.errorId} errors={form.errors} />
      <div>
        <label htmlFor={fields.role.id} className="mb-1 block text-sm font-medium">
          Role
        </label>
        <select {...getSelectProps(fields.role)} className="input">
          <option value="member">Member</option>
          <option value="support">Support (reads the admin console, cannot move money)</option>
          <option value="admin">Admin (everything)</option>
        </select>
        <ErrorList id={fields.role.errorId} errors={fields.role.errors} />
      </div>
      <SubmitButton name="intent" value="role" className="btn-secondary min-h-12 w-full" pendingText="Saving…">
        Change role
      </SubmitButton>
    </Form>
  );
}

function AccountForm({ disabled }: { disabled: boolean }) {
  const actionData = useActionData<typeof action>();
  const error = actionData?.intent === "account" ? actionData.error : null;
  return (
    <Form method="post" className="space-y-3 card">
      <h2 className="text-lg font-semibold">Access</h2>
      {error ? <FormMessage errors={[error]} /> : null}
      <p className="text-sm text-zinc-600 dark:text-zinc-400">
        {disabled
          ? "This account is disabled: it cannot sign in. Enabling it lets the member sign in again."
          : "Disabling ends every session now and refuses sign-in (password and Google) until enabled again."}
      </p>
      {disabled ? (
        <SubmitButton name="intent" value="enable" className="btn-secondary min-h-12 w-full" pendingText="Enabling…">
          Enable the account
        </SubmitButton>
      ) : (
        <SubmitButton name="intent" value="disable" className="btn-danger min-h-12 w-full" pendingText="Disabling…">
          Disable the account
        </SubmitButton>
      )}
    </Form>
  );
}

export default function AdminMember() {
  const {
    canAct,
    isSelf,
    currency,
    maxReasonLength,
    requestId,
    done,
    profile,
    balance,
    statement,
    statementTotal,
    generations,
    sessions,
  } = useLoaderData<typeof loader>();
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/members" className="link">
          ‹ Members
        </Link>
      </p>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div className="min-w-0">
          <h1 className="text-2xl font-bold break-words">{profile.displayName}</h1>
          <p className="text-sm break-all text-zinc-600 dark:text-zinc-400">{profile.email}</p>
        </div>
        <p className="flex flex-wrap gap-1 text-sm">
          <span className="rounded-full bg-zinc-100 px-2.5 py-0.5 capitalize dark:bg-zinc-800">{profile.role}</span>
          {profile.disabledAt ? (
            <span className="rounded-full bg-red-600 px-2.5 py-0.5 font-semibold text-white">disabled</span>
          ) : null}
        </p>
      </div>
      {done ? <FormMessage tone="success" errors={[done]} /> : null}

      <section aria-labelledby="profile-heading" className="space-y-3 card">
        <h2 id="profile-heading" className="text-lg font-semibold">
          Profile
        </h2>
        <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-2 text-sm">
          <dt className="text-zinc-600 dark:text-zinc-400">Member id</dt>
          <dd className="font-mono break-all">{profile.id}</dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Country</dt>
          <dd>{profile.country}</dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Phone</dt>
          <dd>{profile.phone ?? "—"}</dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Sign-in</dt>
          <dd>
            {[profile.hasPassword ? "password" : null, profile.googleLinked ? "Google" : null]
              .filter(Boolean)
              .join(" and ") || "none"}
          </dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Joined</dt>
          <dd>
            <time dateTime={profile.createdAt}>{formatDate(profile.createdAt)}</time>
          </dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Verified</dt>
          <dd>{profile.emailVerifiedAt ? formatDate(profile.emailVerifiedAt) : "not yet"}</dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Disabled</dt>
          <dd>{profile.disabledAt ? formatDate(profile.disabledAt) : "no"}</dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Active sessions</dt>
          <dd>{sessions}</dd>
        </dl>
      </section>

      <section aria-labelledby="wallet-heading" className="space-y-3 card">
        <h2 id="wallet-heading" className="text-lg font-semibold">
          Wallet
        </h2>
        <dl className="grid grid-cols-3 gap-2 text-sm">
          <div>
            <dt className="text-zinc-600 dark:text-zinc-400">Available</dt>
            <dd className="text-lg font-bold">{balance.available}</dd>
          </div>
          <div>
            <dt className="text-zinc-600 dark:text-zinc-400">Held</dt>
            <dd className="font-semibold">{balance.held}</dd>
          </div>
          <div>
            <dt className="text-zinc-600 dark:text-zinc-400">Balance</dt>
            <dd className="font-semibold">{balance.balance}</dd>
          </div>
        </dl>
        <h3 className="pt-2 font-semibold">
          Latest movements{statementTotal > statement.length ? ` (${statement.length} of ${statementTotal})` : ""}
        </h3>
        {statement.length === 0 ? (
          <p className="text-sm">No movements yet.</p>
        ) : (
          <ul className="divide-y divide-zinc-200 text-sm dark:divide-zinc-800">
            {statement.map((line) => (
              <li key={line.id} className="flex flex-wrap items-baseline justify-between gap-x-3 py-2">
                <span className="min-w-0">
                  {line.description}
                  <br />
                  <time dateTime={line.date} className="text-xs text-zinc-600 dark:text-zinc-400">
                    {formatDate(line.date)}
                  </time>
                </span>
                <span className="text-right">
                  <span
                    className={line.credit ? "font-semibold text-emerald-700 dark:text-emerald-400" : "font-semibold"}
                  >
                    {line.credit ? "+" : ""}
                    {line.amount}
                  </span>
                  <br />
                  <span className="text-xs text-zinc-600 dark:text-zinc-400">balance {line.balanceAfter}</span>
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="generations-heading" className="space-y-3 card">
        <h2 id="generations-heading" className="text-lg font-semibold">
          Generations
        </h2>
        <p className="text-xs text-zinc-600 dark:text-zinc-400">Counts only: prompts and outputs stay private.</p>
        {generations.length === 0 ? (
          <p className="text-sm">None yet.</p>
        ) : (
          <ul className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-3">
            {generations.map((row) => (
              <li key={`${row.status}-${row.modality}`} className="rounded-lg bg-zinc-50 px-3 py-2 dark:bg-zinc-800">
                <span className="text-lg font-bold">{row.count}</span>{" "}
                <span className="capitalize">{row.modality}</span> · {row.status}
              </li>
            ))}
          </ul>
        )}
      </section>

      {canAct ? (
        isSelf ? (
          <p className="card text-sm">This is your own account: another admin has to change its role or access.</p>
        ) : (
          <div className="grid gap-4 sm:grid-cols-2">
            <div className="sm:col-span-2">
              <AdjustForm
                currency={currency}
                requestId={requestId}
                maxReasonLength={maxReasonLength}
                available={balance.available}
              />
            </div>
            <AccountForm disabled={profile.disabledAt !== null} />
            <RoleForm role={profile.role} />
          </div>
        )
      ) : (
        <p className="card text-sm">Support can view members; only an admin can adjust, disable or change roles.</p>
      )}
      <p className="text-sm">
        <Link className="link" to={`/admin/audit?target=${encodeURIComponent(profile.id)}`}>
          Audit log for this member
        </Link>
      </p>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
