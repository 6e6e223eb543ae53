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

// ---------------------------------------------------------------------------------------------
// Reading numbers people type: one strict parser for every amount, price, percentage and whole number
// (forms, config, CLI). The rules, the same everywhere (docs/decisions/0016-strict-number-input.md):
//   - spaces around the number are ignored; nothing inside it is: no spaces, no thousands separators;
//   - ASCII digits, then optionally the decimal point and at least one more digit ("10", "10.50",
//     "0.5"; not ".5", "5.", "1,5", "1 000", "1,000", "1e3", "0x10", "١٢", "Infinity");
//   - at most the field's decimals (the currency's own, or 6 for prices and limits in micro-units);
//   - no sign, except a leading "-" where the field takes negative numbers;
//   - "1,5" is never guessed: it is refused with "Use a dot for decimals, e.g. 1.5". The decimal
//     separator comes from a locale table, so French input ("1,5") can be accepted later by adding "fr".
// Every refusal names the accepted form.

/** Locales whose number input we read; the decimal separator is the only thing that differs. */
export type NumberLocale = "en";
const DECIMAL_SEPARATOR: Record<NumberLocale, string> = { en: "." };

export type ParseDecimalOptions = {
  /** The result is the number × 10^scale, as a BigInt (6 for micro-units, 2 for basis points). */
  scale: number;
  /** Most digits accepted after the decimal point (at most `scale`). */
  maxDecimals: number;
  /** Most digits before the decimal point. Default 12 (10^12 units in micro-units still fit a bigint). */
  maxWholeDigits?: number;
  allowNegative?: boolean;
  locale?: NumberLocale;
  /** An accepted input shown in messages, e.g. "10 or 10.50". */
  example: string;
  /** Message when more decimals are typed than maxDecimals allows. */
  tooManyDecimals?: string;
  /** What the field holds, for messages: "number" (default), "amount", "percentage". */
  noun?: string;
};

export type ParseDecimalResult = { ok: true; value: bigint } | { ok: false; error: string };

const THOUSANDS_LIKE = /^\d{1,3}(?:[,\s'’_\u00a0\u202f]\d{3})+(?:\.\d+)?$/;

/** Reads a decimal number typed by a person, exactly (no floats), by the rules above. */
export function parseDecimal(input: string, options: ParseDecimalOptions): ParseDecimalResult {
  const { scale, maxDecimals, maxWholeDigits = 12, example, noun = "number" } = options;
  const article = /^[aeiou]/.test(noun) ? "an" : "a";
  const separator = DECIMAL_SEPARATOR[options.locale ?? "en"];
  let text = input.trim();
  if (text === "") return { ok: false, error: `Enter ${article} ${noun}, like ${example}` };
  let negative = false;
  if (/^[-\u2212]/.test(text)) {
    if (!options.allowNegative) return { ok: false, error: `The ${noun} must be positive, like ${example}` };
    negative = true;
    text = text.slice(1);
  } else if (text.startsWith("+")) {
    return { ok: false, error: `Write the ${noun} without a sign, like ${example}` };
  }
  const escaped = separator.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`^(\\d+)(?:${escaped}(\\d+))?$`).exec(text);
  if (!match) {
    // "1,000" and "1 000" are thousands; "1,5" and "12,75" are a decimal comma. Neither is guessed.
    if (THOUSANDS_LIKE.test(text)) {
      return {
        ok: false,
        error: `Write the ${noun} without spaces or thousands separators, with a dot for decimals, like ${example}`,
      };
    }
    if (/^\d+,\d+$/.test(text)) {
      return {
        ok: false,
        error: maxDecimals === 0 ? `Write a whole number, like ${example}` : "Use a dot for decimals, e.g. 1.5",
      };
    }
    return { ok: false, error: `Enter ${article} ${noun}, like ${example} (digits, with a dot for decimals)` };
  }
  const [, whole = "", fraction = ""] = match;
  if (fraction.length > maxDecimals) {
    return {
      ok: false,
      error:
        options.tooManyDecimals ??
        (maxDecimals === 0 ? `Write a whole number, like ${example}` : `Use at most ${maxDecimals} decimals`),
    };
  }
  const digits = whole.replace(/^0+(?=\d)/, "");
  if (digits.length > maxWholeDigits) return { ok: false, error: `That ${noun} is too large` };
  const value = BigInt(digits) * 10n ** BigInt(scale) + BigInt(fraction.padEnd(scale, "0") || "0");
  return { ok: true, value: negative ? -value : value };
}

export type ParseAmountResult = { ok: true; micros: bigint } | { ok: false; error: string };

/** An accepted amount in `decimals`, for messages: "1000", "10 or 10.50", "2.50 or 0.000125". */
export function amountExample(decimals: number): string {
  if (decimals === 0) return "1000";
  if (decimals >= MICRO_DIGITS) return "2.50 or 0.000125";
  return `10 or 10.${"5".padEnd(decimals, "0")}`;
}

/**
 * Reads an amount of `currency` typed by a person ("12", "12.50") into micro-units, by the rules above.
 * Refuses empty, zero (unless allowZero), negative (unless allowNegative), and more decimals than the
 * currency has (or 6 with `precise`, for prices and limits in micro-units).
 */
export function parseAmount(
  input: string,
  currency: string,
  options: { allowZero?: boolean; allowNegative?: boolean; precise?: boolean; locale?: NumberLocale } = {},
): ParseAmountResult {
  const decimals = options.precise ? MICRO_DIGITS : currencyDecimals(currency);
  const example = amountExample(decimals);
  const parsed = parseDecimal(input, {
    scale: MICRO_DIGITS,
    maxDecimals: decimals,
    allowNegative: options.allowNegative,
    locale: options.locale,
    example,
    noun: "amount",
    tooManyDecimals:
      decimals === 0 ? `${currency} amounts have no decimals, like ${example}` : `Use at most ${decimals} decimals`,
  });
  if (!parsed.ok) return parsed;
  if (parsed.value === 0n && !options.allowZero) return { ok: false, error: "The amount must be more than zero" };
  return { ok: true, micros: parsed.value };
}

export type ParseIntegerResult = { ok: true; value: number } | { ok: false; error: string };

/**
 * Reads a whole number typed by a person or set in config: ASCII digits only (a leading "-" only when
 * `min` is negative), within [min, max]. "0x10", "1e3", "1.0", "10 000" and "" are refused.
 */
export function parseInteger(input: string, { min, max }: { min: number; max: number }): ParseIntegerResult {
  const range = `a whole number from ${min} to ${max}`;
  const text = input.trim();
  if (!(min < 0 ? /^-?\d{1,16}$/ : /^\d{1,16}$/).test(text)) return { ok: false, error: `Enter ${range}, in digits` };
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) return { ok: false, error: `Enter ${range}` };
  return { ok: true, value: Object.is(value, -0) ? 0 : value };
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
