import { getFormProps, getInputProps, getTextareaProps, useForm } from "@conform-to/react";
import { parseWithZod } from "@conform-to/zod/v4";
import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { data } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useId, type TextareaHTMLAttributes } from "react";
import { z } from "zod";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { ErrorList, Field, FormMessage, SubmitButton } from "#app/components/forms";
import { consumeContactLimit, submitContactMessage } from "#app/models/contact.server";
import { getUser } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { clientIp } from "#app/utils/request.server";
import { EmailSchema } from "#app/utils/validation";

export const meta: MetaFunction = () => [{ title: "Contact us · AI Wallet" }];

const MESSAGE_MAX = 5_000;
const SUBJECT_MAX = 150;
const NAME_MAX = 100;
/** Far above any valid form (5,000 characters, URL-encoded): larger bodies are refused before reading. */
const BODY_MAX_BYTES = 64 * 1024;

// The same rules run in the browser (instant feedback) and on the server (the ones that count).
const ContactSchema = z.object({
  name: z
    .string({ error: "Enter your name" })
    .trim()
    .min(1, "Enter your name")
    .max(NAME_MAX, `At most ${NAME_MAX} characters`),
  email: EmailSchema,
  subject: z
    .string({ error: "Enter a subject" })
    .trim()
    .min(1, "Enter a subject")
    .max(SUBJECT_MAX, `At most ${SUBJECT_MAX} characters`),
  message: z
    .string({ error: "Write your message" })
    .trim()
    .min(1, "Write your message")
    .max(MESSAGE_MAX, `Your message is too long: at most ${MESSAGE_MAX.toLocaleString("en")} characters`),
});

function tooManyMessages(seconds: number) {
  const minutes = Math.ceil(seconds / 60);
  return `You have sent several messages in a short time. Please try again in ${minutes <= 1 ? "a minute" : `${minutes} minutes`}.`;
}

export async function loader({ request }: LoaderFunctionArgs) {
  const user = await getUser(request);
  return { member: user ? { name: user.displayName, email: user.email } : null };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const user = await getUser(request);
  const length = Number(request.headers.get("content-length") ?? "0");
  if (length > BODY_MAX_BYTES) {
    const submission = parseWithZod(new FormData(), { schema: ContactSchema });
    return data(
      {
        result: submission.reply({
          formErrors: ["That message is far too long to send."],
          fieldErrors: { message: [`At most ${MESSAGE_MAX.toLocaleString("en")} characters`] },
        }),
        sent: false,
      },
      { status: 413 },
    );
  }
  const submission = parseWithZod(await readForm(request), { schema: ContactSchema });
  if (submission.status !== "success") {
    return data({ result: submission.reply(), sent: false }, { status: 400 });
  }
  const ip = clientIp(context);
  const limit = await consumeContactLimit(ip, submission.value.email);
  if (!limit.allowed) {
    return data(
      { result: submission.reply({ formErrors: [tooManyMessages(limit.retryAfterSeconds)] }), sent: false },
      { status: 429 },
    );
  }
  await submitContactMessage({ ...submission.value, userId: user?.id ?? null, ip });
  return data({ result: submission.reply({ resetForm: true }), sent: true });
}

function TextareaField({
  label,
  hint,
  errors,
  textareaProps,
}: {
  label: string;
  hint?: string;
  errors?: Array<string | null | undefined>;
  textareaProps: TextareaHTMLAttributes<HTMLTextAreaElement> & { id?: string };
}) {
  const fallbackId = useId();
  const id = textareaProps.id ?? fallbackId;
  const hasErrors = Boolean(errors?.filter(Boolean).length);
  const describedBy = [hint ? `${id}-hint` : null, hasErrors ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {label}
      </label>
      <textarea
        {...textareaProps}
        id={id}
        className="input min-h-40"
        aria-invalid={hasErrors || undefined}
        aria-describedby={describedBy || undefined}
      />
      {hint ? (
        <p id={`${id}-hint`} className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      <ErrorList id={`${id}-error`} errors={errors} />
    </div>
  );
}

export default function Contact() {
  const { member } = useLoaderData<typeof loader>();
  const actionData = useActionData<typeof action>();
  const [form, fields] = useForm({
    id: "contact",
    lastResult: actionData?.result,
    defaultValue: member ? { name: member.name, email: member.email } : undefined,
    onValidate: ({ formData }) => parseWithZod(formData, { schema: ContactSchema }),
    shouldValidate: "onBlur",
    shouldRevalidate: "onInput",
  });
  return (
    <div className="mx-auto max-w-xl space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Contact us</h1>
        <p className="mt-1 text-zinc-600 dark:text-zinc-400">
          Questions about a top-up, a generation, your data or anything else: a person reads every message and replies
          by email. For a question about a payment, include its reference, never a card number or password.
        </p>
      </div>
      {actionData?.sent ? (
        <FormMessage
          tone="success"
          errors={["Thank you: your message is on its way to us. We sent a short confirmation to your email address."]}
        />
      ) : null}
      <Form method="post" className="space-y-4 card" {...getFormProps(form)}>
        <FormMessage id={form.errorId} errors={form.errors} />
        <Field
          label="Your name"
          errors={fields.name.errors}
          inputProps={{ ...getInputProps(fields.name, { type: "text" }), autoComplete: "name", maxLength: NAME_MAX }}
        />
        <Field
          label="Email address"
          hint="We reply to this address."
          errors={fields.email.errors}
          inputProps={{ ...getInputProps(fields.email, { type: "email" }), autoComplete: "email" }}
        />
        <Field
          label="Subject"
          errors={fields.subject.errors}
          inputProps={{ ...getInputProps(fields.subject, { type: "text" }), maxLength: SUBJECT_MAX }}
        />
        <TextareaField
          label="Message"
          hint={`Up to ${MESSAGE_MAX.toLocaleString("en")} characters.`}
          errors={fields.message.errors}
          textareaProps={{ ...getTextareaProps(fields.message), rows: 8 }}
        />
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          We keep your message, your address and your IP address to answer you and to stop abuse of this form. See the{" "}
          <Link className="link" to="/privacy">
            privacy policy
          </Link>
          .
        </p>
        <SubmitButton pendingText="Sending…">Send message</SubmitButton>
      </Form>
    </div>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
