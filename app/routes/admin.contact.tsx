import { getFormProps, getTextareaProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data, redirect } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { ErrorList, FormMessage, SubmitButton } from "#app/components/forms";
import {
  type InboxMessage,
  listContactMessages,
  markContactHandled,
  replyToContactMessage,
} from "#app/models/contact.server";
import { requireRole } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { clientIp } from "#app/utils/request.server";
import { formatDateTime } from "#app/utils/dates";

export const meta: MetaFunction = () => [{ title: "Contact messages — Admin — AI Wallet" }];

const STAFF = ["admin", "support"] as const;

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
    replies: row.replies.map((reply) => ({ ...reply, createdAt: reply.createdAt.toISOString() })),
    replyHref: `mailto:${encodeURIComponent(row.email).replace(/%40/g, "@")}?subject=${encodeURIComponent(`Re: ${row.subject}`)}`,
  };
}

export async function loader({ request }: LoaderFunctionArgs) {
  await requireRole(request, [...STAFF]);
  const inbox = await listContactMessages();
  const done = new URL(request.url).searchParams.get("done");
  return { open: inbox.open.map(present), handled: inbox.handled.map(present), done };
}

// Here, not in the .server model: the schema also runs in the browser, where .server modules are empty.
const REPLY_MAX_LENGTH = 5000;

const ReplySchema = z.object({
  intent: z.literal("reply"),
  id: z.string().min(1),
  body: z
    .string({ error: "Write the reply first." })
    .trim()
    .min(1, "Write the reply first.")
    .max(REPLY_MAX_LENGTH, `Keep the reply under ${REPLY_MAX_LENGTH.toLocaleString("en")} characters.`),
});

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, [...STAFF]);
  const form = await readForm(request);
  const id = form.get("id");
  if (form.get("intent") === "reply") {
    const submission = parseWithZod(form, { schema: ReplySchema });
    if (submission.status !== "success") {
      return data({ replyTo: typeof id === "string" ? id : null, result: submission.reply() }, { status: 400 });
    }
    const outcome = await replyToContactMessage(submission.value.id, submission.value.body, {
      id: user.id,
      ip: clientIp(context),
    });
    if (!outcome.ok) throw new Response("Not Found", { status: 404 });
    throw redirect("/admin/contact?done=replied");
  }
  if (form.get("intent") !== "handle" || typeof id !== "string" || !id) {
    return data({ error: "Unknown request." }, { status: 400 });
  }
  const outcome = await markContactHandled(id, { id: user.id, ip: clientIp(context) });
  if (outcome === "not_found") throw new Response("Not Found", { status: 404 });
  throw redirect(`/admin/contact?done=${outcome}`);
}

type Message = ReturnType<typeof present>;

function ReplyForm({ message }: { message: Message }) {
  const actionData = useActionData<typeof action>();
  const mine = actionData && "replyTo" in actionData && actionData.replyTo === message.id;
  const [form, fields] = useForm({
    id: `reply-${message.id}`,
    lastResult: mine ? actionData.result : undefined,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: ReplySchema }),
    shouldValidate: "onSubmit",
    shouldRevalidate: "onInput",
  });
  return (
    <details open={Boolean(mine)} className="rounded border border-zinc-200 p-3 dark:border-zinc-800">
      <summary className="cursor-pointer text-sm font-medium">Reply by email</summary>
      <Form method="post" className="mt-3 space-y-2" {...getFormProps(form)}>
        <input type="hidden" name="id" value={message.id} />
        <label htmlFor={fields.body.id} className="block text-sm font-medium">
          Reply to {message.name} &lt;{message.email}&gt;
        </label>
        <textarea
          {...getTextareaProps(fields.body)}
          rows={6}
          maxLength={REPLY_MAX_LENGTH}
          className="input w-full"
          aria-describedby={`${fields.body.descriptionId} ${fields.body.errorId}`}
        />
        <p id={fields.body.descriptionId} className="text-xs text-zinc-600 dark:text-zinc-400">
          Sent from this service&apos;s address with the subject &ldquo;Re: {message.subject}&rdquo;; the original
          message is not quoted. Sending marks the message handled.
        </p>
        <ErrorList id={fields.body.errorId} errors={fields.body.errors} />
        <FormMessage errors={form.errors} />
        <SubmitButton className="btn-primary" name="intent" value="reply" pendingText="Sending…">
          Send reply
        </SubmitButton>
      </Form>
    </details>
  );
}

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
            {message.fromMember ? " · member" : " · visitor"} · {formatDateTime(message.createdAt)}
          </p>
        </header>
        <p className="text-sm whitespace-pre-line">{message.message}</p>
        {message.replies.length > 0 ? (
          <ol aria-label="Replies sent" className="space-y-2 border-l-2 border-brand-500 pl-3">
            {message.replies.map((reply) => (
              <li key={reply.id} className="text-sm">
                <p className="text-zinc-600 dark:text-zinc-400">
                  Reply by {reply.author} · {formatDateTime(reply.createdAt)}
                </p>
                <p className="whitespace-pre-line">{reply.body}</p>
                {reply.delivery === "queued" ? (
                  <p className="text-zinc-600 dark:text-zinc-400">Email queued: it goes out in a moment.</p>
                ) : null}
                {reply.delivery === "failed" ? (
                  <p className="text-red-700 dark:text-red-400">
                    The email could not be delivered. Write from your own mailbox instead.
                  </p>
                ) : null}
              </li>
            ))}
          </ol>
        ) : null}
        {message.handledAt ? (
          <p className="text-sm text-emerald-800 dark:text-emerald-300">
            Handled {formatDateTime(message.handledAt)}
            {message.handledBy ? ` by ${message.handledBy}` : ""}
          </p>
        ) : null}
        <ReplyForm message={message} />
        <div className="flex flex-wrap gap-3">
          <a className="btn-secondary" href={message.replyHref}>
            Write from your own mailbox
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
          Reply here by email (the message is then marked handled), or write from your own mailbox and mark it handled.
          Replies and markings are recorded in the audit log.
        </p>
      </div>
      {done === "handled" ? <FormMessage tone="success" errors={["Marked as handled."]} /> : null}
      {done === "replied" ? (
        <FormMessage tone="success" errors={["Reply saved; its email is on its way. The message is handled."]} />
      ) : null}
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
