import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, useLoaderData } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { FormMessage, SubmitButton } from "#app/components/forms";
import { type InboxMessage, listContactMessages, markContactHandled } from "#app/models/contact.server";
import { requireRole } from "#app/utils/auth.server";
import { clientIp } from "#app/utils/request.server";

export const meta: MetaFunction = () => [{ title: "Contact messages — Admin — AI Wallet" }];

const STAFF = ["admin", "support"] as const;

const dateFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
const formatDate = (iso: string) => `${dateFormat.format(new Date(iso))} UTC`;

function present(row: InboxMessage) {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    subject: row.subject,
    message: row.message,
    fromMember: row.fromMember,
    createdAt: row.createdAt.toISOString(),
    handledAt: row.handledAt?.toISOString() ?? null,
    handledBy: row.handledBy,
    replyHref: `mailto:${encodeURIComponent(row.email).replace(/%40/g, "@")}?subject=${encodeURIComponent(`Re: ${row.subject}`)}`,
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  await requireRole(request, [...STAFF]);
  const inbox = await listContactMessages();
  const done = new URL(request.url).searchParams.get("done");
  return { open: inbox.open.map(present), handled: inbox.handled.map(present), done };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, [...STAFF]);
  const form = await request.formData();
  const id = form.get("id");
  if (form.get("intent") !== "handle" || typeof id !== "string" || !id) {
    return data({ error: "Unknown request." }, { status: 400 });
  }
  const outcome = await markContactHandled(id, { id: user.id, ip: clientIp(context) });
  if (outcome === "not_found") throw new Response("Not Found", { status: 404 });
  throw redirect(`/admin/contact?done=${outcome}`);
}

type Message = ReturnType<typeof present>;

function MessageCard({ message }: { message: Message }) {
  const headingId = `message-${message.id}`;
  return (
    <li>
      <article aria-labelledby={headingId} className="space-y-3 card">
        <header className="space-y-1">
          <h3 id={headingId} className="font-semibold">
            {message.subject}
          </h3>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            From {message.name} &lt;{message.email}&gt;
            {message.fromMember ? " · member" : " · visitor"} · {formatDate(message.createdAt)}
          </p>
        </header>
        <p className="text-sm whitespace-pre-line">{message.message}</p>
        {message.handledAt ? (
          <p className="text-sm text-emerald-800 dark:text-emerald-300">
            Handled {formatDate(message.handledAt)}
            {message.handledBy ? ` by ${message.handledBy}` : ""}
          </p>
        ) : null}
        <div className="flex flex-wrap gap-3">
          <a className="btn-secondary" href={message.replyHref}>
            Reply by email
          </a>
          {message.handledAt ? null : (
            <Form method="post">
              <input type="hidden" name="id" value={message.id} />
              <SubmitButton className="btn-primary" name="intent" value="handle" pendingText="Saving…">
                Mark handled
              </SubmitButton>
            </Form>
          )}
        </div>
      </article>
    </li>
  );
}

export default function AdminContact() {
  const { open, handled, done } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-8">
      <div>
        <h1 className="text-2xl font-bold">Contact messages</h1>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          Reply from your own mailbox, then mark the message handled. Marking is recorded in the audit log.
        </p>
      </div>
      {done === "handled" ? <FormMessage tone="success" errors={["Marked as handled."]} /> : null}
      {done === "already_handled" ? (
        <FormMessage tone="success" errors={["Someone else had already marked that message handled."]} />
      ) : null}
      <section aria-labelledby="open-heading" className="space-y-3">
        <h2 id="open-heading" className="text-lg font-semibold">
          To handle ({open.length})
        </h2>
        {open.length === 0 ? (
          <p className="card text-sm">Nothing waiting. New messages appear here, oldest first.</p>
        ) : (
          <ul className="space-y-3">
            {open.map((message) => (
              <MessageCard key={message.id} message={message} />
            ))}
          </ul>
        )}
      </section>
      {handled.length > 0 ? (
        <section aria-labelledby="handled-heading" className="space-y-3">
          <h2 id="handled-heading" className="text-lg font-semibold">
            Recently handled
          </h2>
          <ul className="space-y-3">
            {handled.map((message) => (
              <MessageCard key={message.id} message={message} />
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
