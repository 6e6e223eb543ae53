import type { MetaFunction } from "@remix-run/node";
import { Link } from "@remix-run/react";
import { GeneralErrorBoundary } from "#app/components/error-boundary";

export const meta: MetaFunction = () => [{ title: "Terms · AI Wallet" }];

export default function Terms() {
  return (
    <article className="max-w-2xl space-y-4 leading-relaxed">
      <h1 className="text-3xl font-bold">Terms of use</h1>
      <p>By creating an account you agree to these terms.</p>
      <ol className="list-decimal space-y-2 pl-5">
        <li>You must be at least 13 years old, and old enough in your country to agree to these terms.</li>
        <li>
          Keep your password to yourself. You are responsible for what happens in your account; if you think someone
          else has used it, change your password and sign out other devices in{" "}
          <Link className="link" to="/settings/sessions">
            Settings
          </Link>
          .
        </li>
        <li>
          Do not use the service to break the law, to harm others, or to attack the service (for example by guessing
          passwords or flooding it with requests).
        </li>
        <li>
          Generations are paid from your prepaid wallet at the prices shown on the{" "}
          <Link className="link" to="/pricing">
            pricing page
          </Link>{" "}
          and before you send, never more than the maximum shown then. A generation is charged for your input and the
          output that reached you, also when it stops early (you stop it, it times out, or the provider fails part-way);
          one that delivered nothing is not charged.
        </li>
        <li>We may suspend an account that breaks these terms. You may stop using the service at any time.</li>
        <li>
          The service is provided as is. The operator of this installation is responsible for running it; the software
          is open source.
        </li>
        <li>
          How we handle your data is described in the{" "}
          <Link className="link" to="/privacy">
            privacy policy
          </Link>
          . Questions about these terms: use the{" "}
          <Link className="link" to="/contact">
            contact form
          </Link>
          .
        </li>
      </ol>
    </article>
  );
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
