import { getFormProps, getInputProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { Field, FormMessage, SubmitButton } from "#app/components/forms";
import { confirmSignupWithCode, confirmSignupWithLink, resendSignupVerification } from "#app/models/account.server";
import { confirmEmailChangeWithLink } from "#app/models/email-change.server";
import { createSession } from "#app/models/session.server";
import { findLinkProof, verificationErrorMessage } from "#app/models/verification.server";
import { getAuth } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { pendingEmailCookie } from "#app/utils/pending-email.server";
import { consumeRateLimit, rateLimits, retryMessage } from "#app/utils/rate-limit.server";
import { safeRedirectPath } from "#app/utils/redirect.server";
import { clientInfo, clientIp } from "#app/utils/request.server";
import { CodeSchema } from "#app/utils/validation";

export const meta: MetaFunction = () => [{ title: "Confirm your email · AI Wallet" }];

const VerifySchema = z.object({ intent: z.literal("verify"), code: CodeSchema });
const LinkSchema = z.object({ intent: z.literal("link"), token: z.string().min(1).max(200) });

// The emailed link (?token=) only opens a page: mail scanners and strangers' pages open links too, so
// the GET (and HEAD) change nothing and the page's button POSTs. An email change is confirmed only
// from the session of the member who asked; a sign-up link signs in only the browser that signed up.

type LinkErrorReason = "invalid" | "expired" | "too_many_attempts" | "wrong_account" | "taken" | "none";

function linkErrorMessage(reason: LinkErrorReason) {
  switch (reason) {
    case "expired":
      return "This link has expired. Ask for a new email and use the newest link.";
    case "wrong_account":
      return verificationErrorMessage(reason);
    case "taken":
      return "That address now belongs to another account.";
    default:
      return "This link does not work: it was already used, or a newer email replaced it.";
  }
}

function linkError(reason: LinkErrorReason) {
  const status = reason === "wrong_account" ? 403 : 400;
  return data({ email: null, verified: false, linkError: linkErrorMessage(reason), link: null }, { status });
}

/** Sign in first, then come back to the same link (the token rides along in `redirectTo`). */
function signInFirst(token: string) {
  const back = safeRedirectPath(`/verify?token=${encodeURIComponent(token)}`, "/verify");
  return redirect(`/login?redirectTo=${encodeURIComponent(back)}`);
}

async function linkPage(request: Request, token: string) {
  const proof = token.length <= 200 ? await findLinkProof(token) : null;
  if (!proof || proof.state !== "pending") return linkError(proof?.state === "expired" ? "expired" : "invalid");
  if (proof.purpose === "email_change") {
    const auth = await getAuth(request);
    if (!auth.user) throw signInFirst(token);
    if (auth.user.id !== proof.userId) return linkError("wrong_account");
  }
  return { email: null, verified: false, linkError: null, link: { token, purpose: proof.purpose, email: proof.email } };
}

async function confirmLink(request: Request, context: ActionFunctionArgs["context"], token: string) {
  const proof = await findLinkProof(token);
  const auth = await getAuth(request);
  if (proof?.purpose === "email_change") {
    if (!auth.user) throw signInFirst(token);
    const result = await confirmEmailChangeWithLink(auth.user.id, token, clientIp(context));
    if (!result.ok) return linkError(result.reason);
    return redirect("/settings?emailChanged=1");
  }
  const result = await confirmSignupWithLink(token, clientIp(context));
  if (!result.ok) return linkError(result.reason);
  const headers = new Headers();
  if (auth.user) return redirect(auth.user.id === result.userId ? "/?verified=1" : "/");
  // Only the browser that signed up (it holds the pending-address cookie) is signed in: anyone else who
  // opens the link proves the mailbox but must sign in with the password, so a stranger's link cannot
  // sign a victim into the stranger's account.
  const pendingEmail = (await pendingEmailCookie.parse(request.headers.get("cookie"))) as unknown;
  if (pendingEmail !== result.email) return redirect("/login?verified=1");
  headers.append("Set-Cookie", await pendingEmailCookie.serialize("", { maxAge: 0 }));
  headers.append("Set-Cookie", (await createSession(result.userId, clientInfo(request, context))).cookie);
  return redirect("/?verified=1", { headers });
}

async function pendingAddress(request: Request) {
  const auth = await getAuth(request);
  if (auth.user) return { email: auth.user.email, verified: auth.user.emailVerified, signedIn: true, auth };
  const email = (await pendingEmailCookie.parse(request.headers.get("cookie"))) as unknown;
  return { email: typeof email === "string" ? email : null, verified: false, signedIn: false, auth };
}

export async function loader({ request }: LoaderFunctionArgs) {
  const token = new URL(request.url).searchParams.get("token");
  if (token !== null) return linkPage(request, token);
  const pending = await pendingAddress(request);
  if (pending.verified) throw redirect("/");
  if (!pending.email) throw redirect("/login");
  return { email: pending.email, verified: false, linkError: null, link: null };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const formData = await readForm(request);
  if (formData.get("intent") === "link") {
    const parsed = LinkSchema.safeParse(Object.fromEntries(formData));
    if (!parsed.success) return linkError("invalid");
    return confirmLink(request, context, parsed.data.token);
  }
  const pending = await pendingAddress(request);
  if (!pending.email || pending.verified) throw redirect("/");
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
  const result = await confirmSignupWithCode(pending.email, submission.value.code, clientIp(context));
  if (!result.ok) {
    return data(submission.reply({ fieldErrors: { code: [verificationErrorMessage(result.reason)] } }), {
      status: 400,
    });
  }
  const headers = new Headers({ "Set-Cookie": await pendingEmailCookie.serialize("", { maxAge: 0 }) });
  if (!pending.signedIn)
    headers.append("Set-Cookie", (await createSession(result.userId, clientInfo(request, context))).cookie);
  return redirect("/?verified=1", { headers });
}

function LinkConfirmation({ link }: { link: { token: string; purpose: string; email: string } }) {
  const actionData = useActionData<typeof action>();
  const error = actionData && "linkError" in actionData ? actionData.linkError : null;
  const changing = link.purpose === "email_change";
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">
        {changing ? "Confirm your new email address" : "Confirm your email address"}
      </h1>
      <p className="mt-2 break-words text-zinc-600 dark:text-zinc-400">
        {changing ? "Your account will use " : "Confirm that "}
        <strong className="text-zinc-900 dark:text-zinc-100">{link.email}</strong>
        {changing ? " from now on." : " is your address."}
      </p>
      <Form method="post" className="mt-6 space-y-4 card" aria-describedby={error ? "link-error" : undefined}>
        <FormMessage id="link-error" errors={[error]} />
        <input type="hidden" name="token" value={link.token} />
        <SubmitButton pendingText="Confirming…" name="intent" value="link">
          {changing ? "Use this address" : "Confirm my address"}
        </SubmitButton>
      </Form>
    </div>
  );
}

