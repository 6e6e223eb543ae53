import { getFormProps, getInputProps, getTextareaProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { Fragment, useId, type TextareaHTMLAttributes } from "react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { ErrorList, Field, FormMessage, SubmitButton, type ListOfErrors } from "#app/components/forms";
import {
  type AdminTopUp,
  approvalsLabel,
  approveManualTopUp,
  type DecisionFailure,
  getDecisionSummary,
  getTopUpForAdmin,
  MAX_NOTE_LENGTH,
  rejectManualTopUp,
  staffReceiptAccess,
} from "#app/models/manual-topups.server";
import { requireRole } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { readForm } from "#app/utils/form.server";
import { formatMoney, microsToDecimalString, parseAmount } from "#app/utils/money";
import { clientIp } from "#app/utils/request.server";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Manual top-up — Admin — AI Wallet" }];

// Shared by the browser (instant feedback) and the server; the model checks the same rules again.
// Values from server modules reach the browser through the loader (a .server import is empty there).
// `agreed`: the amount a first admin approved (a second approval of that amount needs no new note).
function approveSchema(currency: string, claimed: bigint, agreed: bigint | null, maxNote: number) {
  return z
    .object({
      intent: z.literal("approve"),
      creditedAmount: z.string({ error: "Enter the amount to credit" }).transform((text, ctx) => {
        const parsed = parseAmount(text, currency);
        if (!parsed.ok) {
          ctx.addIssue({ code: "custom", message: parsed.error });
          return z.NEVER;
        }
        return parsed.micros;
      }),
      note: z.string().trim().max(maxNote, `At most ${maxNote} characters`).optional(),
    })
    .refine((value) => value.creditedAmount === claimed || value.creditedAmount === agreed || Boolean(value.note), {
      path: ["note"],
      message: "Explain why the credited amount differs from the claimed one (the member will see this note)",
    });
}

function rejectSchema(maxNote: number) {
  return z.object({
    intent: z.literal("reject"),
    reason: z
      .string({ error: "Tell the member why (they will see this reason)" })
      .trim()
      .min(3, "Tell the member why (they will see this reason)")
      .max(maxNote, `At most ${maxNote} characters`),
  });
}

function present(row: AdminTopUp) {
  const currency = env.WALLET_CURRENCY;
  return {
    id: row.id,
    status: row.status,
    creditPending: row.status === "approved" && !row.transferId,
    transferId: row.transferId,
    memberName: row.member?.displayName ?? "(deleted member)",
    memberEmail: row.member?.email ?? "",
    method: row.method.name,
    methodAccount: row.method.accountNumber,
    claimed: formatMoney(row.claimedAmount, currency),
    credited: row.creditedAmount === null ? null : formatMoney(row.creditedAmount, currency),
    senderNumber: row.senderNumber,
    reference: row.reference,
    duplicates: row.duplicates,
    receipt: row.receiptFile
      ? { url: `/files/${row.receiptFile.id}`, isImage: row.receiptFile.mediaType.startsWith("image/") }
      : null,
    createdAt: row.createdAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
    decidedBy: row.decidedBy?.displayName ?? null,
    decisionNote: row.decisionNote,
    approvalsLabel: approvalsLabel(row),
    approvals: row.approvals.map((approval) => ({
      adminName: approval.admin?.displayName ?? "(former admin)",
      at: approval.createdAt.toISOString(),
      amount: formatMoney(approval.creditedAmount, currency),
      note: approval.note,
    })),
  };
}

/** Why this admin is not offered the approve form (null: they may approve). */
function approveBlockedFor(userId: string, topUp: AdminTopUp): string | null {
  if (topUp.userId === userId) return "This top-up is to your own wallet: another admin must approve it.";
  if (topUp.approvals.some((approval) => approval.adminId === userId)) {
    return "You already approved this top-up. A second admin must approve it before it is credited.";
  }
  return null;
}

export async function loader({ request, params }: LoaderFunctionArgs) {
  const user = await requireRole(request, ["admin", "support"]);
  const topUp = await getTopUpForAdmin(params.id ?? "");
  if (!topUp) throw new Response("Not Found", { status: 404 });
  const canDecide = user.role === "admin" && topUp.status === "pending";
  const approveBlocked = canDecide ? approveBlockedFor(user.id, topUp) : null;
  const agreed = topUp.approvals[0]?.creditedAmount ?? null;
  return {
    canDecide,
    canApprove: canDecide && approveBlocked === null,
    approveBlocked,
    currency: env.WALLET_CURRENCY,
    maxNoteLength: MAX_NOTE_LENGTH,
    claimedMicros: topUp.claimedAmount.toString(),
    claimedDecimal: microsToDecimalString(topUp.claimedAmount),
    agreedMicros: agreed === null ? null : agreed.toString(),
    approveDefault: microsToDecimalString(agreed ?? topUp.claimedAmount),
    approveStep:
      topUp.approvalsRequired === 2 ? (topUp.approvals.length === 0 ? ("first" as const) : ("second" as const)) : null,
    topUp: await withReceiptAccess(user, topUp),
    sameReference: topUp.sameReference.map(present),
  };
}

/** Support sees the receipt only while the member allows it (see staffReceiptAccess); admins always do. */
async function withReceiptAccess(user: { id: string; role: string }, topUp: AdminTopUp) {
  const row = present(topUp);
  if (!topUp.receiptFile) return { ...row, receiptHidden: false };
  const access = await staffReceiptAccess(user, { purpose: "receipt", ownerId: topUp.userId });
  return access.allowed ? { ...row, receiptHidden: false } : { ...row, receipt: null, receiptHidden: true };
}

const STATUS_WORD = { pending: "pending", approved: "approved", rejected: "rejected" } as const;

const OWN_TOP_UP = "You cannot approve a top-up to your own wallet. Another admin must.";
const ALREADY_APPROVED = "You already approved this top-up. A second admin must approve it before it is credited.";

function alreadyDecided(failure: Extract<DecisionFailure, { reason: "already_decided" }>) {
  return `This request was already ${STATUS_WORD[failure.status]}. Nothing changed.`;
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  // Members: the page does not exist (404). Support: the page exists for them, the decision does
  // not (403), so "support can read but not move money" holds and the refusal is explicit.
  const user = await requireRole(request, ["admin", "support"]);
  if (user.role !== "admin") throw new Response("Forbidden", { status: 403 });
  const id = params.id ?? "";
  const topUp = await getDecisionSummary(id);
  if (!topUp) throw new Response("Not Found", { status: 404 });
  const formData = await readForm(request);
  const ip = clientIp(context);

  if (formData.get("intent") === "approve") {
    const submission = parseWithZod(formData, {
      schema: approveSchema(env.WALLET_CURRENCY, topUp.claimedAmount, topUp.agreedAmount, MAX_NOTE_LENGTH),
    });
    if (submission.status !== "success") {
      return data({ intent: "approve" as const, result: submission.reply() }, { status: 400 });
    }
    const outcome = await approveManualTopUp({
      id,
      actorId: user.id,
      ip,
      creditedAmount: submission.value.creditedAmount,
      note: submission.value.note ?? null,
    });
    if (outcome.ok) throw redirect(`/admin/top-ups?done=${encodeURIComponent(id)}`);
    if (outcome.reason === "not_found") throw new Response("Not Found", { status: 404 });
    if (outcome.reason === "already_decided" || outcome.reason === "already_approved") {
      const message = outcome.reason === "already_decided" ? alreadyDecided(outcome) : ALREADY_APPROVED;
      return data({ intent: "approve" as const, result: submission.reply({ formErrors: [message] }) }, { status: 409 });
    }
    if (outcome.reason === "own_top_up") {
      return data(
        { intent: "approve" as const, result: submission.reply({ formErrors: [OWN_TOP_UP] }) },
        { status: 403 },
      );
    }
    if (outcome.reason !== "invalid") throw new Response("Bad Request", { status: 400 });
    return data(
      { intent: "approve" as const, result: submission.reply({ fieldErrors: { [outcome.field]: [outcome.error] } }) },
      { status: 400 },
    );
  }

  if (formData.get("intent") === "reject") {
    const submission = parseWithZod(formData, { schema: rejectSchema(MAX_NOTE_LENGTH) });
    if (submission.status !== "success") {
      return data({ intent: "reject" as const, result: submission.reply() }, { status: 400 });
    }
    const outcome = await rejectManualTopUp({ id, actorId: user.id, ip, reason: submission.value.reason });
    if (outcome.ok) throw redirect(`/admin/top-ups?done=${encodeURIComponent(id)}`);
    if (outcome.reason === "not_found") throw new Response("Not Found", { status: 404 });
    if (outcome.reason === "already_decided") {
      return data(
        { intent: "reject" as const, result: submission.reply({ formErrors: [alreadyDecided(outcome)] }) },
        { status: 409 },
      );
    }
    if (outcome.reason !== "invalid") throw new Response("Bad Request", { status: 400 });
    return data(
      { intent: "reject" as const, result: submission.reply({ fieldErrors: { [outcome.field]: [outcome.error] } }) },
      { status: 400 },
    );
  }

  throw new Response("Bad Request", { status: 400 });
}

function TextareaField({
  label,
  hint,
  errors,
  textareaProps,
}: {
  label: string;
  hint?: string;
  errors?: ListOfErrors;
  textareaProps: TextareaHTMLAttributes<HTMLTextAreaElement> & { id?: string };
}) {
  const fallbackId = useId();
  const id = textareaProps.id ?? fallbackId;
  const hasErrors = Boolean(errors?.filter(Boolean).length);
  const describedBy = [hint ? `${id}-hint` : null, hasErrors ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <textarea
        {...textareaProps}
        id={id}
        rows={3}
        className="input"
        aria-invalid={hasErrors || undefined}
        aria-describedby={describedBy || undefined}
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

function DecisionForms({
  currency,
  claimedMicros,
  agreedMicros,
  approveDefault,
  claimedLabel,
  maxNoteLength,
  approveBlocked,
  approveStep,
}: {
  currency: string;
  claimedMicros: string;
  agreedMicros: string | null;
  approveDefault: string;
  claimedLabel: string;
  maxNoteLength: number;
  /** Why this admin cannot approve (their own top-up, or they approved already); null: they can. */
  approveBlocked: string | null;
  /** What this approval does when it is one of two ("first" or "second"); null: it credits alone. */
  approveStep: "first" | "second" | null;
}) {
  const actionData = useActionData<typeof action>();
  const agreed = agreedMicros === null ? null : BigInt(agreedMicros);
  const [approveForm, approveFields] = useForm({
    id: "approve",
    lastResult: actionData?.intent === "approve" ? actionData.result : undefined,
    defaultValue: { creditedAmount: approveDefault },
    onValidate: ({ formData }) =>
      parseWithZod(formData, { schema: approveSchema(currency, BigInt(claimedMicros), agreed, maxNoteLength) }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  const [rejectForm, rejectFields] = useForm({
    id: "reject",
    lastResult: actionData?.intent === "reject" ? actionData.result : undefined,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: rejectSchema(maxNoteLength) }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <div className="grid gap-4 sm:grid-cols-2">
      {approveBlocked ? (
        <section aria-labelledby="approve-heading" className="space-y-2 card">
          <h2 id="approve-heading" className="text-lg font-semibold">
            Approve
          </h2>
          {actionData?.intent === "approve" ? (
            <FormMessage id={approveForm.errorId} errors={approveForm.errors} />
          ) : null}
          <p className="text-sm">{approveBlocked}</p>
        </section>
      ) : (
        <Form method="post" className="space-y-4 card" {...getFormProps(approveForm)}>
          <h2 className="text-lg font-semibold">Approve</h2>
          <FormMessage id={approveForm.errorId} errors={approveForm.errors} />
          {approveStep ? (
            <p className="text-sm">
              {approveStep === "first"
                ? "Two admins must approve this amount. Yours is the first: nothing is credited until a second admin approves the same amount."
                : "Another admin approved this top-up. Yours is the second approval: it credits the member."}
            </p>
          ) : null}
          <Field
            label={`Amount to credit (${currency})`}
            hint={
              approveStep === "second"
                ? "The amount the first admin approved. A different amount is refused: reject the request instead."
                : `The member claimed ${claimedLabel}. Change it only if you received a different amount.`
            }
            errors={approveFields.creditedAmount.errors}
            inputProps={{
              ...getInputProps(approveFields.creditedAmount, { type: "text" }),
              inputMode: "decimal",
              autoComplete: "off",
            }}
          />
          <TextareaField
            label="Note to the member"
            hint="Required when the amount differs from the claimed one."
            errors={approveFields.note.errors}
            textareaProps={getTextareaProps(approveFields.note)}
          />
          <SubmitButton name="intent" value="approve" className="btn-primary min-h-12 w-full" pendingText="Approving…">
            {approveStep === "first" ? "Approve (1 of 2)" : "Approve and credit"}
          </SubmitButton>
        </Form>
      )}
      <Form method="post" className="space-y-4 card" {...getFormProps(rejectForm)}>
        <h2 className="text-lg font-semibold">Reject</h2>
        <FormMessage id={rejectForm.errorId} errors={rejectForm.errors} />
        <TextareaField
          label="Reason"
          hint="The member gets this reason by email."
          errors={rejectFields.reason.errors}
          textareaProps={getTextareaProps(rejectFields.reason)}
        />
        <SubmitButton name="intent" value="reject" className="btn-danger min-h-12 w-full" pendingText="Rejecting…">
          Reject
        </SubmitButton>
      </Form>
    </div>
  );
}

const STATUS_STYLE = {
  pending: "bg-amber-100 text-amber-900 dark:bg-amber-900 dark:text-amber-100",
  approved: "bg-emerald-100 text-emerald-900 dark:bg-emerald-900 dark:text-emerald-100",
  rejected: "bg-red-100 text-red-900 dark:bg-red-900 dark:text-red-100",
} as const;

type Row = ReturnType<typeof present>;

export default function AdminTopUp() {
  const {
    canDecide,
    approveBlocked,
    approveStep,
    currency,
    maxNoteLength,
    claimedMicros,
    agreedMicros,
    approveDefault,
    topUp,
    sameReference,
  } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const decidedMessage =
    topUp.status !== "pending" && actionData && actionData.result.error?.[""] ? actionData.result.error[""] : null;
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <p className="text-sm">
        <Link to="/admin/top-ups" className="link">
          ‹ Manual top-ups
        </Link>
      </p>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <h1 className="text-2xl font-bold">{topUp.claimed}</h1>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            {topUp.method} · sent <time dateTime={topUp.createdAt}>{formatDateTime(topUp.createdAt)}</time>
          </p>
        </div>
        <span
          className={`inline-block rounded-full px-3 py-1 text-sm font-semibold capitalize ${STATUS_STYLE[topUp.status]}`}
        >
          {topUp.creditPending ? "approved, credit pending" : topUp.status}
        </span>
        {topUp.approvalsLabel ? (
          <span className="inline-block rounded-full bg-sky-100 px-3 py-1 text-sm font-semibold text-sky-900 dark:bg-sky-900 dark:text-sky-100">
            {topUp.approvalsLabel}
          </span>
        ) : null}
      </div>
      {decidedMessage ? <FormMessage errors={decidedMessage} /> : null}

      {topUp.duplicates > 0 ? (
        <div
          role="note"
          className="rounded-lg border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100"
        >
          <p className="font-semibold">Duplicate reference</p>
          <p>
            {topUp.duplicates} other request{topUp.duplicates === 1 ? "" : "s"} use{topUp.duplicates === 1 ? "s" : ""}{" "}
            the same reference. Check them below before approving.
          </p>
        </div>
      ) : null}

      <section aria-labelledby="details-heading" className="space-y-3 card">
        <h2 id="details-heading" className="text-lg font-semibold">
          Request
        </h2>
        <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-2 text-sm">
          <dt className="text-zinc-600 dark:text-zinc-400">Member</dt>
          <dd>
            <span className="font-medium">{topUp.memberName}</span>
            <br />
            <span className="break-all">{topUp.memberEmail}</span>
          </dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Method</dt>
          <dd>
            {topUp.method} <span className="text-zinc-600 dark:text-zinc-400">(to {topUp.methodAccount})</span>
          </dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Claimed</dt>
          <dd className="font-semibold">{topUp.claimed}</dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Paid from</dt>
          <dd className="font-mono">{topUp.senderNumber}</dd>
          <dt className="text-zinc-600 dark:text-zinc-400">Reference</dt>
          <dd className="font-mono text-base break-all">{topUp.reference}</dd>
          {topUp.credited ? (
            <>
              <dt className="text-zinc-600 dark:text-zinc-400">Credited</dt>
              <dd className="font-semibold">{topUp.credited}</dd>
            </>
          ) : null}
          {topUp.approvalsLabel
            ? topUp.approvals.map((approval, index) => (
                <Fragment key={approval.at}>
                  <dt className="text-zinc-600 dark:text-zinc-400">{`Approval ${index + 1}`}</dt>
                  <dd>
                    {approval.amount} by {approval.adminName},{" "}
                    <time dateTime={approval.at}>{formatDateTime(approval.at)}</time>
                    {approval.note && approval.note !== topUp.decisionNote ? (
                      <span className="block text-zinc-600 dark:text-zinc-400">{approval.note}</span>
                    ) : null}
                  </dd>
                </Fragment>
              ))
            : null}
          {topUp.decidedAt ? (
            <>
              <dt className="text-zinc-600 dark:text-zinc-400">Decided</dt>
              <dd>
                <time dateTime={topUp.decidedAt}>{formatDateTime(topUp.decidedAt)}</time>
                {topUp.decidedBy ? ` by ${topUp.decidedBy}` : ""}
              </dd>
            </>
          ) : null}
          {topUp.decisionNote ? (
            <>
              <dt className="text-zinc-600 dark:text-zinc-400">{topUp.status === "rejected" ? "Reason" : "Note"}</dt>
              <dd>{topUp.decisionNote}</dd>
            </>
          ) : null}
        </dl>
      </section>

      <section aria-labelledby="receipt-heading" className="space-y-3 card">
        <h2 id="receipt-heading" className="text-lg font-semibold">
          Receipt
        </h2>
        {topUp.receipt ? (
          <>
            {topUp.receipt.isImage ? (
              <a href={topUp.receipt.url} target="_blank" rel="noreferrer" className="block">
                <img
                  src={topUp.receipt.url}
                  alt={`Receipt attached by ${topUp.memberName}`}
                  className="max-h-96 w-auto rounded-lg border border-zinc-200 dark:border-zinc-800"
                  loading="lazy"
                />
              </a>
            ) : null}
            <a href={topUp.receipt.url} target="_blank" rel="noreferrer" className="btn-secondary w-full sm:w-auto">
              Open the receipt{topUp.receipt.isImage ? " full size" : " (PDF)"}
            </a>
            <p className="text-xs text-zinc-600 dark:text-zinc-400">
              Every view of a receipt by staff is recorded in the audit log.
            </p>
          </>
        ) : topUp.receiptHidden ? (
          <p className="text-sm">
            The member attached a receipt. Support can open it only while the member allows support access to their
            account.
          </p>
        ) : (
          <p className="text-sm">The member did not attach a receipt.</p>
        )}
      </section>

      {topUp.status === "pending" ? (
        canDecide ? (
          <DecisionForms
            currency={currency}
            claimedMicros={claimedMicros}
            agreedMicros={agreedMicros}
            approveDefault={approveDefault}
            claimedLabel={topUp.claimed}
            maxNoteLength={maxNoteLength}
            approveBlocked={approveBlocked}
            approveStep={approveStep}
          />
        ) : (
          <p className="card text-sm">Support can view requests; only an admin can approve or reject them.</p>
        )
      ) : null}

      {sameReference.length > 0 ? (
        <section aria-labelledby="same-heading" className="space-y-3">
          <h2 id="same-heading" className="text-lg font-semibold">
            Other requests with the same reference
          </h2>
          <ul className="space-y-2">
            {sameReference.map((row: Row) => (
              <li key={row.id} className="flex flex-wrap items-center justify-between gap-2 card text-sm">
                <span>
                  <span className="font-semibold">{row.claimed}</span> · {row.memberName} ({row.memberEmail}) ·{" "}
                  <span className="capitalize">{row.status}</span> ·{" "}
                  <time dateTime={row.createdAt}>{formatDateTime(row.createdAt)}</time>
                </span>
                <Link to={`/admin/top-ups/${row.id}`} className="link">
                  Open
                </Link>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
