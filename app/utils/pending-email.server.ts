import { createCookie } from "@remix-run/node";
import { env } from "./env.server";

// Which address the /verify page is waiting for right after sign-up (before there is a session).
// It only names the address; the code itself is the proof.
export const pendingEmailCookie = createCookie(env.isProduction ? "__Host-pending_email" : "pending_email", {
  httpOnly: true,
  sameSite: "lax",
  secure: env.isProduction,
  path: "/",
  maxAge: 60 * 60,
});
