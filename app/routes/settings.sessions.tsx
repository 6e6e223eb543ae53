import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage, SubmitButton } from "#app/components/forms";
import { signOutOtherSessions, signOutSession } from "#app/models/account.server";
import { listSessions } from "#app/models/session.server";
import { requireSession } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { clientIp } from "#app/utils/request.server";
import { describeUserAgent } from "#app/utils/user-agent";
import { formatDateTime } from "#app/utils/dates";

const ActionSchema = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("revoke"), sessionId: z.string().regex(/^[0-9a-f]{64}$/) }),
  z.object({ intent: z.literal("revoke-others") }),
]);

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, sessionId } = await requireSession(request);
  const sessions = await listSessions(user.id);
  return {
    sessions: sessions.map((session) => ({
      id: session.id,
      current: session.id === sessionId,
      device: describeUserAgent(session.userAgent),
      ip: session.ip ?? "unknown",
      createdAt: session.createdAt.toISOString(),
      lastSeenAt: session.lastSeenAt.toISOString(),
    })),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { user, sessionId } = await requireSession(request);
  const parsed = ActionSchema.safeParse(Object.fromEntries(await readForm(request)));
  if (!parsed.success) return data({ message: "That request was not understood." }, { status: 400 });
  if (parsed.data.intent === "revoke-others") {
    await signOutOtherSessions(user.id, sessionId, clientIp(context));
    return { message: "All other sessions were signed out." };
  }
  if (parsed.data.sessionId === sessionId) {
    return data({ message: "Use “Sign out” to end the session you are using." }, { status: 400 });
  }
  // Ownership is in the query: another member's session id simply matches nothing.
  if (!(await signOutSession(user.id, parsed.data.sessionId, clientIp(context)))) {
    throw new Response("Not Found", { status: 404 });
  }
  return { message: "That session was signed out." };
}

export default function SessionsSettings() {
  const { sessions } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const others = sessions.filter((session) => !session.current).length;
  return (
    <section aria-labelledby="sessions-heading" className="space-y-4">
      <div>
        <h2 id="sessions-heading" className="text-lg font-semibold">
          Where you are signed in
        </h2>
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          Sign out any device you do not recognise, then change your password.
        </p>
      </div>
      {actionData?.message ? <FormMessage tone="success" errors={[actionData.message]} /> : null}
      <ul className="space-y-3">
        {sessions.map((session) => (
          <li key={session.id} className="flex flex-wrap items-center justify-between gap-3 card">
            <div>
              <p className="font-medium">
                {session.device}{" "}
                {session.current ? (
                  <span className="ml-1 rounded-full bg-emerald-100 px-2 py-0.5 text-xs text-emerald-800 dark:bg-emerald-900 dark:text-emerald-100">
                    This device
                  </span>
                ) : null}
              </p>
              <p className="text-sm text-zinc-600 dark:text-zinc-400">
                IP {session.ip} · last seen{" "}
                <time dateTime={session.lastSeenAt}>{formatDateTime(session.lastSeenAt)}</time> · signed in{" "}
                <time dateTime={session.createdAt}>{formatDateTime(session.createdAt)}</time>
              </p>
            </div>
            {session.current ? null : (
              <Form method="post">
                <input type="hidden" name="sessionId" value={session.id} />
                <button
                  type="submit"
                  name="intent"
                  value="revoke"
                  className="btn-secondary"
                  aria-label={`Sign out ${session.device}`}
                >
                  Sign out
                </button>
              </Form>
            )}
          </li>
        ))}
      </ul>
      {others > 0 ? (
        <Form method="post">
          <SubmitButton name="intent" value="revoke-others" className="btn-danger" pendingText="Signing out…">
            Sign out everywhere else
          </SubmitButton>
        </Form>
      ) : (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">This is the only device signed in.</p>
      )}
    </section>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
