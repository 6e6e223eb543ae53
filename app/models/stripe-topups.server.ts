import type { Prisma, StripeCheckout } from "@prisma/client";
import type Stripe from "stripe";
import { audit } from "#app/models/audit.server";
import {
  ensureWallet,
  getWalletBalance,
  LedgerError,
  PLATFORM_ACCOUNTS,
  transfer,
  walletAccountId,
} from "#app/models/ledger.server";
import { checkLowBalance } from "#app/models/wallet.server";
import { nudgeNotifications, queueNotification } from "#app/notifications/outbox.server";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { logger } from "#app/utils/logger.server";
import { formatMoney, fromStripeAmount, toStripeAmount } from "#app/utils/money";
import { getStripe } from "#app/utils/stripe.server";

// Card top-ups through Stripe Checkout, end to end:
//   startCardTopUp      member → Checkout Session (idempotent per form submission) + a StripeCheckout row
//   handleStripeEvent   verified webhook event → credit / close / refund / dispute, each at most once
//   getCheckoutForMember the success page's view of one of the member's own sessions
//
// Money only moves through ledger.transfer() with keys derived from Stripe's own ids, so every event can
// be delivered any number of times, concurrently and in any order: the ledger's unique idempotency key
// decides. The StripeEvent table is recorded after an event's effects, so a crash part-way through
// makes Stripe redeliver it (and the keyed effects replay harmlessly) instead of losing it.

export const CARD_TOPUP_KIND = "topup_card";
export const CARD_REFUND_KIND = "topup_card_refund";
export const CARD_DISPUTE_KIND = "topup_card_dispute";
export const CARD_DISPUTE_WON_KIND = "topup_card_dispute_won";

/** Marks Stripe objects this app created, so events about an operator's other Stripe sales are left alone. */
export const TOPUP_PURPOSE = "wallet_top_up";

/** MoneyFlag kinds raised here (unique per kind + reference). */
export const FLAG_KINDS = {
  unknownCheckout: "stripe_checkout_unknown",
  checkoutMismatch: "stripe_checkout_mismatch",
  checkoutNoMember: "stripe_checkout_no_member",
  refundShortfall: "stripe_refund_shortfall",
  refundUnreconciled: "stripe_refund_unreconciled",
  refundUncredited: "stripe_refund_uncredited",
  disputeShortfall: "stripe_dispute_shortfall",
  disputeUnmatched: "stripe_dispute_unmatched",
  disputeUncredited: "stripe_dispute_uncredited",
} as const;

const CHECKOUT_FLAG_KINDS = [FLAG_KINDS.unknownCheckout, FLAG_KINDS.checkoutMismatch, FLAG_KINDS.checkoutNoMember];

export const checkoutTransferKey = (sessionId: string) => `stripe:checkout:${sessionId}`;
export const refundTransferKey = (chargeId: string, refundedTo: number) => `stripe:refund:${chargeId}:${refundedTo}`;
export const disputeTransferKey = (disputeId: string) => `stripe:dispute:${disputeId}`;

// ---------------------------------------------------------------------------------------------------
// Starting a top-up
// ---------------------------------------------------------------------------------------------------

export type CardTopUpErrorCode = "unavailable" | "invalid_amount" | "stripe_error";

