import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import {
  cancelEmailChange,
  confirmEmailChangeWithCode,
  pendingEmailChange,
  requestEmailChange,
} from "#app/models/email-change.server";
import { verificationErrorMessage } from "#app/models/verification.server";
import { requireUser } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { consumeRateLimit, rateLimits, retryMessage } from "#app/utils/rate-limit.server";
import { clientIp } from "#app/utils/request.server";
import { CodeSchema, CurrentPasswordSchema, EmailSchema } from "#app/utils/validation";

const RequestSchema = z.object({
  intent: z.literal("request"),
  newEmail: EmailSchema,
  password: CurrentPasswordSchema,
});
const ConfirmSchema = z.object({ intent: z.literal("confirm"), code: CodeSchema });

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await requireUser(request);
  const pending = await pendingEmailChange(user.id);
  return { email: user.email, hasPassword: user.hasPassword, pendingEmail: pending?.email ?? null };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireUser(request);
  const formData = await readForm(request);
  if (formData.get("intent") === "cancel") {
    await cancelEmailChange(user.id, clientIp(context));
    return { request: null, confirm: null, cancelled: true };
  }
  if (formData.get("intent") === "confirm") {
    const submission = parseWithZod(formData, { schema: ConfirmSchema });
    if (submission.status !== "success") return data({ confirm: submission.reply(), request: null }, { status: 400 });
    const limit = await consumeRateLimit(`verify:ip:${clientIp(context)}`, rateLimits.verifyPerIp);
    if (!limit.allowed) {
      return data(
        { confirm: submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)] }), request: null },
        { status: 429 },
      );
    }
    const result = await confirmEmailChangeWithCode(user.id, submission.value.code, clientIp(context));
    if (!result.ok) {
      if (result.reason === "none") {
        return data(
          {
            confirm: submission.reply({ formErrors: ["There is no email change waiting. Start again."] }),
            request: null,
          },
          { status: 400 },
        );
      }
      const message =
        result.reason === "taken"
          ? "That address now belongs to another account."
          : verificationErrorMessage(result.reason);
      return data({ confirm: submission.reply({ fieldErrors: { code: [message] } }), request: null }, { status: 400 });
    }
    return redirect("/settings?emailChanged=1");
  }
  const submission = parseWithZod(formData, { schema: RequestSchema });
  if (submission.status !== "success")
    return data({ request: submission.reply({ hideFields: ["password"] }), confirm: null }, { status: 400 });
  const limit = await consumeRateLimit(`resend:user:${user.id}`, rateLimits.resendPerAccount);
  if (!limit.allowed) {
    return data(
      {
        request: submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)], hideFields: ["password"] }),
        confirm: null,
      },
      { status: 429 },
    );
  }
  const result = await requestEmailChange(
    user.id,
    submission.value.password,
    submission.value.newEmail,
    clientIp(context),
  );
  if (!result.ok) {
    const fieldErrors: Record<string, string[]> =
      result.reason === "password"
        ? { password: ["That is not your password."] }
        : { newEmail: ["That is already your email address."] };
    return data(
      { request: submission.reply({ fieldErrors, hideFields: ["password"] }), confirm: null },
      { status: 400 },
    );
  }
  return { request: submission.reply({ resetForm: true }), confirm: null };
}

export default function EmailSettings() {
  const { email, hasPassword, pendingEmail } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [requestForm, requestFields] = useForm({
    id: "email-change",
    lastResult: actionData?.request,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: RequestSchema }),
    shouldValidate: "onBlur",
  });
  const [confirmForm, confirmFields] = useForm({
    id: "email-confirm",
    lastResult: actionData?.confirm,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: ConfirmSchema }),
    shouldValidate: "onSubmit",
  });
  return (
    <section aria-labelledby="email-heading" className="space-y-6">
      <div>
        <h2 id="email-heading" className="text-lg font-semibold">
          Change email
        </h2>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          Your address is <strong>{email}</strong>. The new one takes effect once you enter the code we send to it.
        </p>
      </div>
      {pendingEmail ? (
        <Form method="post" className="space-y-4 card" {...getFormProps(confirmForm)}>
          <FormMessage tone="success" errors={[`We sent a code to ${pendingEmail}. It works for 15 minutes.`]} />
          <FormMessage id={confirmForm.errorId} errors={confirmForm.errors} />
          <Field
            label="Code from the new address"
            errors={confirmFields.code.errors}
            inputProps={{
              ...getInputProps(confirmFields.code, { type: "text" }),
              inputMode: "numeric",
              autoComplete: "one-time-code",
            }}
          />
          <SubmitButton pendingText="Checking…" className="btn-primary" name="intent" value="confirm">
            Confirm new address
          </SubmitButton>
        </Form>
      ) : null}
      {pendingEmail ? (
        <Form method="post">
          <SubmitButton pendingText="Cancelling…" className="btn-secondary" name="intent" value="cancel">
            Cancel this change
          </SubmitButton>
        </Form>
      ) : null}
      {actionData && "cancelled" in actionData ? (
        <FormMessage tone="success" errors={["The email change was cancelled. Your address stays the same."]} />
      ) : null}
      {hasPassword ? (
        <Form method="post" className="space-y-4 card" {...getFormProps(requestForm)}>
          <FormMessage id={requestForm.errorId} errors={requestForm.errors} />
          <Field
            label="New email address"
            errors={requestFields.newEmail.errors}
            inputProps={{ ...getInputProps(requestFields.newEmail, { type: "email" }), autoComplete: "email" }}
          />
          <Field
            label="Your password"
            hint="To make sure it is you."
            errors={requestFields.password.errors}
            inputProps={{
              ...getInputProps(requestFields.password, { type: "password" }),
              autoComplete: "current-password",
            }}
          />
          <SubmitButton pendingText="Sending…" className="btn-primary" name="intent" value="request">
            Send a code to the new address
          </SubmitButton>
        </Form>
      ) : (
        <p className="card text-sm">Set a password first (Settings → Password) to change your email address.</p>
      )}
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
