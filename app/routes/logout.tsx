import type { ActionFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { blankSessionCookie, invalidateSession } from "#app/models/session.server";
import { getAuth } from "#app/utils/auth.server";

// Signing out is a state change: POST only, and the session is deleted on the server.
export async function loader() {
  return redirect("/");
}

export async function action({ request }: ActionFunctionArgs) {
  const auth = await getAuth(request);
  if (auth.user) await invalidateSession(auth.sessionId);
  return redirect("/", { headers: { "Set-Cookie": blankSessionCookie() } });
}