export class CardTopUpError extends Error {
  override name = "CardTopUpError";
  constructor(
    readonly code: CardTopUpErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What we ask Stripe for. Only the member's id (never their email or name) leaves this server; Stripe's
 * page asks the payer for whatever it needs.
 */
export function checkoutSessionParams(input: {
  userId: string;
  amount: bigint;
  currency: string;
  appUrl: string;
}): Stripe.Checkout.SessionCreateParams {
  const unitAmount = toStripeAmount(input.amount, input.currency);
  return {
    mode: "payment",
    submit_type: "pay",
    line_items: [
      {
        quantity: 1,
        price_data: {
          currency: input.currency.toLowerCase(),
          unit_amount: unitAmount,
          product_data: { name: "Wallet top-up" },
        },
      },
    ],
    client_reference_id: input.userId,
    metadata: { userId: input.userId, amountMicros: input.amount.toString(), purpose: TOPUP_PURPOSE },
    // Copied by Stripe onto the payment and its charge, so refunds and disputes can be traced back.
    payment_intent_data: { metadata: { userId: input.userId, purpose: TOPUP_PURPOSE } },
    success_url: `${input.appUrl}/wallet/top-up/success?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${input.appUrl}/wallet/top-up/cancel`,
  };
}

/**
 * One form submission = one key: a double submit (or the SDK's own retry) returns the first session.
 * The amount is part of the key, so changing the amount with the same form makes a new session instead
 * of Stripe refusing the key for different parameters.
 */
export function topUpIdempotencyKey(userId: string, requestId: string, amount: bigint) {
  return `topup:${userId}:${requestId}:${amount}`;
}

export async function startCardTopUp(input: {
  userId: string;
  amount: bigint;
  requestId: string;
}): Promise<{ sessionId: string; url: string }> {
  if (!env.stripeEnabled) throw new CardTopUpError("unavailable", "Card payment is not available.");
  const currency = env.WALLET_CURRENCY;
  if (input.amount < env.topUp.min || input.amount > env.topUp.max) {
    throw new CardTopUpError("invalid_amount", "The amount is outside the top-up limits.");
  }
  let params: Stripe.Checkout.SessionCreateParams;
  try {
    params = checkoutSessionParams({ userId: input.userId, amount: input.amount, currency, appUrl: env.APP_URL });
  } catch {
    throw new CardTopUpError("invalid_amount", "Stripe cannot charge that exact amount.");
  }

  let session: Stripe.Checkout.Session;
  try {
    session = await getStripe().checkout.sessions.create(params, {
      idempotencyKey: topUpIdempotencyKey(input.userId, input.requestId, input.amount),
    });
  } catch (error) {
    const stripeError = error as {
      name?: string;
      type?: string;
      code?: string;
      statusCode?: number;
      requestId?: string;
    };
    logger.error("stripe.checkout_create_failed", {
      userId: input.userId,
      errorName: stripeError.name ?? "unknown",
      errorType: stripeError.type ?? null,
      stripeCode: stripeError.code ?? null,
      status: stripeError.statusCode ?? null,
      stripeRequestId: stripeError.requestId ?? null,
    });
    throw new CardTopUpError("stripe_error", "Stripe did not accept the payment request.");
  }
  if (!session.url) throw new CardTopUpError("stripe_error", "Stripe returned no payment page.");

  // The same session comes back for a repeated submission: keep one row.
  await prisma.stripeCheckout.createMany({
    data: [{ id: session.id, userId: input.userId, amount: input.amount, currency }],
    skipDuplicates: true,
  });
  logger.info("topup.card_started", { userId: input.userId, checkoutSessionId: session.id, amount: input.amount });
  return { sessionId: session.id, url: session.url };
}

// ---------------------------------------------------------------------------------------------------
// The success page
// ---------------------------------------------------------------------------------------------------

export type CheckoutState = "processing" | "pending_payment" | "paid" | "expired" | "failed" | "review";

export type CheckoutView = {
  id: string;
  amount: bigint;
  currency: string;
  state: CheckoutState;
  createdAt: Date;
};

/** One of the member's own Checkout Sessions, or null (also for someone else's session id). */
export async function getCheckoutForMember(userId: string, sessionId: string): Promise<CheckoutView | null> {
  const row = await prisma.stripeCheckout.findFirst({ where: { id: sessionId, userId } });
  if (!row) return null;
  let state: CheckoutState;
  if (row.status === "paid") state = "paid";
  else if (row.status === "expired" || row.status === "failed") state = row.status;
  else if (
    await prisma.moneyFlag.findFirst({
      where: { kind: { in: CHECKOUT_FLAG_KINDS }, reference: row.id, resolvedAt: null },
      select: { id: true },
    })
  )
    state = "review";
  // Completed but not yet paid: a bank debit or similar that settles later.
  else if (row.paymentIntentId) state = "pending_payment";
  else state = "processing";
  return { id: row.id, amount: row.amount, currency: row.currency, state, createdAt: row.createdAt };
}

// ---------------------------------------------------------------------------------------------------
// Webhook events
// ---------------------------------------------------------------------------------------------------

/** The event cannot be applied yet (it depends on one that has not arrived): answer 503 so Stripe retries. */
export class RetryLaterError extends Error {
  override name = "RetryLaterError";
}

export type StripeEventOutcome =
  | "ignored"
  | "duplicate"
  | "credited"
  | "already_credited"
  | "awaiting_payment"
  | "closed"
  | "unchanged"
  | "debited"
  | "partially_debited"
  | "already_applied"
  | "nothing_new"
  | "reinstated"
  | "flagged";

const HANDLED_EVENTS = new Set<string>([
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
  "charge.refunded",
  "charge.dispute.created",
  "charge.dispute.closed",
]);

/**
 * Applies one verified event. Unknown types are acknowledged and ignored (and not recorded); an event id
 * seen before is acknowledged without effect. Throws RetryLaterError, or any database error, to make the
 * route answer non-2xx so Stripe delivers it again.
 */
export async function handleStripeEvent(event: Stripe.Event): Promise<{ outcome: StripeEventOutcome }> {
  if (!HANDLED_EVENTS.has(event.type)) return { outcome: "ignored" };
  const seen = await prisma.stripeEvent.findUnique({ where: { id: event.id }, select: { id: true } });
  if (seen) return { outcome: "duplicate" };
  const outcome = await apply(event);
  await prisma.stripeEvent.createMany({ data: [{ id: event.id, type: event.type }], skipDuplicates: true });
  logger.info("stripe.event_applied", { eventId: event.id, type: event.type, outcome });
  return { outcome };
}

async function apply(event: Stripe.Event): Promise<StripeEventOutcome> {
  switch (event.type) {
    case "checkout.session.completed":
      // Cards are paid now; bank debits and vouchers complete "unpaid" and settle (or fail) later.
      return event.data.object.payment_status === "paid"
        ? creditCheckout(event.data.object, event.id)
        : noteAwaitingPayment(event.data.object);
    case "checkout.session.async_payment_succeeded":
      return creditCheckout(event.data.object, event.id);
    case "checkout.session.async_payment_failed":
      return closeCheckout(event.data.object, "failed");
    case "checkout.session.expired":
      return closeCheckout(event.data.object, "expired");
    case "charge.refunded":
      return applyRefund(event.data.object, event.data.previous_attributes);
    case "charge.dispute.created":
      return applyDispute(event.data.object);
    case "charge.dispute.closed":
      return applyDisputeClosed(event.data.object);
    default:
      return "ignored";
  }
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

function isOurs(metadata: Stripe.Metadata | null | undefined) {
  return metadata?.purpose === TOPUP_PURPOSE;
}

async function existingUserId(id: string | null | undefined): Promise<string | null> {
  if (!id) return null;
  const user = await prisma.user.findUnique({ where: { id }, select: { id: true } });
  return user?.id ?? null;
}

async function raiseFlag(input: {
  kind: string;
  reference: string;
  userId: string | null;
  amount: bigint;
  note: string;
}): Promise<boolean> {
  try {
    const flag = await prisma.moneyFlag.create({ data: input });
    logger.warn("money.flag_raised", {
      flagId: flag.id,
      kind: input.kind,
      reference: input.reference,
      userId: input.userId,
      amount: input.amount,
    });
    await audit({
      actorId: null,
      action: "money.flag_raised",
      targetType: "money_flag",
      targetId: flag.id,
      after: { kind: input.kind, reference: input.reference, userId: input.userId, amount: input.amount.toString() },
    });
    return true;
  } catch (error) {
    if ((error as Prisma.PrismaClientKnownRequestError).code === "P2002") return false;
    throw error;
  }
}

/** Why a completed session must not be credited as is, or null when it matches what we asked for. */
function mismatch(row: StripeCheckout, session: Stripe.Checkout.Session): string | null {
  const currency = session.currency?.toUpperCase() ?? null;
  if (currency !== row.currency) return `Paid in ${currency ?? "no currency"}, expected ${row.currency}.`;
  if (row.currency !== env.WALLET_CURRENCY) {
    return `The wallet currency is now ${env.WALLET_CURRENCY}; this payment was in ${row.currency}.`;
  }
  const paid = session.amount_total === null ? null : fromStripeAmount(session.amount_total, currency);
  if (paid !== row.amount) {
    return `Paid ${paid === null ? "no amount" : formatMoney(paid, currency)}, expected ${formatMoney(row.amount, row.currency)}.`;
  }
  const member = session.client_reference_id ?? session.metadata?.userId ?? null;
  if (member !== null && member !== row.userId) return "The session names a different member.";
  return null;
}

async function creditCheckout(session: Stripe.Checkout.Session, eventId: string): Promise<StripeEventOutcome> {
  const row = await prisma.stripeCheckout.findUnique({ where: { id: session.id } });
  const paymentIntentId = idOf(session.payment_intent);
  if (!row) {
    if (!isOurs(session.metadata) && !session.client_reference_id) return "ignored";
    const currency = session.currency?.toUpperCase();
    await raiseFlag({
      kind: FLAG_KINDS.unknownCheckout,
      reference: session.id,
      userId: await existingUserId(session.client_reference_id ?? session.metadata?.userId),
      amount: currency && session.amount_total !== null ? fromStripeAmount(session.amount_total, currency) : 0n,
      note: "Stripe reports a paid Checkout Session this server has no record of. Nothing was credited.",
    });
    return "flagged";
  }
  if (row.transferId) return "already_credited";

  const problem = mismatch(row, session);
  const user = problem
    ? null
    : await prisma.user.findUnique({ where: { id: row.userId }, select: { email: true, displayName: true } });
  if (problem || !user) {
    // Remember the payment so a later refund or dispute finds this row (and is flagged, not debited).
    if (paymentIntentId) {
      await prisma.stripeCheckout.updateMany({
        where: { id: row.id, paymentIntentId: null },
        data: { paymentIntentId },
      });
    }
    await raiseFlag({
      kind: problem ? FLAG_KINDS.checkoutMismatch : FLAG_KINDS.checkoutNoMember,
      reference: row.id,
      userId: problem ? row.userId : null,
      amount: row.amount,
      note: problem
        ? `${problem} Nothing was credited.`
        : "The member who started this top-up no longer exists. Nothing was credited.",
    });
    return "flagged";
  }

  await ensureWallet(row.userId);
  const { transferId } = await transfer({
    key: checkoutTransferKey(row.id),
    kind: CARD_TOPUP_KIND,
    description: "Card top-up",
    postings: [
      { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: -row.amount },
      { accountId: walletAccountId(row.userId), amount: row.amount },
    ],
    metadata: { checkoutSessionId: row.id, paymentIntentId, stripeEventId: eventId },
  });
  // Whoever moves the row from "not credited" to "credited" queues the receipt, in the same transaction: once,
  // even when several deliveries get here together, and still once when a crash came between the transfer
  // and this line (the next delivery gets here). Stripe's request never waits for the email provider.
  const entry = await prisma.ledgerEntry.findFirst({
    where: { transferId, accountId: walletAccountId(row.userId) },
    select: { balanceAfter: true, createdAt: true },
  });
  const receipt = await prisma.$transaction(async (tx) => {
    const claimed = await tx.stripeCheckout.updateMany({
      where: { id: row.id, transferId: null },
      data: { status: "paid", transferId, ...(paymentIntentId ? { paymentIntentId } : {}) },
    });
    if (claimed.count === 0) return null;
    const id = await queueNotification(tx, {
      kind: "topup-receipt",
      to: user.email,
      userId: row.userId,
      dedupeKey: `topup-receipt:${row.id}`,
      props: {
        displayName: user.displayName,
        amount: formatMoney(row.amount, row.currency),
        balance: formatMoney(entry?.balanceAfter ?? row.amount, row.currency),
        when: (entry?.createdAt ?? new Date()).toUTCString(),
        method: "Card (Stripe)",
        reference: row.id,
        walletUrl: `${env.APP_URL}/wallet`,
      },
    });
    return { id };
  });
  if (!receipt) return "already_credited";
  logger.info("topup.card_credited", { userId: row.userId, checkoutSessionId: row.id, transferId, amount: row.amount });
  await nudgeNotifications([receipt.id]);
  // The credit may lift the balance back over the member's low-balance threshold: re-arm the alert.
  await checkLowBalance(row.userId);
  return "credited";
}

async function noteAwaitingPayment(session: Stripe.Checkout.Session): Promise<StripeEventOutcome> {
  const paymentIntentId = idOf(session.payment_intent);
  if (paymentIntentId) {
    await prisma.stripeCheckout.updateMany({
      where: { id: session.id, paymentIntentId: null },
      data: { paymentIntentId },
    });
  }
  return "awaiting_payment";
}

async function closeCheckout(session: Stripe.Checkout.Session, status: "expired" | "failed") {
  // Never overwrites a credited session, whatever order the events come in.
  const result = await prisma.stripeCheckout.updateMany({
    where: { id: session.id, status: "open", transferId: null },
    data: { status },
  });
  return result.count ? "closed" : "unchanged";
}

/**
 * The credited checkout a refund or dispute belongs to. Throws RetryLaterError while the credit is still
 * expected (its event has not been applied yet), returns null when it never will be.
 */
async function creditedCheckout(paymentIntentId: string | null, ours: boolean) {
  const row = paymentIntentId ? await prisma.stripeCheckout.findUnique({ where: { paymentIntentId } }) : null;
  if (!row) {
    if (ours) throw new RetryLaterError("The top-up this belongs to has not been credited yet.");
    return { row: null, credited: false } as const;
  }
  if (row.transferId) return { row, credited: true } as const;
  const flagged = await prisma.moneyFlag.findFirst({
    where: { kind: { in: CHECKOUT_FLAG_KINDS }, reference: row.id },
    select: { id: true },
  });
  if (row.status === "open" && !flagged) throw new RetryLaterError("The top-up this belongs to is not credited yet.");
  return { row, credited: false } as const;
}

async function applyRefund(
  charge: Stripe.Charge,
  previous: Partial<Stripe.Charge> | undefined,
): Promise<StripeEventOutcome> {
  const currency = charge.currency.toUpperCase();
  const refundedTo = charge.amount_refunded;
  const refundedFrom = previous?.amount_refunded;
  const reference = `${charge.id}:${refundedTo}`;
  const paymentIntentId = idOf(charge.payment_intent);
  const { row, credited } = await creditedCheckout(paymentIntentId, isOurs(charge.metadata));
  if (!row) return "ignored";
  if (typeof refundedFrom !== "number" || refundedFrom > refundedTo) {
    // Each charge.refunded event says how far the refunded total moved (previous_attributes); without
    // that we cannot tell which part is new, and guessing could debit twice.
    await raiseFlag({
      kind: FLAG_KINDS.refundUnreconciled,
      reference,
      userId: row.userId,
      amount: fromStripeAmount(refundedTo, currency),
      note: `Refund on ${charge.id} without the previous refunded total; nothing was debited. Check it in Stripe.`,
    });
    return "flagged";
  }
  if (refundedTo === refundedFrom) return "nothing_new";
  const amount = fromStripeAmount(refundedTo - refundedFrom, currency);
  if (!credited || currency !== row.currency) {
    await raiseFlag({
      kind: FLAG_KINDS.refundUncredited,
      reference,
      userId: row.userId,
      amount,
      note: `Refund of ${formatMoney(amount, currency)} for top-up ${row.id}, which was never credited${
        currency !== row.currency ? ` (or is in ${row.currency})` : ""
      }. Nothing was debited.`,
    });
    return "flagged";
  }
  // The refunded total only grows, and each event covers (previous total, new total]: keyed by the new
  // total, every event debits its own slice exactly once, in whatever order the events arrive.
  return debitWallet({
    userId: row.userId,
    amount,
    key: refundTransferKey(charge.id, refundedTo),
    kind: CARD_REFUND_KIND,
    description: "Card top-up refunded",
    reversesId: row.transferId!,
    flagKind: FLAG_KINDS.refundShortfall,
    reference,
    metadata: { chargeId: charge.id, paymentIntentId, checkoutSessionId: row.id, refundedFrom, refundedTo },
  });
}

async function applyDispute(dispute: Stripe.Dispute): Promise<StripeEventOutcome> {
  // An inquiry ("warning_…") is a question from the bank: no money leaves Stripe, so none leaves the wallet.
  if (dispute.status.startsWith("warning_")) return "ignored";
  const currency = dispute.currency.toUpperCase();
  const amount = fromStripeAmount(dispute.amount, currency);
  const paymentIntentId = idOf(dispute.payment_intent);
  // A dispute arrives days or weeks after the payment; one we cannot place needs a person, not a retry.
  const { row, credited } = await creditedCheckout(paymentIntentId, false);
  if (!row || !credited || currency !== row.currency) {
    await raiseFlag({
      kind: row ? FLAG_KINDS.disputeUncredited : FLAG_KINDS.disputeUnmatched,
      reference: dispute.id,
      userId: row?.userId ?? null,
      amount,
      note: row
        ? `Dispute of ${formatMoney(amount, currency)} on top-up ${row.id}, which was never credited. Nothing was debited.`
        : `Dispute ${dispute.id} (${formatMoney(amount, currency)}) on a payment this server does not know.`,
    });
    return "flagged";
  }
  return debitWallet({
    userId: row.userId,
    amount,
    key: disputeTransferKey(dispute.id),
    kind: CARD_DISPUTE_KIND,
    description: "Card payment disputed",
    reversesId: row.transferId!,
    flagKind: FLAG_KINDS.disputeShortfall,
    reference: dispute.id,
    metadata: { disputeId: dispute.id, paymentIntentId, checkoutSessionId: row.id, reason: dispute.reason },
  });
}

/** A won dispute returns the money Stripe took back; we return to the wallet what we debited for it. */
async function applyDisputeClosed(dispute: Stripe.Dispute): Promise<StripeEventOutcome> {
  if (dispute.status !== "won") return "ignored";
  const resolved = await prisma.moneyFlag.updateMany({
    where: { kind: FLAG_KINDS.disputeShortfall, reference: dispute.id, resolvedAt: null },
    data: { resolvedAt: new Date() },
  });
  const debit = await prisma.ledgerTransfer.findUnique({
    where: { idempotencyKey: disputeTransferKey(dispute.id) },
    select: { id: true, entries: { select: { accountId: true, amount: true, account: { select: { userId: true } } } } },
  });
  const walletEntry = debit?.entries.find((entry) => entry.account.userId !== null && entry.amount < 0n);
  if (!debit || !walletEntry?.account.userId) return resolved.count ? "unchanged" : "nothing_new";
  const amount = -walletEntry.amount;
  const { replayed } = await transfer({
    key: `stripe:dispute-won:${dispute.id}`,
    kind: CARD_DISPUTE_WON_KIND,
    description: "Card dispute won: amount returned",
    reversesId: debit.id,
    postings: [
      { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: -amount },
      { accountId: walletEntry.accountId, amount },
    ],
    metadata: { disputeId: dispute.id },
  });
  if (replayed) return "already_applied";
  await checkLowBalance(walletEntry.account.userId);
  return "reinstated";
}

/**
 * Takes `amount` back from a member's wallet, keyed by `key`. When the available balance no longer
 * covers it, takes what is available (money refunded to the card must not stay spendable here) and
 * flags the shortfall for an admin: the wallet never goes negative and nothing is silently written off.
 * The decision is made once: a later replay finds the transfer or the flag and changes nothing.
 */
async function debitWallet(input: {
  userId: string;
  amount: bigint;
  key: string;
  kind: string;
  description: string;
  reversesId: string;
  flagKind: string;
  reference: string;
  metadata: Record<string, unknown>;
}): Promise<StripeEventOutcome> {
  const done = await prisma.ledgerTransfer.findUnique({
    where: { idempotencyKey: input.key },
    select: { metadata: true },
  });
  if (done) {
    // Also completes a run that crashed between its debit and its shortfall flag.
    await flagShortfall(input, debitedIn(done.metadata));
    return "already_applied";
  }
  const flagged = await prisma.moneyFlag.findUnique({
    where: { kind_reference: { kind: input.flagKind, reference: input.reference } },
    select: { id: true },
  });
  if (flagged) return "already_applied";

  const wallet = await ensureWallet(input.userId);
  let taken = 0n;
  // A concurrent charge may spend the balance between reading and debiting it: look again (briefly).
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const { available } = await getWalletBalance(input.userId);
    const take = available >= input.amount ? input.amount : available > 0n ? available : 0n;
    if (take === 0n) break;
    try {
      const result = await transfer({
        key: input.key,
        kind: input.kind,
        description: input.description,
        reversesId: input.reversesId,
        postings: [
          { accountId: wallet, amount: -take },
          { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: take },
        ],
        metadata: { ...input.metadata, requested: input.amount.toString(), debited: take.toString() },
      });
      // A concurrent delivery of the same event got there first and decides (and flags) for both.
      if (result.replayed) return "already_applied";
      taken = take;
      break;
    } catch (error) {
      if (error instanceof LedgerError && error.code === "insufficient_funds") continue;
      throw error;
    }
  }
  if (taken > 0n) {
    await audit({
      actorId: null,
      action: input.kind === CARD_REFUND_KIND ? "wallet.card_refund_debited" : "wallet.card_dispute_debited",
      targetType: "user",
      targetId: input.userId,
      after: { reference: input.reference, requested: input.amount.toString(), debited: taken.toString() },
    });
  }
  const shortfall = await flagShortfall(input, taken);
  // The debit may take the member under their low-balance threshold (an email, once).
  if (taken > 0n) await checkLowBalance(input.userId);
  if (shortfall > 0n) return taken > 0n ? "partially_debited" : "flagged";
  logger.info("topup.card_reversed", {
    userId: input.userId,
    kind: input.kind,
    reference: input.reference,
    amount: taken,
  });
  return "debited";
}

/** Flags what could not be taken back (once per kind + reference); returns the shortfall. */
async function flagShortfall(
  input: { userId: string; amount: bigint; description: string; flagKind: string; reference: string },
  taken: bigint,
): Promise<bigint> {
  const shortfall = input.amount - taken;
  if (shortfall <= 0n) return 0n;
  const currency = env.WALLET_CURRENCY;
  await raiseFlag({
    kind: input.flagKind,
    reference: input.reference,
    userId: input.userId,
    amount: shortfall,
    note: `${input.description}: ${formatMoney(input.amount, currency)} to take back, ${formatMoney(taken, currency)} was available and debited; ${formatMoney(shortfall, currency)} is still owed.`,
  });
  return shortfall;
}

function debitedIn(metadata: Prisma.JsonValue): bigint {
  const debited = (metadata as { debited?: unknown } | null)?.debited;
  return typeof debited === "string" && /^\d+$/.test(debited) ? BigInt(debited) : 0n;
}
