import type { MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import type { ReactNode } from "react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import { RESET_MINUTES } from "#app/models/account.server";
import { SESSION_DAYS } from "#app/models/session.server";
import { VERIFICATION_MINUTES } from "#app/models/verification.server";
import { env } from "#app/utils/env.server";
import { rateLimits } from "#app/utils/rate-limit.server";

export const meta: MetaFunction = () => [{ title: "Privacy policy · AI Wallet" }];

// The numbers on this page come from the same constants the code uses, so they cannot drift apart.
export async function loader() {
  const longestRateWindowMinutes = Math.max(...Object.values(rateLimits).map((rule) => rule.windowSeconds)) / 60;
  return {
    sessionDays: SESSION_DAYS,
    verificationMinutes: VERIFICATION_MINUTES,
    resetMinutes: RESET_MINUTES,
    longestRateWindowMinutes,
    googleEnabled: env.googleEnabled,
    appUrl: env.APP_URL,
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
  return (
    <article className="max-w-2xl space-y-6 leading-relaxed">
      <header>
        <h1 className="text-3xl font-bold">Privacy policy</h1>
        <p className="mt-2 text-zinc-600 dark:text-zinc-400">
          This page describes what this installation of AI Wallet ({facts.appUrl}) does with your data. It is written
          from the code that runs it: when the code changes, this page changes with it.
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
            <strong>Sessions:</strong> for each device you sign in on, a hash of the session token, the IP address, the
            browser&apos;s user-agent, and when it was created and last used. You can see and end them in{" "}
            <Link className="link" to="/settings/sessions">
              Settings → Sessions
            </Link>
            .
          </li>
          <li>
            <strong>Security counters:</strong> to stop password guessing, we count attempts per IP address and per
            email address. Each counter expires after at most {facts.longestRateWindowMinutes} minutes.
          </li>
          <li>
            <strong>Email codes and links:</strong> stored only as hashes; a confirmation code works for{" "}
            {facts.verificationMinutes} minutes, a password-reset link for {facts.resetMinutes} minutes.
          </li>
        </ul>
      </Section>
      <Section title="What we never do">
        <ul className="list-disc space-y-1 pl-5">
          <li>We do not sell your data or share it with advertisers. There are no analytics or tracking scripts.</li>
          <li>
            Our logs carry ids, counts and error names only: never your email address, password, codes, prompts, files
            or outputs.
          </li>
        </ul>
      </Section>
      <Section title="Who else processes it">
        <ul className="list-disc space-y-1 pl-5">
          <li>
            <strong>Email delivery</strong> (Resend): your address and the content of the emails we send you
            (confirmation codes, reset links, security notices).
          </li>
          {facts.googleEnabled ? (
            <li>
              <strong>Google</strong>, only if you choose &ldquo;Continue with Google&rdquo;: Google tells us your
              account identifier, email address and name.
            </li>
          ) : null}
          <li>The hosting provider and PostgreSQL database chosen by the operator of this installation.</li>
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
            <code>pending_email</code> remembers which address is waiting for its code, for one hour after sign-up.
          </li>
          {facts.googleEnabled ? (
            <li>Two short-lived cookies (10 minutes) protect the Google sign-in round trip.</li>
          ) : null}
        </ul>
      </Section>
      <Section title="Your choices">
        <p>
          You can change your name, country, phone, email and password in{" "}
          <Link className="link" to="/settings">
            Settings
          </Link>{" "}
          and sign out any device. Ending a session deletes it from our database at once.
        </p>
      </Section>
    </article>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
