import Stripe from "stripe";
import { env } from "./env.server";

// The Stripe client, built on first use from the environment (never at import time, so a server without
// Stripe keys starts and simply shows card payment as unavailable).

/**
 * The API version this code was written and tested against: the one the installed SDK pins. Written out
 * (not `Stripe.API_VERSION`) so that upgrading the SDK is a conscious change: TypeScript refuses this
 * literal once the SDK's types move to a newer version. Configure the webhook endpoint in the Stripe
 * dashboard with the same version, so event payloads have the shape these types describe.
 */
export const STRIPE_API_VERSION = "2026-10-28.endive" as const;

/**
 * Retries: every POST we make carries an idempotency key (our own for Checkout Sessions; the SDK adds
 * one otherwise), so a retried create returns the first result instead of making a second session.
 * Two retries with the SDK's backoff ride out a dropped connection or a 409/5xx while the member waits,
 * and the short timeout keeps the worst case (3 × 10 s + backoff) well inside what a phone user tolerates.
 */
export const STRIPE_MAX_NETWORK_RETRIES = 2;
export const STRIPE_TIMEOUT_MS = 10_000;

export class StripeNotConfiguredError extends Error {
  override name = "StripeNotConfiguredError";
  constructor() {
    super("Stripe is not configured (set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET)");
  }
}

/** host/port/protocol for the SDK from STRIPE_API_BASE_URL (e.g. a local fake in tests). */
export function stripeConnectionOptions(
  baseUrl: string | undefined,
): Pick<Stripe.StripeConfig, "host" | "port" | "protocol"> {
  if (!baseUrl) return {};
  const url = new URL(baseUrl);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return { host: url.hostname, port: url.port || (protocol === "http" ? 80 : 443), protocol };
}

let client: Stripe | null = null;

export function getStripe(): Stripe {
  if (!env.STRIPE_SECRET_KEY) throw new StripeNotConfiguredError();
  client ??= new Stripe(env.STRIPE_SECRET_KEY, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: STRIPE_MAX_NETWORK_RETRIES,
    timeout: STRIPE_TIMEOUT_MS,
    // Latency telemetry about earlier requests is not needed by anyone operating this server.
    telemetry: false,
    ...stripeConnectionOptions(env.STRIPE_API_BASE_URL),
  });
  return client;
}

/** Stripe's default: a signature is accepted for 5 minutes. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export type WebhookVerification =
  { ok: true; event: Stripe.Event } | { ok: false; reason: "missing_signature" | "bad_signature" | "bad_payload" };

/**
 * Checks the `Stripe-Signature` header against the exact bytes received (HMAC-SHA256 with the endpoint
 * secret, timestamp within Stripe's default 300 s tolerance), then parses the event. Nothing is trusted
 * before this returns ok.
 */
export async function verifyStripeWebhook(payload: string, signature: string | null): Promise<WebhookVerification> {
  if (!env.STRIPE_WEBHOOK_SECRET) throw new StripeNotConfiguredError();
  if (!signature) return { ok: false, reason: "missing_signature" };
  // The SDK refuses timestamps older than the tolerance but not ones from the future; refuse both, so a
  // signed delivery is only ever good for a few minutes around when it was made.
  const timestamp = Number(/(?:^|,)\s*t=(\d+)/.exec(signature)?.[1]);
  if (Number.isFinite(timestamp) && timestamp - Math.floor(Date.now() / 1000) > WEBHOOK_TOLERANCE_SECONDS) {
    return { ok: false, reason: "bad_signature" };
  }
  let event: Stripe.Event;
  try {
    event = await getStripe().webhooks.constructEventAsync(
      payload,
      signature,
      env.STRIPE_WEBHOOK_SECRET,
      WEBHOOK_TOLERANCE_SECONDS,
    );
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) return { ok: false, reason: "bad_signature" };
    // A correctly signed body that is not JSON (or a v2 "thin" event notification).
    return { ok: false, reason: "bad_payload" };
  }
  const shape = event as unknown as { id?: unknown; type?: unknown; data?: { object?: unknown } };
  if (typeof shape.id !== "string" || typeof shape.type !== "string" || typeof shape.data?.object !== "object") {
    return { ok: false, reason: "bad_payload" };
  }
  return { ok: true, event };
}