export default function VerifyPage() {
  const { email, linkError, link } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  if (link) return <LinkConfirmation link={link} />;
  if (!email) {
    const failedLink = actionData && "linkError" in actionData ? actionData.linkError : null;
    return (
      <div className="mx-auto max-w-md">
        <h1 className="text-2xl font-bold">This link does not work</h1>
        <FormMessage errors={[linkError ?? failedLink]} />
        <p className="mt-4">
          <a href="/login" className="link">
            Sign in
          </a>{" "}
          to get a new code.
        </p>
      </div>
    );
  }
  return <CodeEntry email={email} />;
}

function CodeEntry({ email }: { email: string }) {
  const actionData = useActionData<typeof action>();
  const lastResult = actionData && "status" in actionData ? actionData : undefined;
  const resendMessage = actionData && "resend" in actionData ? actionData.resend : null;
  const [form, fields] = useForm({
    id: "verify",
    lastResult,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: VerifySchema }),
    shouldValidate: "onSubmit",
  });
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Check your email</h1>
      <p className="mt-2 text-zinc-600 dark:text-zinc-400">
        If <strong className="text-zinc-900 dark:text-zinc-100">{email}</strong> can receive mail, an 8-digit code is on
        its way. It works for 15 minutes. You can also click the link in the email.
      </p>
      <Form method="post" className="mt-6 space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
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
