import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A small stand-in for the part of the Stripe API this app calls, for tests. The real `stripe` SDK talks to
// it (STRIPE_API_BASE_URL → host/port/protocol), so the request the SDK really sends is what gets checked.
//
//   POST /v1/checkout/sessions   form-encoded, like Stripe: creates an open session with a payment page URL.
//                                Idempotency-Key honoured like Stripe: same key + same parameters → the same
//                                session (header Idempotent-Replayed: true); same key + other parameters → 400.
//   GET  /c/pay/:id              a bare payment page (for browser tests): "Pay" completes the session, posts a
//                                signed checkout.session.completed to `webhook.url` (when configured), and
//                                redirects to the session's success_url, as Stripe would.
//
// Event builders (stripeEvent, chargeObject, disputeObject) and signStripePayload help tests craft webhooks.

export type FakeStripeRequest = {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as received (form-encoded for the API). */
  rawBody: string;
  /** The form body decoded into nested objects/arrays, e.g. params.line_items[0].price_data.unit_amount. */
  params: Record<string, unknown>;
};

export type FakeCheckoutSession = {
  id: string;
  object: "checkout.session";
  amount_subtotal: number;
  amount_total: number;
  currency: string;
  client_reference_id: string | null;
  customer: null;
  customer_email: string | null;
  created: number;
  expires_at: number;
  livemode: false;
  metadata: Record<string, string>;
  mode: string;
  payment_intent: string | null;
  payment_status: "paid" | "unpaid" | "no_payment_required";
  status: "open" | "complete" | "expired";
  success_url: string;
  cancel_url: string | null;
  url: string | null;
  /** Not a Stripe field on the session: the PaymentIntent's metadata, copied to its charge on payment. */
  payment_intent_metadata: Record<string, string>;
};

export type FakeStripeOptions = {
  /** Where the fake payment page delivers checkout.session.completed, signed with `secret`. */
  webhook?: { url: string; secret: string };
};

export type FakeStripe = {
  /** Base URL without trailing slash, e.g. "http://127.0.0.1:54321": use it as STRIPE_API_BASE_URL. */
  url: string;
  /** Every request received, in order (including failed ones). */
  requests: FakeStripeRequest[];
  /** Sessions created, by id. */
  sessions: Map<string, FakeCheckoutSession>;
  /** The next `times` requests fail with `status` (nothing is created or remembered for their keys). */
  failNext(status: number, options?: { times?: number; body?: unknown }): void;
  /**
   * What Stripe does when the payer confirms: the session becomes complete with a PaymentIntent, paid
   * (cards) or still unpaid (bank debits that settle later). Returns the session as events carry it.
   */
  completeSession(id: string, options?: { paymentStatus?: "paid" | "unpaid" }): FakeCheckoutSession;
  setWebhook(webhook: FakeStripeOptions["webhook"]): void;
  close(): Promise<void>;
};

export function fakeStripeId(prefix: string) {
  return `${prefix}_test_${randomBytes(12).toString("hex")}`;
}

