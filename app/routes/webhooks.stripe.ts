import type { ActionFunctionArgs } from "@remix-run/node";
import { handleStripeEvent, RetryLaterError } from "#app/models/stripe-topups.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { verifyStripeWebhook } from "#app/utils/stripe.server";

// Stripe → us. A resource route: Remix hands over the untouched Request, so the signature is checked
// against the exact bytes Stripe signed. Nothing changes unless the signature (and its timestamp) is good.
// The work inline is a few small database statements; the answer goes back well within Stripe's timeout.

/** Stripe's events are a few kilobytes; anything near this is not from Stripe. */
const MAX_BODY_BYTES = 512 * 1024;

function reply(status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return Response.json(body, { status, headers: { "Cache-Control": "no-store", ...headers } });
}

export function loader() {
  return reply(405, { error: "Method Not Allowed" }, { Allow: "POST" });
}

export async function action({ request }: ActionFunctionArgs) {
  if (request.method !== "POST") return reply(405, { error: "Method Not Allowed" }, { Allow: "POST" });
  if (!env.stripeEnabled) return reply(404, { error: "Not Found" });
  if (Number(request.headers.get("content-length") ?? 0) > MAX_BODY_BYTES) {
    return reply(413, { error: "Payload Too Large" });
  }
  const payload = await request.text();
  if (Buffer.byteLength(payload) > MAX_BODY_BYTES) return reply(413, { error: "Payload Too Large" });

  const verified = await verifyStripeWebhook(payload, request.headers.get("stripe-signature"));
  if (!verified.ok) {
    logger.warn("stripe.webhook_rejected", { reason: verified.reason });
    return reply(400, { error: verified.reason });
  }
  const { event } = verified;
  try {
    const { outcome } = await handleStripeEvent(event);
    return reply(200, { received: true, outcome });
  } catch (error) {
    if (error instanceof RetryLaterError) {
      logger.info("stripe.webhook_deferred", { eventId: event.id, type: event.type });
      return reply(503, { error: "retry_later" }, { "Retry-After": "60" });
    }
    // Not recorded as handled: Stripe redelivers it, and its keyed effects replay harmlessly.
    logger.error("stripe.webhook_failed", {
      eventId: event.id,
      type: event.type,
      errorName: error instanceof Error ? error.name : "unknown",
    });
    return reply(500, { error: "internal_error" });
  }
}
