// Money is an integer count of micro-units (10^-6) of the wallet currency, as a BigInt, end to end.
// This is the one place that turns amounts into text and text into amounts. No floats.

export const MICRO_DIGITS = 6;
export const MICROS_PER_UNIT = 1_000_000n;

/** Decimals the currency uses in everyday prices (USD 2, XAF 0, JPY 0, KWD 3). */
export function currencyDecimals(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** Exact decimal string of a micro amount: 1234500n → "1.2345". */
export function microsToDecimalString(micros: bigint): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const whole = abs / MICROS_PER_UNIT;
  const fraction = (abs % MICROS_PER_UNIT).toString().padStart(MICRO_DIGITS, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/**
 * "US$1.50", "FCFA 1,000". Shows the currency's usual decimals, and more (up to 6) only when the
 * amount has them, so a tiny generation cost reads "$0.000123" instead of "$0.00".
 */
export function formatMoney(micros: bigint, currency: string, locale = "en"): string {
  const decimals = currencyDecimals(currency);
  const formatter = new Intl.NumberFormat(locale, {
    style: "currency",
    currency,
    minimumFractionDigits: decimals,
    maximumFractionDigits: MICRO_DIGITS,
  });
  // Intl formats numeric strings exactly (no float conversion).
  return formatter.format(microsToDecimalString(micros) as unknown as number);
}

export type ParseAmountResult = { ok: true; micros: bigint } | { ok: false; error: string };

/**
 * Reads an amount typed by a person ("12", "12.50", "1 000", "1,000.5") in `currency`.
 * Refuses empty, non-numeric, negative, zero, and more decimals than the currency has.
 */
export function parseAmount(
  input: string,
  currency: string,
  /** precise: allow up to 6 decimals (limits on tiny generation costs), not just the currency's own. */
  options: { allowZero?: boolean; precise?: boolean } = {},
): ParseAmountResult {
  const decimals = options.precise ? MICRO_DIGITS : currencyDecimals(currency);
  const text = input
    .trim()
    .replace(/[\s\u00a0_]/g, "")
    .replace(/,(?=\d{3}(\D|$))/g, "");
  if (text === "") return { ok: false, error: "Enter an amount" };
  if (text.startsWith("-")) return { ok: false, error: "The amount must be positive" };
  const match = /^(\d{1,15})(?:[.,](\d+))?$/.exec(text);
  if (!match) return { ok: false, error: "Enter a number, like 10 or 10.50" };
  const [, whole = "0", fraction = ""] = match;
  if (fraction.length > decimals) {
    return {
      ok: false,
      error: decimals === 0 ? `${currency} amounts have no decimals` : `Use at most ${decimals} decimals`,
    };
  }
  const micros = BigInt(whole) * MICROS_PER_UNIT + BigInt(fraction.padEnd(MICRO_DIGITS, "0") || "0");
  if (micros === 0n && !options.allowZero) return { ok: false, error: "The amount must be more than zero" };
  return { ok: true, micros };
}

// Stripe counts most currencies in hundredths, these in whole units (stripe.com/docs/currencies).
const STRIPE_ZERO_DECIMAL = new Set("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split(" "));

/** Micro-units → the integer Stripe expects for `unit_amount`; refuses amounts Stripe cannot express. */
export function toStripeAmount(micros: bigint, currency: string): number {
  const code = currency.toUpperCase();
  const per = STRIPE_ZERO_DECIMAL.has(code) ? MICROS_PER_UNIT : MICROS_PER_UNIT / 100n;
  if (micros % per !== 0n) throw new Error(`${microsToDecimalString(micros)} ${code} is not a whole Stripe amount`);
  return Number(micros / per);
}

export function fromStripeAmount(amount: number | bigint, currency: string): bigint {
  const per = STRIPE_ZERO_DECIMAL.has(currency.toUpperCase()) ? MICROS_PER_UNIT : MICROS_PER_UNIT / 100n;
  return BigInt(amount) * per;
}
