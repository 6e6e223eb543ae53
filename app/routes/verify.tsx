import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { confirmWithCode, confirmWithLink, resendSignupVerification } from "#app/models/account.server";
import { createSession } from "#app/models/session.server";
import { verificationErrorMessage } from "#app/models/verification.server";
import { getAuth } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { pendingEmailCookie } from "#app/utils/pending-email.server";
import { consumeRateLimit, rateLimits, retryMessage } from "#app/utils/rate-limit.server";
import { clientInfo, clientIp } from "#app/utils/request.server";
import { CodeSchema } from "#app/utils/validation";

export const meta: MetaFunction = () => [{ title: "Confirm your email · AI Wallet" }];

const VerifySchema = z.object({ intent: z.literal("verify"), code: CodeSchema });

async function pendingAddress(request: Request) {
  const auth = await getAuth(request);
  if (auth.user) return { email: auth.user.email, verified: auth.user.emailVerified, signedIn: true, auth };
  const email = (await pendingEmailCookie.parse(request.headers.get("cookie"))) as unknown;
  return { email: typeof email === "string" ? email : null, verified: false, signedIn: false, auth };
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const token = new URL(request.url).searchParams.get("token");
  if (token) {
    const result = await confirmWithLink(token, clientIp(context));
    if (!result.ok) {
      return {
        email: null,
        verified: false,
        linkError:
          result.reason === "taken"
            ? "That address now belongs to another account."
            : verificationErrorMessage(result.reason),
      };
    }
    if (result.purpose === "email_change") throw redirect("/settings?emailChanged=1");
    const auth = await getAuth(request);
    if (auth.user?.id === result.userId) throw redirect("/?verified=1");
    // The link reached the mailbox: that proves the address, so the member is signed in.
    const { cookie } = await createSession(result.userId, clientInfo(request, context));
    throw redirect("/?verified=1", { headers: { "Set-Cookie": cookie } });
  }
  const pending = await pendingAddress(request);
  if (pending.verified) throw redirect("/");
  if (!pending.email) throw redirect("/login");
  return { email: pending.email, verified: false, linkError: null };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const pending = await pendingAddress(request);
  if (!pending.email || pending.verified) throw redirect("/");
  const formData = await readForm(request);
  if (formData.get("intent") === "resend") {
    if (!pending.auth.user) {
      return data({ resend: "Sign in with your password to get a new code." }, { status: 400 });
    }
    const limit = await consumeRateLimit(`resend:user:${pending.auth.user.id}`, rateLimits.resendPerAccount);
    if (!limit.allowed) return data({ resend: retryMessage(limit.retryAfterSeconds) }, { status: 429 });
    const result = await resendSignupVerification(pending.auth.user.id);
    if (result.status === "cooldown") {
      return data({ resend: `Please wait ${result.seconds} seconds before asking for another code.` }, { status: 429 });
    }
    return { resend: "A new code is on its way. Codes from earlier emails no longer work." };
  }
  const submission = parseWithZod(formData, { schema: VerifySchema });
  if (submission.status !== "success") return data(submission.reply(), { status: 400 });
  const limit = await consumeRateLimit(`verify:ip:${clientIp(context)}`, rateLimits.verifyPerIp);
  if (!limit.allowed) {
    return data(submission.reply({ formErrors: [retryMessage(limit.retryAfterSeconds)] }), { status: 429 });
  }
  const result = await confirmWithCode(pending.email, "signup", submission.value.code, clientIp(context));
  if (!result.ok) {
    const message =
      result.reason === "taken"
        ? "That address now belongs to another account."
        : verificationErrorMessage(result.reason);
    return data(submission.reply({ fieldErrors: { code: [message] } }), { status: 400 });
  }
  const headers = new Headers({ "Set-Cookie": await pendingEmailCookie.serialize("", { maxAge: 0 }) });
  if (!pending.signedIn)
    headers.append("Set-Cookie", (await createSession(result.userId, clientInfo(request, context))).cookie);
  return redirect("/?verified=1", { headers });
}

export default function VerifyPage() {
  const { email, linkError } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const lastResult = actionData && "status" in actionData ? actionData : undefined;
  const resendMessage = actionData && "resend" in actionData ? actionData.resend : null;
  const [form, fields] = useForm({
    id: "verify",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: VerifySchema }),
    shouldValidate: "onSubmit",
  });
  if (!email) {
    return (
      <div className="mx-auto max-w-md">
        <h1 className="text-2xl font-bold">This link does not work</h1>
        <FormMessage errors={[linkError]} />
        <p className="mt-4">
          <a href="/login" className="link">
            Sign in
          </a>{" "}
          to get a new code.
        </p>
      </div>
    );
  }
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Check your email</h1>
      <p className="mt-2 text-zinc-600 dark:text-zinc-400">
        If <strong className="text-zinc-900 dark:text-zinc-100">{email}</strong> can receive mail, an 8-digit code is on
        its way. It works for 15 minutes. You can also click the link in the email.
      </p>
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={linkError ? [linkError] : form.errors} />
        <Field
          label="Confirmation code"
          errors={fields.code.errors}
          inputProps={{
            ...getInputProps(fields.code, { type: "text" }),
            inputMode: "numeric",
            autoComplete: "one-time-code",
            maxLength: 12,
            className: "tracking-widest",
          }}
        />
        <SubmitButton pendingText="Checking…" name="intent" value="verify">
          Confirm
        </SubmitButton>
      </Form>
      <Form method="post" className="mt-4 text-center">
        <button type="submit" name="intent" value="resend" className="link">
          Send a new code
        </button>
      </Form>
      {resendMessage ? <FormMessage tone="success" errors={[resendMessage]} /> : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
