import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage, SubmitButton } from "#app/components/forms";
import { cancelEmailChangeByLink, describeCancelLink, type CancelLinkState } from "#app/models/email-change.server";
import { readForm } from "#app/utils/form.server";
import { clientIp } from "#app/utils/request.server";

// The "not you? cancel" link mailed to the current address when an email change is asked for. Opening
// it changes nothing (mail scanners open links); the button POSTs. No session is needed: the token,
// mailed to the old address and good for nothing else, is the proof.

export const meta: MetaFunction = () => [{ title: "Cancel an email change · AI Wallet" }];

const TokenSchema = z.string().min(1).max(200);

type PageData = { state: CancelLinkState | "unknown"; newEmail: string | null; token: string };

export async function loader({ request }: LoaderFunctionArgs) {
  const parsed = TokenSchema.safeParse(new URL(request.url).searchParams.get("token"));
  const found = parsed.success ? await describeCancelLink(parsed.data) : null;
  const page: PageData = {
    state: found?.state ?? "unknown",
    newEmail: found?.newEmail ?? null,
    token: parsed.success ? parsed.data : "",
  };
  return data(page, { status: found ? 200 : 400 });
}

export async function action({ request, context }: ActionFunctionArgs) {
  const parsed = TokenSchema.safeParse((await readForm(request)).get("token"));
  if (parsed.success && (await cancelEmailChangeByLink(parsed.data, clientIp(context)))) {
    return { cancelled: true, error: null };
  }
  return data(
    {
      cancelled: false,
      error: "This link cannot cancel anything now: the change was already cancelled, confirmed, or it expired.",
    },
    { status: 400 },
  );
}

function Explanation({ state, newEmail }: { state: PageData["state"]; newEmail: string | null }) {
  switch (state) {
    case "pending":
      return (
        <p className="mt-2 break-words text-zinc-600 dark:text-zinc-400">
          Someone asked to change your account&apos;s email address to{" "}
          <strong className="text-zinc-900 dark:text-zinc-100">{newEmail}</strong>. If it was not you, cancel it.
        </p>
      );
    case "applied":
      return (
        <FormMessage
          errors={[
            `The change to ${newEmail ?? "the new address"} was already confirmed. If it was not you, contact us right away.`,
          ]}
        />
      );
    case "closed":
      return (
        <FormMessage tone="success" errors={["There is nothing to cancel: this change was cancelled or expired."]} />
      );
    default:
      return <FormMessage errors={["This link does not work. Check that you copied all of it."]} />;
  }
}

export default function CancelEmailChangePage() {
  const { state, newEmail, token } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  if (actionData?.cancelled) {
    return (
      <div className="mx-auto max-w-md">
        <h1 className="text-2xl font-bold">The email change was cancelled</h1>
        <FormMessage tone="success" errors={["Your email address stays the same."]} />
        <p className="mt-2 text-zinc-600 dark:text-zinc-400">
          If you did not ask for it, someone knows your password: sign in and change it now.
        </p>
        <Link to="/login" className="mt-6 btn-primary">
          Sign in
        </Link>
      </div>
    );
  }
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">Cancel an email change</h1>
      <Explanation state={state} newEmail={newEmail} />
      {state === "pending" ? (
        <Form method="post" className="mt-6 card" aria-describedby={actionData?.error ? "cancel-error" : undefined}>
          <FormMessage id="cancel-error" errors={[actionData?.error]} />
          <input type="hidden" name="token" value={token} />
          <SubmitButton pendingText="Cancelling…" className="btn-danger">
            Cancel this change
          </SubmitButton>
        </Form>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
