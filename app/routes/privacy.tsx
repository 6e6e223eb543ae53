import type { MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { RESET_MINUTES } from "#app/models/account.server";
import { listCatalog } from "#app/models/catalog.server";
import { CONTACT_LIMITS } from "#app/models/contact.server";
import { EXPORT_TTL_DAYS, EXPORTS_PER_DAY } from "#app/models/data-rights.server";
import { WELCOME_CLAIM_RETENTION_DAYS, WELCOME_IP_WINDOW_SECONDS } from "#app/models/wallet.server";
import { GOOGLE_SIGNUP_MINUTES, googleStateCookie } from "#app/models/google.server";
import { NOTIFICATION_RETENTION_DAYS, RETRY_WINDOW_MS } from "#app/notifications/delivery.server";
import { SESSION_DAYS } from "#app/models/session.server";
import { VERIFICATION_MINUTES } from "#app/models/verification.server";
import { env } from "#app/utils/env.server";
import { pendingEmailCookie } from "#app/utils/pending-email.server";
import { rateLimits } from "#app/utils/rate-limit.server";

export const meta: MetaFunction = () => [{ title: "Privacy policy · AI Wallet" }];

/** A cookie's lifetime in minutes, read from the cookie the code actually sets. */
function cookieMinutes(cookie: { expires?: Date }) {
  return cookie.expires ? Math.round((cookie.expires.getTime() - Date.now()) / 60_000) : null;
}

// The numbers and lists on this page come from the same constants, settings and catalog the code uses,
// so the page cannot drift away from what the server does.
export async function loader() {
  const rules = [...Object.values(rateLimits), ...Object.values(CONTACT_LIMITS)];
  const longestRateWindowMinutes = Math.max(...rules.map((rule) => rule.windowSeconds)) / 60;
  const catalog = await listCatalog();
  const providers = new Map<string, { label: string; note: string; local: boolean }>();
  for (const entry of catalog) {
    if (!entry.available || providers.has(entry.provider)) continue;
    providers.set(entry.provider, {
      label: entry.providerLabel,
      note: entry.privacyNote,
      local: entry.provider === "demo",
    });
  }
  return {
    appUrl: env.APP_URL,
    sessionDays: SESSION_DAYS,
    pendingEmailMinutes: cookieMinutes(pendingEmailCookie),
    verificationMinutes: VERIFICATION_MINUTES,
    resetMinutes: RESET_MINUTES,
    exportDays: EXPORT_TTL_DAYS,
    exportsPerDay: EXPORTS_PER_DAY,
    welcomeClaimDays: WELCOME_CLAIM_RETENTION_DAYS,
    welcomeIpHours: WELCOME_IP_WINDOW_SECONDS / 3600,
    contactRetentionDays: env.CONTACT_RETENTION_DAYS,
    longestRateWindowMinutes,
    googleEnabled: env.googleEnabled,
    googleCookieMinutes: cookieMinutes(googleStateCookie),
    googleSignupMinutes: GOOGLE_SIGNUP_MINUTES,
    providers: [...providers.values()],
    cardPayments: env.stripeEnabled,
    emailProvider: env.RESEND_API_KEY ? "Resend" : null,
    emailRetryHours: Math.round(RETRY_WINDOW_MS / 3_600_000),
    emailRecordDays: NOTIFICATION_RETENTION_DAYS,
    fileStorage: env.S3_BUCKET ? ("s3" as const) : ("disk" as const),
  };
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="space-y-2">
      <h2 className="text-xl font-semibold">{title}</h2>
      {children}
    </section>
  );
}

