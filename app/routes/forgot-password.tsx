import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { requestPasswordReset } from "#app/models/account.server";
import { readForm } from "#app/utils/form.server";
import { consumeRateLimit, rateLimits, retryMessage } from "#app/utils/rate-limit.server";
import { clientIp } from "#app/utils/request.server";
import { EmailSchema } from "#app/utils/validation";

export const meta: MetaFunction = () => [{ title: "Reset your password · AI Wallet" }];

const ForgotSchema = z.object({ email: EmailSchema });

export async function action({ request, context }: ActionFunctionArgs) {
  const submission = parseWithZod(await readForm(request), { schema: ForgotSchema });
  if (submission.status !== "success") return data({ result: submission.reply(), sent: false }, { status: 400 });
  const perIp = await consumeRateLimit(`reset:ip:${clientIp(context)}`, rateLimits.resetPerIp);
  if (!perIp.allowed) {
    return data(
      { result: submission.reply({ formErrors: [retryMessage(perIp.retryAfterSeconds)] }), sent: false },
      { status: 429 },
    );
  }
  // Over the per-address limit we still answer "sent": the answer never depends on the address.
  const perAccount = await consumeRateLimit(`reset:account:${submission.value.email}`, rateLimits.resetPerAccount);
  if (perAccount.allowed) await requestPasswordReset(submission.value.email);
  return { result: submission.reply({ resetForm: true }), sent: true };
}

export default function ForgotPasswordPage() {
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "forgot-password",
    lastResult: actionData?.result,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: ForgotSchema }),
    shouldValidate: "onBlur",
  });
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Reset your password</h1>
      <p className="mt-1 text-zinc-600 dark:text-zinc-400">We will email you a link to choose a new password.</p>
      {actionData?.sent ? (
        <div className="mt-4">
          <FormMessage
            tone="success"
            errors={["If that address has an account, a reset link is on its way. It works for one hour."]}
          />
        </div>
      ) : null}
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <Field
          label="Email"
          errors={fields.email.errors}
          inputProps={{ ...getInputProps(fields.email, { type: "email" }), autoComplete: "email" }}
        />
        <SubmitButton pendingText="Sending…">Email me a reset link</SubmitButton>
        <p className="text-center text-sm">
          <Link to="/login" className="link">
            Back to sign in
          </Link>
        </p>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
