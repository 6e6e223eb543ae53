import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { ConsentFields, ProfileFields } from "#app/components/profile-fields";
import { registerAccount } from "#app/models/account.server";
import { requireAnonymous } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { isCommonPassword } from "#app/utils/password.server";
import { pendingEmailCookie } from "#app/utils/pending-email.server";
import { consumeRateLimit, rateLimits, retryMessage } from "#app/utils/rate-limit.server";
import { clientIp } from "#app/utils/request.server";
import { SignupSchema } from "#app/utils/validation";

export const meta: MetaFunction = () => [{ title: "Create your account · AI Wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireAnonymous(request);
  return null;
}

export async function action({ request, context }: ActionFunctionArgs) {
  await requireAnonymous(request);
  const formData = await readForm(request);
  const submission = parseWithZod(formData, {
    schema: SignupSchema.refine((value) => !isCommonPassword(value.password), {
      path: ["password"],
      message: "This password is too common. Choose one that is harder to guess.",
    }),
  });
  if (submission.status !== "success") {
    return data(submission.reply({ hideFields: ["password"] }), { status: 400 });
  }
  const limit = await consumeRateLimit(`signup:ip:${clientIp(context)}`, rateLimits.signupPerIp);
  if (!limit.allowed) {
    return data(submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)], hideFields: ["password"] }), {
      status: 429,
    });
  }
  await registerAccount(submission.value);
  return redirect("/verify", { headers: { "Set-Cookie": await pendingEmailCookie.serialize(submission.value.email) } });
}

export default function SignupPage() {
  const lastResult = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "signup",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: SignupSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Create your account</h1>
      <p className="mt-1 text-zinc-600 dark:text-zinc-400">
        Already have one?{" "}
        <Link to="/login" className="link">
          Sign in
        </Link>
      </p>
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <Field
          label="Email"
          errors={fields.email.errors}
          inputProps={{ ...getInputProps(fields.email, { type: "email" }), autoComplete: "email" }}
        />
        <Field
          label="Password"
          hint="8 to 128 characters. A long phrase is easier to remember and harder to guess."
          errors={fields.password.errors}
          inputProps={{ ...getInputProps(fields.password, { type: "password" }), autoComplete: "new-password" }}
        />
        <ProfileFields fields={fields} />
        <ConsentFields fields={fields} />
        <SubmitButton pendingText="Creating your account…">Create account</SubmitButton>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
