import { createElement, type ReactElement } from "react";
import * as AccountDeleted from "#emails/account-deleted";
import * as AccountExists from "#emails/account-exists";
import * as ContactReceived from "#emails/contact-received";
import * as ContactReply from "#emails/contact-reply";
import * as EmailChange from "#emails/email-change";
import * as EmailChangedNotice from "#emails/email-changed-notice";
import * as ExportReady from "#emails/export-ready";
import * as LowBalance from "#emails/low-balance";
import * as ManualTopUpApproved from "#emails/manual-topup-approved";
import * as ManualTopUpRejected from "#emails/manual-topup-rejected";
import * as NewSignIn from "#emails/new-sign-in";
import * as PasswordChanged from "#emails/password-changed";
import * as PasswordReset from "#emails/password-reset";
import * as TopUpReceipt from "#emails/topup-receipt";
import * as Verification from "#emails/verification";

// Every kind of email the app sends, and the template that writes it. A notification row names its kind and
// stores that template's props as its payload; the sender renders them here, at send time. A kind is also the
// email's tag (provider, dev outbox), so names stay stable. This is the only module outside /emails that
// imports a template (ESLint keeps models from doing it).

type Template<Props> = {
  subject: (props: Props) => string;
  component: (props: Props) => ReactElement;
};

function template<Props>(
  subject: (props: Props) => string,
  component: (props: Props) => ReactElement,
): Template<Props> {
  return { subject, component };
}

export const TEMPLATES = {
  "account-deleted": template(AccountDeleted.subject, AccountDeleted.AccountDeletedEmail),
  "account-exists": template(AccountExists.subject, AccountExists.AccountExistsEmail),
  "contact-received": template(ContactReceived.subject, ContactReceived.ContactReceivedEmail),
  "contact-reply": template(ContactReply.subject, ContactReply.ContactReplyEmail),
  "email-change": template(EmailChange.subject, EmailChange.EmailChangeEmail),
  "email-changed": template(EmailChangedNotice.subject, EmailChangedNotice.EmailChangedNoticeEmail),
  "export-ready": template(ExportReady.subject, ExportReady.ExportReadyEmail),
  "low-balance": template(LowBalance.subject, LowBalance.LowBalanceEmail),
  "manual-topup-approved": template(ManualTopUpApproved.subject, ManualTopUpApproved.ManualTopUpApprovedEmail),
  "manual-topup-rejected": template(ManualTopUpRejected.subject, ManualTopUpRejected.ManualTopUpRejectedEmail),
  "new-sign-in": template(NewSignIn.subject, NewSignIn.NewSignInEmail),
  "password-changed": template(PasswordChanged.subject, PasswordChanged.PasswordChangedEmail),
  "password-reset": template(PasswordReset.subject, PasswordReset.PasswordResetEmail),
  "topup-receipt": template(TopUpReceipt.subject, TopUpReceipt.TopUpReceiptEmail),
  verification: template(Verification.subject, Verification.VerificationEmail),
};

/** The name of one kind of email; also its tag at the provider and in the dev outbox. */
export type NotificationKind = keyof typeof TEMPLATES;

/** What a kind's template needs: the notification's payload. Strings, numbers and booleans only (it is JSON). */
export type NotificationProps<Kind extends NotificationKind> =
  (typeof TEMPLATES)[Kind] extends Template<infer Props> ? Props : never;

export function isNotificationKind(kind: string): kind is NotificationKind {
  return Object.hasOwn(TEMPLATES, kind);
}

/** The subject and React element of one stored notification (its payload as written by queueNotification). */
export function composeNotification(
  kind: NotificationKind,
  payload: unknown,
): { subject: string; react: ReactElement } {
  // The payload was type-checked against this kind's props when it was queued.
  const entry = TEMPLATES[kind] as Template<unknown>;
  return {
    subject: entry.subject(payload),
    react: createElement(entry.component as (props: unknown) => ReactElement, payload as object),
  };
}
