import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { signIn } from "#app/models/account.server";
import { googleErrorMessage } from "#app/models/google.server";
import { requireAnonymous } from "#app/utils/auth.server";
import { env } from "#app/utils/env.server";
import { readForm } from "#app/utils/form.server";
import { consumeRateLimit, rateLimits, resetRateLimit, retryMessage } from "#app/utils/rate-limit.server";
import { safeRedirectPath } from "#app/utils/redirect.server";
import { clientInfo, clientIp } from "#app/utils/request.server";
import { LoginSchema } from "#app/utils/validation";

export const meta: MetaFunction = () => [{ title: "Sign in · AI Wallet" }];

export async function loader({ request }: LoaderFunctionArgs) {
  await requireAnonymous(request);
  const params = new URL(request.url).searchParams;
  return {
    googleEnabled: env.googleEnabled,
    notice: params.get("reset")
      ? "Your password was changed. Sign in with the new one."
      : params.get("verified")
        ? "Your email address is confirmed. Sign in to continue."
        : null,
    error: googleErrorMessage(params.get("error")),
    // Only a target the action would accept goes into the form ("" = the home page).
    redirectTo: safeRedirectPath(params.get("redirectTo"), ""),
  };
}

const accountIpKey = (email: string, ip: string) => `login:account-ip:${email}:${ip}`;

/**
 * Seconds to wait, or 0. Checked in order, and a later counter only counts attempts the earlier ones let
 * through: one address's failures on an account never reach the account-wide ceiling past its own 10.
 */
async function signInLimit(email: string, ip: string) {
  const checks = [
    [`login:ip:${ip}`, rateLimits.loginPerIp],
    [accountIpKey(email, ip), rateLimits.loginPerAccountIp],
    [`login:account:${email}`, rateLimits.loginPerAccountCeiling],
  ] as const;
  for (const [key, rule] of checks) {
    const result = await consumeRateLimit(key, rule);
    if (!result.allowed) return result.retryAfterSeconds;
  }
  return 0;
}

export async function action({ request, context }: ActionFunctionArgs) {
  await requireAnonymous(request);
  const formData = await readForm(request);
  const submission = parseWithZod(formData, { schema: LoginSchema });
  if (submission.status !== "success") return data(submission.reply({ hideFields: ["password"] }), { status: 400 });
  const { email, password, redirectTo } = submission.value;
  const limited = await signInLimit(email, clientIp(context));
  if (limited) {
    return data(submission.reply({ formErrors: [retryMessage(limited)], hideFields: ["password"] }), { status: 429 });
  }
  const result = await signIn(email, password, clientInfo(request, context));
  if (!result.ok) {
    return data(
      submission.reply({ formErrors: ["That email and password do not match an account."], hideFields: ["password"] }),
      {
        status: 400,
      },
    );
  }
  await resetRateLimit(accountIpKey(email, clientIp(context)));
  return redirect(safeRedirectPath(redirectTo, "/"), { headers: { "Set-Cookie": result.cookie } });
}

export default function LoginPage() {
  const { googleEnabled, notice, error, redirectTo } = useLoaderData<typeof loader>();
  const lastResult = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "login",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: LoginSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Sign in</h1>
      <p className="mt-1 text-zinc-600 dark:text-zinc-400">
        New here?{" "}
        <Link to="/signup" className="link">
          Create an account
        </Link>
      </p>
      {notice ? (
        <div className="mt-4">
          <FormMessage tone="success" errors={[notice]} />
        </div>
      ) : null}
      {error ? (
        <div className="mt-4">
          <FormMessage errors={[error]} />
        </div>
      ) : null}
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <input type="hidden" name="redirectTo" value={redirectTo} />
        <Field
          label="Email"
          errors={fields.email.errors}
          inputProps={{ ...getInputProps(fields.email, { type: "email" }), autoComplete: "email" }}
        />
        <Field
          label="Password"
          errors={fields.password.errors}
          inputProps={{ ...getInputProps(fields.password, { type: "password" }), autoComplete: "current-password" }}
        />
        <SubmitButton pendingText="Signing in…">Sign in</SubmitButton>
        <p className="text-center text-sm">
          <Link to="/forgot-password" className="link">
            Forgot your password?
          </Link>
        </p>
      </Form>
      {googleEnabled ? (
        // A full page POST: the answer is a redirect to Google, and the cookies it sets must land first.
        <Form method="post" action="/auth/google" reloadDocument className="mt-4">
          <input type="hidden" name="redirectTo" value={redirectTo} />
          <button type="submit" className="btn-secondary w-full">
            Continue with Google
          </button>
        </Form>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
