import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { isResetTokenValid, resetPassword } from "#app/models/account.server";
import { blankSessionCookie } from "#app/models/session.server";
import { readForm } from "#app/utils/form.server";
import { isCommonPassword } from "#app/utils/password.server";
import { clientIp } from "#app/utils/request.server";
import { PasswordSchema } from "#app/utils/validation";

export const meta: MetaFunction = () => [{ title: "Choose a new password · AI Wallet" }];

const ResetSchema = z
  .object({
    token: z.string().min(1).max(200),
    password: PasswordSchema,
    confirm: z.string({ error: "Repeat the password" }),
  })
  .refine((value) => value.password === value.confirm, {
    path: ["confirm"],
    message: "The two passwords are not the same",
  });

export async function loader({ request }: LoaderFunctionArgs) {
  const token = new URL(request.url).searchParams.get("token") ?? "";
  return { token, valid: token ? await isResetTokenValid(token) : false };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const submission = parseWithZod(await readForm(request), {
    schema: ResetSchema.refine((value) => !isCommonPassword(value.password), {
      path: ["password"],
      message: "This password is too common. Choose one that is harder to guess.",
    }),
  });
  if (submission.status !== "success")
    return data(submission.reply({ hideFields: ["password", "confirm"] }), { status: 400 });
  const result = await resetPassword(submission.value.token, submission.value.password, clientIp(context));
  if (!result.ok) {
    return data(
      submission.reply({
        formErrors: ["This reset link has expired or was already used. Ask for a new one."],
        hideFields: ["password", "confirm"],
      }),
      { status: 400 },
    );
  }
  // Every session ended, including this browser's.
  return redirect("/login?reset=1", { headers: { "Set-Cookie": blankSessionCookie() } });
}

export default function ResetPasswordPage() {
  const { token, valid } = useLoaderData<typeof loader>();
  const lastResult = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "reset-password",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: ResetSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  if (!valid) {
    return (
      <div className="mx-auto max-w-md">
        <h1 className="text-2xl font-bold">This reset link does not work</h1>
        <p className="mt-2 text-zinc-600 dark:text-zinc-400">
          It has expired (links work for one hour) or was already used.
        </p>
        <Link to="/forgot-password" className="mt-6 btn-primary">
          Ask for a new link
        </Link>
      </div>
    );
  }
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Choose a new password</h1>
      <p className="mt-1 text-zinc-600 dark:text-zinc-400">
        You will be signed out everywhere, then you can sign in with it.
      </p>
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <input type="hidden" name="token" value={token} />
        <Field
          label="New password"
          hint="8 to 128 characters."
          errors={fields.password.errors}
          inputProps={{ ...getInputProps(fields.password, { type: "password" }), autoComplete: "new-password" }}
        />
        <Field
          label="Repeat the new password"
          errors={fields.confirm.errors}
          inputProps={{ ...getInputProps(fields.confirm, { type: "password" }), autoComplete: "new-password" }}
        />
        <SubmitButton pendingText="Saving…">Save new password</SubmitButton>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