/** `Stripe-Signature` header for a payload: t=<unix seconds>,v1=HMAC-SHA256(secret, "<t>.<payload>"). */
export function signStripePayload(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${signature}`;
}

/** An event envelope as Stripe sends it to webhook endpoints. */
export function stripeEvent(
  type: string,
  object: object,
  options: { id?: string; previousAttributes?: object; created?: number; apiVersion?: string } = {},
) {
  return {
    id: options.id ?? fakeStripeId("evt"),
    object: "event",
    api_version: options.apiVersion ?? "2026-10-28.endive",
    created: options.created ?? Math.floor(Date.now() / 1000),
    data: { object, ...(options.previousAttributes ? { previous_attributes: options.previousAttributes } : {}) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

/** The checkout session as an event carries it (without the fake's bookkeeping field). */
export function sessionObject(session: FakeCheckoutSession, overrides: Partial<FakeCheckoutSession> = {}) {
  const { payment_intent_metadata: _ignored, ...rest } = session;
  return { ...rest, ...overrides };
}

export function chargeObject(input: {
  id?: string;
  paymentIntentId: string | null;
  amount: number;
  amountRefunded: number;
  currency: string;
  metadata?: Record<string, string>;
}) {
  return {
    id: input.id ?? fakeStripeId("ch"),
    object: "charge",
    amount: input.amount,
    amount_captured: input.amount,
    amount_refunded: input.amountRefunded,
    captured: true,
    created: Math.floor(Date.now() / 1000),
    currency: input.currency,
    livemode: false,
    metadata: input.metadata ?? {},
    paid: true,
    payment_intent: input.paymentIntentId,
    refunded: input.amountRefunded >= input.amount,
    // Since API version 2022-11-15 a charge's refunds are not included in events unless expanded.
    status: "succeeded",
  };
}

export function disputeObject(input: {
  id?: string;
  chargeId: string;
  paymentIntentId: string | null;
  amount: number;
  currency: string;
  status?: string;
  reason?: string;
}) {
  return {
    id: input.id ?? fakeStripeId("dp"),
    object: "dispute",
    amount: input.amount,
    charge: input.chargeId,
    created: Math.floor(Date.now() / 1000),
    currency: input.currency,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: input.paymentIntentId,
    reason: input.reason ?? "fraudulent",
    status: input.status ?? "needs_response",
  };
}

/** "a[b][0][c]=v" pairs → { a: { b: [ { c: "v" } ] } }, like Stripe's form decoding. */
function decodeForm(body: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.replace(/\]/g, "").split("[");
    let node = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    });
  }
  const arrays = (value: unknown): unknown => {
    if (!value || typeof value !== "object") return value;
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([key, inner]) => [key, arrays(inner)] as const,
    );
    if (entries.length && entries.every(([key]) => /^\d+$/.test(key))) {
      return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, inner]) => inner);
    }
    return Object.fromEntries(entries);
  };
  return arrays(root) as Record<string, unknown>;
}

function stripeError(res: ServerResponse, status: number, type: string, message: string, param?: string) {
  res.writeHead(status, { "content-type": "application/json", "request-id": fakeStripeId("req") });
  res.end(JSON.stringify({ error: { type, message, ...(param ? { param } : {}) } }));
}

type Stored = { fingerprint: string; status: number; body: string };

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const requests: FakeStripeRequest[] = [];
  const sessions = new Map<string, FakeCheckoutSession>();
  const idempotency = new Map<string, Stored>();
  const failures: Array<{ status: number; body: unknown }> = [];
  let webhook = options.webhook;
  let baseUrl = "";

  function createSession(params: Record<string, unknown>): FakeCheckoutSession | { error: string; param: string } {
    const lineItems = params.line_items as Array<Record<string, unknown>> | undefined;
    if (params.mode !== "payment") return { error: "Only mode=payment is faked.", param: "mode" };
    if (!Array.isArray(lineItems) || lineItems.length === 0)
      return { error: "line_items is required.", param: "line_items" };
    if (typeof params.success_url !== "string") return { error: "success_url is required.", param: "success_url" };
    let total = 0;
    let currency = "";
    for (const [index, item] of lineItems.entries()) {
      const price = item.price_data as Record<string, unknown> | undefined;
      const unitAmount = Number(price?.unit_amount);
      const quantity = Number(item.quantity ?? 1);
      if (!price || !Number.isSafeInteger(unitAmount) || unitAmount < 0) {
        return {
          error: "unit_amount must be a non-negative integer.",
          param: `line_items[${index}][price_data][unit_amount]`,
        };
      }
      if (typeof price.currency !== "string" || !/^[a-z]{3}$/.test(price.currency)) {
        return {
          error: "currency must be a lower-case ISO code.",
          param: `line_items[${index}][price_data][currency]`,
        };
      }
      currency = price.currency;
      total += unitAmount * quantity;
    }
    const id = fakeStripeId("cs");
    const created = Math.floor(Date.now() / 1000);
    const paymentIntentData = params.payment_intent_data as { metadata?: Record<string, string> } | undefined;
    const session: FakeCheckoutSession = {
      id,
      object: "checkout.session",
      amount_subtotal: total,
      amount_total: total,
      currency,
      client_reference_id: typeof params.client_reference_id === "string" ? params.client_reference_id : null,
      customer: null,
      customer_email: typeof params.customer_email === "string" ? params.customer_email : null,
      created,
      expires_at: created + 24 * 60 * 60,
      livemode: false,
      metadata: (params.metadata as Record<string, string> | undefined) ?? {},
      mode: "payment",
      payment_intent: null,
      payment_status: "unpaid",
      status: "open",
      success_url: params.success_url,
      cancel_url: typeof params.cancel_url === "string" ? params.cancel_url : null,
      url: `${baseUrl}/c/pay/${id}`,
      payment_intent_metadata: paymentIntentData?.metadata ?? {},
    };
    sessions.set(id, session);
    return session;
  }

  function completeSession(id: string, { paymentStatus = "paid" }: { paymentStatus?: "paid" | "unpaid" } = {}) {
    const session = sessions.get(id);
    if (!session) throw new Error(`fake Stripe: no session ${id}`);
    session.status = "complete";
    session.payment_status = paymentStatus;
    session.payment_intent ??= fakeStripeId("pi");
    session.url = null;
    return session;
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString("utf8");
        const path = (req.url ?? "/").split("?")[0] ?? "/";
        const method = req.method ?? "GET";
        const params = decodeForm(rawBody);
        requests.push({ method, path, headers: req.headers, rawBody, params });

        // The payment page, for browsers.
        const page = /^\/c\/pay\/(cs_test_[a-f0-9]+)$/.exec(path);
        if (page) {
          const session = sessions.get(page[1]!);
          if (!session) return stripeError(res, 404, "invalid_request_error", "No such session");
          if (method === "GET") {
            res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
            res.end(
              `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><link rel="icon" href="data:,"><title>Fake Stripe Checkout</title></head>` +
                `<body><h1>Fake Stripe Checkout</h1><p>Amount: ${session.amount_total} (smallest unit of ${session.currency.toUpperCase()}), test mode</p>` +
                `<form method="post"><button type="submit">Pay</button></form>` +
                (session.cancel_url
                  ? `<p><a href="${session.cancel_url.replace(/"/g, "&quot;")}">Cancel</a></p>`
                  : "") +
                `</body></html>`,
            );
            return;
          }
          completeSession(session.id);
          if (webhook) {
            const payload = JSON.stringify(stripeEvent("checkout.session.completed", sessionObject(session)));
            await fetch(webhook.url, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                "stripe-signature": signStripePayload(payload, webhook.secret),
              },
              body: payload,
            }).catch(() => undefined);
          }
          res.writeHead(303, { location: session.success_url.replace("{CHECKOUT_SESSION_ID}", session.id) });
          res.end();
          return;
        }

        if (!path.startsWith("/v1/")) return stripeError(res, 404, "invalid_request_error", "Not found");
        const authorization = req.headers.authorization ?? "";
        if (!/^Bearer sk_test_\S+$/.test(authorization)) {
          return stripeError(res, 401, "invalid_request_error", "Invalid API Key provided");
        }
        const failure = failures.shift();
        if (failure) {
          res.writeHead(failure.status, { "content-type": "application/json" });
          res.end(JSON.stringify(failure.body));
          return;
        }

        if (method === "POST" && path === "/v1/checkout/sessions") {
          const key = req.headers["idempotency-key"];
          const fingerprint = [...new URLSearchParams(rawBody)]
            .map(([k, v]) => `${k}=${v}`)
            .sort()
            .join("&");
          if (typeof key === "string") {
            const stored = idempotency.get(key);
            if (stored) {
              if (stored.fingerprint !== fingerprint) {
                return stripeError(
                  res,
                  400,
                  "idempotency_error",
                  "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
              }
              res.writeHead(stored.status, { "content-type": "application/json", "idempotent-replayed": "true" });
              res.end(stored.body);
              return;
            }
          }
          const created = createSession(params);
          const status = "error" in created ? 400 : 200;
          const body = JSON.stringify(
            "error" in created
              ? { error: { type: "invalid_request_error", message: created.error, param: created.param } }
              : sessionObject(created),
          );
          if (typeof key === "string") idempotency.set(key, { fingerprint, status, body });
          res.writeHead(status, { "content-type": "application/json", "request-id": fakeStripeId("req") });
          res.end(body);
          return;
        }
        const retrieve = /^\/v1\/checkout\/sessions\/(cs_test_[a-f0-9]+)$/.exec(path);
        if (method === "GET" && retrieve) {
          const session = sessions.get(retrieve[1]!);
          if (!session) return stripeError(res, 404, "invalid_request_error", "No such checkout.session", "session");
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(sessionObject(session)));
          return;
        }
        return stripeError(res, 404, "invalid_request_error", `Unrecognized request URL (${method}: ${path}).`);
      })();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    requests,
    sessions,
    failNext(status, { times = 1, body } = {}) {
      for (let i = 0; i < times; i += 1) {
        failures.push({
          status,
          body: body ?? {
            error: { type: "api_error", message: "Fake failure: something went wrong on Stripe's end." },
          },
        });
      }
    },
    completeSession,
    setWebhook(next) {
      webhook = next;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
