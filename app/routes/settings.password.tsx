import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { changePassword } from "#app/models/account.server";
import { requireSession } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { isCommonPassword } from "#app/utils/password.server";
import { consumeRateLimit, rateLimits, retryMessage } from "#app/utils/rate-limit.server";
import { clientIp } from "#app/utils/request.server";
import { CurrentPasswordSchema, PasswordSchema } from "#app/utils/validation";

const ChangePasswordSchema = z
  .object({
    currentPassword: CurrentPasswordSchema,
    newPassword: PasswordSchema,
    confirm: z.string({ error: "Repeat the new password" }),
  })
  .refine((value) => value.newPassword === value.confirm, {
    path: ["confirm"],
    message: "The two passwords are not the same",
  });

export async function loader({ request }: LoaderFunctionArgs) {
  const { user } = await requireSession(request);
  return { hasPassword: user.hasPassword };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, sessionId } = await requireSession(request);
  const hide = { hideFields: ["currentPassword", "newPassword", "confirm"] };
  const submission = parseWithZod(await readForm(request), {
    schema: ChangePasswordSchema.refine((value) => !isCommonPassword(value.newPassword), {
      path: ["newPassword"],
      message: "This password is too common. Choose one that is harder to guess.",
    }),
  });
  if (submission.status !== "success") return data({ result: submission.reply(hide), saved: false }, { status: 400 });
  const limit = await consumeRateLimit(`password-check:user:${user.id}`, rateLimits.loginPerAccount);
  if (!limit.allowed) {
    return data(
      { result: submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)], ...hide }), saved: false },
      { status: 429 },
    );
  }
  const result = await changePassword(
    user.id,
    sessionId,
    submission.value.currentPassword,
    submission.value.newPassword,
    clientIp(context),
  );
  if (!result.ok) {
    return data(
      {
        result: submission.reply({ fieldErrors: { currentPassword: ["That is not your current password."] }, ...hide }),
        saved: false,
      },
      { status: 400 },
    );
  }
  return { result: submission.reply({ resetForm: true }), saved: true };
}

export default function PasswordSettings() {
  const { hasPassword } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "change-password",
    lastResult: actionData?.result,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: ChangePasswordSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  if (!hasPassword) {
    return (
      <section className="card">
        <h2 className="text-lg font-semibold">Password</h2>
        <p className="mt-2 text-sm">
          You sign in with Google. To add a password, use{" "}
          <Link className="link" to="/forgot-password">
            forgot password
          </Link>{" "}
          and we will email you a link.
        </p>
      </section>
    );
  }
  return (
    <section aria-labelledby="password-heading">
      <h2 id="password-heading" className="text-lg font-semibold">
        Change password
      </h2>
      <p className="text-sm text-zinc-600 dark:text-zinc-400">Every other device will be signed out.</p>
      {actionData?.saved ? (
        <FormMessage tone="success" errors={["Password changed. Other sessions were signed out."]} />
      ) : null}
      <Form method="post" className="mt-4 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <Field
          label="Current password"
          errors={fields.currentPassword.errors}
          inputProps={{
            ...getInputProps(fields.currentPassword, { type: "password" }),
            autoComplete: "current-password",
          }}
        />
        <Field
          label="New password"
          hint="8 to 128 characters."
          errors={fields.newPassword.errors}
          inputProps={{ ...getInputProps(fields.newPassword, { type: "password" }), autoComplete: "new-password" }}
        />
        <Field
          label="Repeat the new password"
          errors={fields.confirm.errors}
          inputProps={{ ...getInputProps(fields.confirm, { type: "password" }), autoComplete: "new-password" }}
        />
        <SubmitButton pendingText="Saving…" className="btn-primary">
          Change password
        </SubmitButton>
      </Form>
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
