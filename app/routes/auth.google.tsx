import type { ActionFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import {
  googleReturnCookie,
  googleStateCookie,
  googleVerifierCookie,
  requireGoogle,
  startGoogleSignIn,
} from "#app/models/google.server";
import { requireAnonymous } from "#app/utils/auth.server";
import { readForm } from "#app/utils/form.server";
import { safeRedirectPath } from "#app/utils/redirect.server";

// Starts "Continue with Google": a POST (a state change: it sets cookies), answered with a redirect
// to Google. The state and the PKCE verifier wait in short-lived cookies for the callback.
export async function loader() {
  requireGoogle();
  return redirect("/login");
}

export async function action({ request }: ActionFunctionArgs) {
  requireGoogle();
  await requireAnonymous(request);
  const returnTo = safeRedirectPath((await readForm(request)).get("redirectTo"), "");
  const { url, state, codeVerifier } = startGoogleSignIn();
  const headers = new Headers();
  headers.append("Set-Cookie", await googleStateCookie.serialize(state));
  headers.append("Set-Cookie", await googleVerifierCookie.serialize(codeVerifier));
  if (returnTo) headers.append("Set-Cookie", await googleReturnCookie.serialize(returnTo));
  return redirect(url, { headers });
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
