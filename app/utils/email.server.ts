import type { OutboxEmail } from "@prisma/client";
import type { ReactElement } from "react";
import { render } from "@react-email/render";
import { Resend } from "resend";
import { env } from "./env.server";
import { logger } from "./logger.server";

// Sending email. Templates live in /emails (React Email); this module renders them to HTML + plain text and hands
// them to a transport: Resend when RESEND_API_KEY is set, otherwise the dev outbox table (see /dev/outbox).
// Models do not call it: they queue a notification (app/notifications), which a background job sends here.
// Logs carry only the tag, transport and message id: never addresses, subjects, codes, links or bodies.

export type EmailMessage = {
  to: string;
  subject: string;
  react: ReactElement;
  /** Category used for Resend tags and the outbox, e.g. "verification". Letters, digits, "_" and "-" only. */
  tag: string;
};

export type RenderedEmail = {
  to: string;
  subject: string;
  html: string;
  text: string;
  tag: string;
};

export type TransportName = "resend" | "outbox";

export type SendOptions = {
  /**
   * The same key for every attempt at one email (the notification's id): the provider then sends it at
   * most once, even when an attempt that looked failed (a timeout) had in fact gone through.
   */
  idempotencyKey?: string;
};

export type EmailTransport = {
  name: TransportName;
  send(email: RenderedEmail, options?: SendOptions): Promise<{ id: string }>;
};

export type SendEmailResult = { id: string; transport: TransportName };

/** Thrown when a transport fails. The message never contains the recipient or any content. */
export class EmailSendError extends Error {
  override name = "EmailSendError";
  constructor(
    message: string,
    readonly status: number | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

const TAG_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/** Renders a React Email element to its HTML and plain-text parts. */
export async function renderEmail(react: ReactElement): Promise<{ html: string; text: string }> {
  const [html, text] = await Promise.all([render(react), render(react, { plainText: true })]);
  return { html, text };
}

export type ResendTransportOptions = {
  apiKey: string;
  /** API origin, e.g. "https://api.resend.com" (the default) or a local fake in tests. */
  baseUrl?: string;
  /** Sender, e.g. "AI Wallet <no-reply@example.com>". */
  from: string;
  /** Give up on a request after this long (it is then retried later); default SEND_TIMEOUT_MS. */
  timeoutMs?: number;
};

/** A provider that accepts the connection and never answers must not hold a worker for long. */
export const SEND_TIMEOUT_MS = 10_000;

export function createResendTransport({
  apiKey,
  baseUrl,
  from,
  timeoutMs = SEND_TIMEOUT_MS,
}: ResendTransportOptions): EmailTransport {
  if (!apiKey) throw new Error("createResendTransport: apiKey is required");
  // The SDK would otherwise fall back to process.env.RESEND_BASE_URL / https://api.resend.com; pass it explicitly.
  // It builds request URLs as `${baseUrl}${path}`, so drop any trailing slash.
  const resend = new Resend(apiKey, baseUrl ? { baseUrl: baseUrl.replace(/\/+$/, "") } : undefined);

  return {
    name: "resend",
    async send(email, options = {}) {
      // A timed-out request comes back as an error with no status (the SDK catches the abort).
      const { data, error } = await resend.emails.send(
        {
          from,
          to: [email.to],
          subject: email.subject,
          html: email.html,
          text: email.text,
          tags: [{ name: "category", value: email.tag }],
        },
        { idempotencyKey: options.idempotencyKey, signal: AbortSignal.timeout(timeoutMs) },
      );
      if (error || !data) {
        // Resend's own error message may echo the address, so only keep its status and error name.
        const status = error && typeof error.statusCode === "number" ? error.statusCode : null;
        const code = error?.name ? String(error.name) : null;
        throw new EmailSendError(
          `Resend rejected the email (status ${status ?? "unknown"}, ${code ?? "no error code"})`,
          status,
          code,
        );
      }
      return { id: data.id };
    },
  };
}

/** Dev/test transport: stores the rendered email in the outbox_emails table instead of sending it. */
export function createOutboxTransport(): EmailTransport {
  return {
    name: "outbox",
    async send(email, options = {}) {
      // Imported lazily so templates and the Resend transport can be used without a database.
      const { prisma } = await import("./db.server");
      const data = { to: email.to, subject: email.subject, html: email.html, text: email.text, tag: email.tag };
      if (!options.idempotencyKey) {
        return prisma.outboxEmail.create({ data, select: { id: true } });
      }
      // Like the provider: a second attempt with the same key stores nothing new.
      const id = options.idempotencyKey;
      await prisma.outboxEmail.createMany({ data: [{ id, ...data }], skipDuplicates: true });
      return { id };
    },
  };
}

let defaultTransport: EmailTransport | undefined;

/** Resend when RESEND_API_KEY is set, otherwise the outbox. */
export function getEmailTransport(): EmailTransport {
  defaultTransport ??= env.RESEND_API_KEY
    ? createResendTransport({ apiKey: env.RESEND_API_KEY, baseUrl: env.RESEND_BASE_URL, from: env.EMAIL_FROM })
    : createOutboxTransport();
  return defaultTransport;
}

/** True when emails go to the dev outbox (no RESEND_API_KEY) and we are not in production. */
export function isOutboxEnabled(): boolean {
  return !env.RESEND_API_KEY && !env.isProduction;
}

export async function sendEmail(
  message: EmailMessage,
  options: { transport?: EmailTransport } & SendOptions = {},
): Promise<SendEmailResult> {
  if (!TAG_PATTERN.test(message.tag)) throw new Error("sendEmail: tag must match /^[A-Za-z0-9_-]{1,256}$/");
  const { html, text } = await renderEmail(message.react);
  return sendRenderedEmail({ to: message.to, subject: message.subject, html, text, tag: message.tag }, options);
}

/** Hands an already rendered email to the transport; logs the outcome (tag, transport, status: no content). */
export async function sendRenderedEmail(
  email: RenderedEmail,
  { transport = getEmailTransport(), idempotencyKey }: { transport?: EmailTransport } & SendOptions = {},
): Promise<SendEmailResult> {
  if (!TAG_PATTERN.test(email.tag)) throw new Error("sendEmail: tag must match /^[A-Za-z0-9_-]{1,256}$/");
  try {
    const { id } = await transport.send(email, { idempotencyKey });
    logger.info("email.sent", { tag: email.tag, transport: transport.name, id });
    return { id, transport: transport.name };
  } catch (error) {
    logger.error("email.failed", {
      tag: email.tag,
      transport: transport.name,
      status: error instanceof EmailSendError ? error.status : null,
      errorName: error instanceof Error ? error.name : "unknown",
    });
    throw error;
  }
}

/** Newest first; `to` matches the recipient case-insensitively. For the dev outbox page and tests only. */
export async function listOutbox({ to, take = 50 }: { to?: string; take?: number } = {}): Promise<OutboxEmail[]> {
  const { prisma } = await import("./db.server");
  const recipient = to?.trim();
  return prisma.outboxEmail.findMany({
    where: recipient ? { to: { equals: recipient, mode: "insensitive" } } : undefined,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: Math.min(Math.max(Math.trunc(take) || 50, 1), 200),
  });
}

/** One stored email (html + text), or null. For the dev outbox page and tests only. */
export async function getOutboxEmail(id: string): Promise<OutboxEmail | null> {
  const { prisma } = await import("./db.server");
  return prisma.outboxEmail.findUnique({ where: { id } });
}
