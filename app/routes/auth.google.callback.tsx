import type { LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { GeneralErrorBoundary } from "#app/components/error-boundary";
import {
  completeGoogleSignIn,
  googleErrorParam,
  googleReturnCookie,
  googleSignupCookie,
  googleStateCookie,
  googleVerifierCookie,
  requireGoogle,
  type GoogleRefusal,
} from "#app/models/google.server";
import { safeRedirectPath } from "#app/utils/redirect.server";
import { clientInfo } from "#app/utils/request.server";

// Google sends the browser back here with ?code&state (or ?error). The state must match the cookie
// set when the sign-in started, and the code is exchanged with the PKCE verifier; both cookies are
// single use and cleared whatever happens.
export async function loader({ request, context }: LoaderFunctionArgs) {
  requireGoogle();
  const params = new URL(request.url).searchParams;
  const cookieHeader = request.headers.get("cookie");
  const expectedState = (await googleStateCookie.parse(cookieHeader)) as unknown;
  const codeVerifier = (await googleVerifierCookie.parse(cookieHeader)) as unknown;
  const headers = new Headers();
  headers.append("Set-Cookie", await googleStateCookie.serialize("", { maxAge: 0 }));
  headers.append("Set-Cookie", await googleVerifierCookie.serialize("", { maxAge: 0 }));
  const returnTo = (await googleReturnCookie.parse(cookieHeader)) as unknown;
  const clearReturn = async () => {
    if (returnTo !== null) headers.append("Set-Cookie", await googleReturnCookie.serialize("", { maxAge: 0 }));
  };
  const refuse = async (reason: GoogleRefusal) => {
    await clearReturn();
    return redirect(`/login?error=${googleErrorParam(reason)}`, { headers });
  };

  const state = params.get("state");
  if (typeof expectedState !== "string" || !expectedState || state !== expectedState) return refuse("state");
  const error = params.get("error");
  if (error) return refuse(error === "access_denied" ? "cancelled" : "failed");
  if (typeof codeVerifier !== "string" || !codeVerifier) return refuse("state");
  const code = params.get("code");
  if (!code) return refuse("failed");

  const result = await completeGoogleSignIn({ code, codeVerifier, client: clientInfo(request, context) });
  if (result.status === "refused") return refuse(result.reason);
  if (result.status === "onboarding") {
    // The return path stays for the onboarding form, which finishes the sign-in.
    headers.append("Set-Cookie", await googleSignupCookie.serialize(result.token));
    return redirect("/onboarding/google", { headers });
  }
  await clearReturn();
  headers.append("Set-Cookie", result.cookie);
  return redirect(safeRedirectPath(typeof returnTo === "string" ? returnTo : null, "/"), { headers });
}

export function ErrorBoundary() {
  return <GeneralErrorBoundary />;
}