export default function Privacy() {
  const facts = useLoaderData<typeof loader>();
  const remote = facts.providers.filter((provider) => !provider.local);
  const local = facts.providers.some((provider) => provider.local);
  return (
    <article className="max-w-2xl space-y-6 leading-relaxed">
      <header>
        <h1 className="text-3xl font-bold">Privacy policy</h1>
        <p className="mt-2 text-zinc-600 dark:text-zinc-400">
          This page describes what this installation of AI Wallet ({facts.appUrl}) does with your data. It is written
          from the code that runs it: the numbers and lists below are read from that code and its settings.
        </p>
      </header>

      <Section title="What we store about you">
        <ul className="list-disc space-y-1 pl-5">
          <li>
            <strong>Account:</strong> email address, display name, country, optional phone number (in international
            format), when you confirmed you are at least 13 and accepted the terms, your role, and whether your email is
            confirmed. {facts.googleEnabled ? "If you sign in with Google, your Google account identifier. " : ""}
          </li>
          <li>
            <strong>Password:</strong> only an Argon2id hash. Nobody, including the operator, can read your password.
          </li>
          <li>
            <strong>Generations:</strong> your prompts, the files you attach, the settings you chose, the output, the
            model, the cost and the timings, so you can find them again in your history. Files are served only to you.
            To charge a generation we keep the token counts it was charged for: the provider&apos;s, or where it gave
            none, our upper estimate from the text you received, marked as estimated. When an answer stops early, the
            part that reached you is kept with it, because that part is charged.
          </li>
          <li>
            <strong>Support access:</strong> our staff cannot open your prompts, outputs or files. If you ask us for
            help, you can let support see one generation (from its page in your history) or your whole history for 1
            hour, 24 hours or 7 days. We keep when you allowed it and until when; every time staff open something under
            it is written to the staff action log. Access ends by itself, when you revoke it in{" "}
            <Link className="link" to="/settings/privacy">
              Settings → Privacy &amp; data
            </Link>
            , or when you delete the generation or your account.
          </li>
          <li>
            <strong>Wallet:</strong> every movement of money (top-ups, charges, refunds) as an entry that is never
            edited. {facts.cardPayments ? "For card top-ups, the payment's Stripe reference and amount. " : ""}For
            mobile-money or bank top-ups, the number you paid from, the transaction reference and the receipt image if
            you add one. Admins check these to approve the top-up (each view of a receipt is logged); support staff can
            open a receipt only while you let support see your whole history.
          </li>
          <li>
            <strong>Sessions:</strong> for each device you sign in on, a hash of the session token, the IP address, the
            browser&apos;s user-agent, and when it was created and last used (
            <Link className="link" to="/settings/sessions">
              Settings → Sessions
            </Link>
            ).
          </li>
          <li>
            <strong>Contact messages:</strong> what you send through the{" "}
            <Link className="link" to="/contact">
              contact form
            </Link>
            , with your name, email address and IP address.
          </li>
          <li>
            <strong>Security records:</strong> counters of attempts per IP address and per email address (to stop
            password guessing and spam), and a security log: sign-ins from a new device, password and email changes,
            ended sessions, and staff actions such as approving a top-up or opening an item you shared with support. You
            can read the entries about your account under Settings → Security.
          </li>
        </ul>
      </Section>

      <Section title="Who receives your prompts and files">
        <p>
          Only the provider of the model you choose, and only what that generation needs: your prompt, your files and
          the settings. We send no member id, email address or name with it.
        </p>
        {facts.providers.length === 0 ? (
          <p>No model providers are set up on this server at the moment.</p>
        ) : (
          <ul className="list-disc space-y-1 pl-5">
            {remote.map((provider) => (
              <li key={provider.label}>
                <strong>{provider.label}:</strong> {provider.note}
              </li>
            ))}
            {local ? (
              <li>
                <strong>Demo models:</strong> run on this server. Nothing you send to them leaves it.
              </li>
            ) : null}
          </ul>
        )}
        <p>Providers that are not listed here are not set up on this server and receive nothing.</p>
      </Section>

      <Section title="Who else processes your data">
        <ul className="list-disc space-y-1 pl-5">
          {facts.emailProvider ? (
            <li>
              <strong>Email delivery</strong> ({facts.emailProvider}): your address and the content of the emails we
              send you (confirmation codes, reset links, receipts, security notices).
            </li>
          ) : null}
          {facts.cardPayments ? (
            <li>
              <strong>Stripe</strong>, for card top-ups: you enter your card on Stripe&apos;s page; we never see the
              card number.
            </li>
          ) : null}
          {facts.googleEnabled ? (
            <li>
              <strong>Google</strong>, only if you choose &ldquo;Continue with Google&rdquo;: Google tells us your
              account identifier, email address and name.
            </li>
          ) : null}
          <li>
            The hosting provider and PostgreSQL database chosen by the operator of this installation. Files are kept{" "}
            {facts.fileStorage === "s3"
              ? "in S3-compatible object storage chosen by the operator"
              : "on this server's disk"}
            .
          </li>
        </ul>
      </Section>

      <Section title="What we never do">
        <ul className="list-disc space-y-1 pl-5">
          <li>We do not sell your data or share it with advertisers. There are no analytics or tracking scripts.</li>
          <li>
            Our logs carry ids, models, token counts, costs and error names only: never your email address, password,
            codes, prompts, files or outputs.
          </li>
        </ul>
      </Section>

      <Section title="How long we keep it">
        <ul className="list-disc space-y-1 pl-5">
          <li>
            A session lasts up to {facts.sessionDays} days and is renewed while you use the site; expired sessions are
            deleted by a background clean-up job. Signing a device out deletes its session at once.
          </li>
          <li>
            Email codes and links are stored only as hashes: a confirmation code works for {facts.verificationMinutes}{" "}
            minutes, a password-reset link for {facts.resetMinutes} minutes; the clean-up job deletes them once they
            have expired or been used.
          </li>
          <li>
            Attempt counters last at most {facts.longestRateWindowMinutes} minutes and are then deleted by the same job.
          </li>
          <li>
            Generations stay in your history until you delete them. Deleting one removes its prompt, settings, output
            and files; the record that it ran, with its model and cost, stays because your wallet statement refers to
            it.
          </li>
          <li>
            Contact messages are deleted {facts.contactRetentionDays} days after they arrive, whether or not they have
            been answered.
          </li>
          <li>
            An email we owe you waits in a queue with your address and its content (a code, a link, an amount) until it
            is sent; if our email service is down we try again for about {facts.emailRetryHours} hours. Once it is sent,
            or we give up, the address and content are erased at once; the record that it was sent (its kind and time)
            is deleted {facts.emailRecordDays} days after it was written.
          </li>
          <li>
            If you received a welcome credit, we keep a keyed hash of your email address (HMAC-SHA256 with a secret only
            our server holds), not the address itself, so that one mailbox gets the welcome credit only once. The hash
            is computed on the address in lower case, without a &ldquo;+tag&rdquo;, and for Gmail without dots. It is
            kept for {facts.welcomeClaimDays} days after the credit, also after you delete your account, and is then
            deleted by the clean-up job. How many welcome credits were given to sign-ups from one IP address is counted
            for {facts.welcomeIpHours} hours, then deleted.
          </li>
          <li>
            Wallet entries and top-up records are kept: money records are never edited or removed. The security log
            (staff actions, and for your account sign-ins from new devices, password and email changes and signed-out
            devices, with the IP address and a device name such as &ldquo;Firefox on Android&rdquo;) is kept too, with
            no automatic deletion; you can read your part of it in{" "}
            <Link className="link" to="/settings/security">
              Settings → Security
            </Link>
            . Email changes are recorded with the addresses masked (like j***@example.com). The log is never edited, so
            these entries stay after an account is deleted.
          </li>
        </ul>
      </Section>

      <Section title="Cookies">
        <p>Only strictly necessary cookies, so there is no cookie banner:</p>
        <ul className="list-disc space-y-1 pl-5">
          <li>
            <code>session</code> keeps you signed in for up to {facts.sessionDays} days (renewed while you use the
            site). HttpOnly, SameSite=Lax, and Secure over HTTPS.
          </li>
          <li>
            <code>pending_email</code> remembers which address is waiting for its code
            {facts.pendingEmailMinutes ? `, for ${facts.pendingEmailMinutes} minutes after sign-up` : ""}.
          </li>
          {facts.googleEnabled ? (
            <li>
              Two cookies protect the Google sign-in round trip
              {facts.googleCookieMinutes ? ` (${facts.googleCookieMinutes} minutes)` : ""}, and a third remembers a new
              Google sign-up while you finish it ({facts.googleSignupMinutes} minutes).
            </li>
          ) : null}
        </ul>
      </Section>

      <Section title="Your choices and rights">
        <ul className="list-disc space-y-1 pl-5">
          <li>
            Change your name, country, phone, email and password in{" "}
            <Link className="link" to="/settings">
              Settings
            </Link>
            , and sign out any device.
          </li>
          <li>Delete any generation, with its files, from your history.</li>
          <li>
            Download a copy of your data (profile, generations, files, wallet and payment records), or delete your
            account, in{" "}
            <Link className="link" to="/settings/privacy">
              Settings → Privacy &amp; data
            </Link>
            . You can ask for {facts.exportsPerDay} exports a day. The download link works for {facts.exportDays} days,
            then the archive is deleted. Deleting your account removes your profile, password, sessions, generations and
            files; wallet and payment records are kept, attached to an anonymous account, and any remaining balance is
            forfeited. Mobile-money and bank top-ups keep their amounts and dates only: the number you paid from, the
            transaction reference and the receipt image are removed, from the wallet&apos;s ledger too.
          </li>
          <li>
            For anything else, including questions about this policy,{" "}
            <Link className="link" to="/contact">
              contact us
            </Link>
            .
          </li>
        </ul>
      </Section>
    </article>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
