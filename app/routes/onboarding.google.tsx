import { getFormProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage, SubmitButton } from "#app/components/forms";
import { ConsentFields, ProfileFields } from "#app/components/profile-fields";
import {
  completeGoogleOnboarding,
  getPendingGoogleSignup,
  googleErrorParam,
  googleReturnCookie,
  googleSignupCookie,
  requireGoogle,
} from "#app/models/google.server";
import { requireAnonymous } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { safeRedirectPath } from "#app/utils/redirect.server";
import { clientInfo } from "#app/utils/request.server";
import { GoogleOnboardingSchema } from "#app/utils/validation";

// The last step of a first Google sign-in: the account exists only once the person has given a
// country and accepted the terms. Google already proved the address, so there is no password.
export const meta: MetaFunction = () => [{ title: "Finish creating your account · AI Wallet" }];

async function clearedSignupCookie() {
  return googleSignupCookie.serialize("", { maxAge: 0 });
}

async function requirePendingSignup(request: Request) {
  requireGoogle();
  await requireAnonymous(request);
  const token = (await googleSignupCookie.parse(request.headers.get("cookie"))) as unknown;
  const pending = typeof token === "string" && token ? await getPendingGoogleSignup(token) : null;
  if (typeof token !== "string" || !pending) {
    throw redirect(`/login?error=${googleErrorParam("expired")}`, {
      headers: { "Set-Cookie": await clearedSignupCookie() },
    });
  }
  return { token, pending };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const { pending } = await requirePendingSignup(request);
  return { email: pending.email, displayName: pending.displayName };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { token } = await requirePendingSignup(request);
  const formData = await readForm(request);
  const submission = parseWithZod(formData, { schema: GoogleOnboardingSchema });
  if (submission.status !== "success") return data(submission.reply(), { status: 400 });
  const result = await completeGoogleOnboarding(token, submission.value, clientInfo(request, context));
  const headers = new Headers({ "Set-Cookie": await clearedSignupCookie() });
  const returnTo = (await googleReturnCookie.parse(request.headers.get("cookie"))) as unknown;
  if (returnTo !== null) headers.append("Set-Cookie", await googleReturnCookie.serialize("", { maxAge: 0 }));
  if (result.status === "refused") return redirect(`/login?error=${googleErrorParam(result.reason)}`, { headers });
  headers.append("Set-Cookie", result.cookie);
  return redirect(safeRedirectPath(typeof returnTo === "string" ? returnTo : null, "/"), { headers });
}

export default function GoogleOnboardingPage() {
  const { email, displayName } = useLoaderData<typeof loader>();
  const lastResult = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "google-onboarding",
    lastResult,
    defaultValue: { displayName },
    onValidate: ({ formData }) => parseWithZod(formData, { schema: GoogleOnboardingSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Finish creating your account</h1>
      <p className="mt-1 break-words text-zinc-600 dark:text-zinc-400">
        You are signing up with Google as <strong className="text-zinc-900 dark:text-zinc-100">{displayName}</strong> (
        <strong className="text-zinc-900 dark:text-zinc-100">{email}</strong>). A few details and you are in.
      </p>
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <ProfileFields fields={fields} />
        <ConsentFields fields={fields} />
        <SubmitButton pendingText="Creating your account…">Create account</SubmitButton>
      </Form>
      <p className="mt-4 text-center text-sm">
        <Link to="/login" className="link">
          Cancel and go back to sign in
        </Link>
      </p>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
