import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { listCatalogForAdmin } from "#app/models/catalog.server";
import { action as modelAction } from "#app/routes/admin.models.$id";
import { loader as walletLoader } from "#app/routes/wallet._index";
import { prisma } from "#app/utils/db.server";
import { parseEnv } from "#app/utils/env.server";
import { microsToDecimalString, parseAmount, parseDecimal, parseInteger } from "#app/utils/money";
import { call, createUser, fundWallet, getRequest, postRequest, signedInCookie } from "#tests/helpers";

// One parser for every amount, price, percentage and whole number people type (forms, config, CLI), with
// documented rules (docs/decisions/0016-strict-number-input.md): digits, an optional "." and decimals; no
// signs, spaces, thousands separators, exponents or hex; "1,5" is refused, never guessed.

describe("parseAmount: what is accepted", () => {
  it.each([
    ["10", "USD", 10_000_000n],
    ["10.5", "USD", 10_500_000n],
    ["10.50", "USD", 10_500_000n],
    ["0.01", "USD", 10_000n],
    ["  7.25 ", "USD", 7_250_000n],
    ["007", "USD", 7_000_000n],
    ["1500", "XAF", 1_500_000_000n],
    ["1.234", "KWD", 1_234_000n],
    ["999999999999", "USD", 999_999_999_999_000_000n],
  ])("%j in %s is %s micro-units", (text, currency, micros) => {
    expect(parseAmount(text, currency)).toEqual({ ok: true, micros });
  });

  it("takes up to 6 decimals where prices need them, zero where allowed, a sign only where allowed", () => {
    expect(parseAmount("0.000125", "USD", { precise: true })).toEqual({ ok: true, micros: 125n });
    expect(parseAmount("0", "USD", { allowZero: true })).toEqual({ ok: true, micros: 0n });
    expect(parseAmount("-2.50", "USD", { allowNegative: true })).toEqual({ ok: true, micros: -2_500_000n });
  });
});

describe("parseAmount: what is refused, each time naming the accepted form", () => {
  const USD_FORM = "Enter an amount, like 10 or 10.50 (digits, with a dot for decimals)";
  const SEPARATORS =
    "Write the amount without spaces or thousands separators, with a dot for decimals, like 10 or 10.50";
  it.each([
    ["1,5", "USD", "Use a dot for decimals, e.g. 1.5"],
    ["12,75", "USD", "Use a dot for decimals, e.g. 1.5"],
    ["1,000", "USD", SEPARATORS],
    ["1,000.50", "USD", SEPARATORS],
    ["1 000", "USD", SEPARATORS],
    ["1\u00a0000", "USD", SEPARATORS],
    ["1'000", "USD", SEPARATORS],
    ["1_000", "USD", SEPARATORS],
    ["1e3", "USD", USD_FORM],
    ["1E3", "USD", USD_FORM],
    ["0x10", "USD", USD_FORM],
    ["0b1", "USD", USD_FORM],
    ["Infinity", "USD", USD_FORM],
    ["NaN", "USD", USD_FORM],
    [".5", "USD", USD_FORM],
    ["5.", "USD", USD_FORM],
    ["1.2.3", "USD", USD_FORM],
    ["$5", "USD", USD_FORM],
    ["5 USD", "USD", USD_FORM],
    ["١٢", "USD", USD_FORM],
    ["１２", "USD", USD_FORM],
    ["+5", "USD", "Write the amount without a sign, like 10 or 10.50"],
    ["-5", "USD", "The amount must be positive, like 10 or 10.50"],
    ["", "USD", "Enter an amount, like 10 or 10.50"],
    ["   ", "USD", "Enter an amount, like 10 or 10.50"],
    ["0", "USD", "The amount must be more than zero"],
    ["0.00", "USD", "The amount must be more than zero"],
    ["10.555", "USD", "Use at most 2 decimals"],
    ["1500.5", "XAF", "XAF amounts have no decimals, like 1000"],
    ["1,5", "XAF", "Write a whole number, like 1000"],
    ["1000000000000", "USD", "That amount is too large"],
  ])("%j in %s: %s", (text, currency, error) => {
    expect(parseAmount(text, currency)).toEqual({ ok: false, error });
  });
});

describe("parseAmount: properties", () => {
  const micros = fc.bigInt({ min: 1n, max: 999_999_999_999_999_999n });

  it("reads back exactly what microsToDecimalString writes (precise), for any amount", () => {
    fc.assert(
      fc.property(micros, (amount) => {
        expect(parseAmount(microsToDecimalString(amount), "USD", { precise: true })).toEqual({
          ok: true,
          micros: amount,
        });
      }),
    );
  });

  it("in a 2-decimal currency, accepts exactly the cent amounts, and refuses finer ones", () => {
    fc.assert(
      fc.property(micros, (amount) => {
        const result = parseAmount(microsToDecimalString(amount), "USD");
        if (amount % 10_000n === 0n) expect(result).toEqual({ ok: true, micros: amount });
        else expect(result).toEqual({ ok: false, error: "Use at most 2 decimals" });
      }),
    );
  });

  it("never accepts a comma, a space inside, a letter or a second sign, whatever surrounds it", () => {
    const digits = fc.stringMatching(/^\d{1,6}$/);
    const intruder = fc.constantFrom(",", " ", "\u00a0", "e", "E", "x", "_", "'", "+", "-", "%", "$");
    fc.assert(
      fc.property(digits, intruder, digits, (left, middle, right) => {
        expect(parseAmount(`${left}${middle}${right}`, "USD").ok).toBe(false);
      }),
    );
  });

  it("never throws and never returns a negative amount without allowNegative, for any text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        const result = parseAmount(text, "USD", { allowZero: true });
        if (result.ok) {
          expect(result.micros >= 0n).toBe(true);
          expect(text.trim()).toMatch(/^\d+(\.\d{1,2})?$/);
        } else expect(result.error.length).toBeGreaterThan(10);
      }),
    );
  });

  it("agrees with a plain decimal reading for every well-formed input", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{1,9}$/), fc.stringMatching(/^\d{0,2}$/), (whole, fraction) => {
        const text = fraction ? `${whole}.${fraction}` : whole;
        const expected = BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
        const result = parseAmount(text, "USD", { allowZero: true });
        expect(result).toEqual({ ok: true, micros: expected });
      }),
    );
  });
});

describe("parseDecimal and parseInteger", () => {
  it("percentages to basis points with two decimals at most", () => {
    const percent = (text: string) =>
      parseDecimal(text, { scale: 2, maxDecimals: 2, maxWholeDigits: 4, example: "15 or 12.5" });
    expect(percent("15")).toEqual({ ok: true, value: 1500n });
    expect(percent("12.5")).toEqual({ ok: true, value: 1250n });
    expect(percent("0.01")).toEqual({ ok: true, value: 1n });
    expect(percent("12,5")).toEqual({ ok: false, error: "Use a dot for decimals, e.g. 1.5" });
    expect(percent("1e2").ok).toBe(false);
    expect(percent("12.555")).toEqual({ ok: false, error: "Use at most 2 decimals" });
    expect(percent("10000")).toEqual({ ok: false, error: "That number is too large" });
  });

  it.each([
    ["30", 30],
    [" 7 ", 7],
    ["0", 0],
  ])("integer %j is %s", (text, value) => {
    expect(parseInteger(text, { min: 0, max: 100 })).toEqual({ ok: true, value });
  });

  it.each(["0x10", "1e3", "1.0", "10 000", "1,000", "", "+5", "-5", "٣", "Infinity", "101"])(
    "integer %j is refused with the accepted range",
    (text) => {
      const result = parseInteger(text, { min: 0, max: 100 });
      expect(result).toEqual({ ok: false, error: expect.stringMatching(/^Enter a whole number from 0 to 100/) });
    },
  );

  it("integers: any safe integer in range reads back, anything else is refused", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (value) => {
        const result = parseInteger(String(value), { min: -100, max: 100 });
        expect(result.ok).toBe(value >= -100 && value <= 100);
        if (result.ok) expect(result.value).toBe(value);
      }),
    );
  });
});

describe("the same parser everywhere", () => {
  it("config: amounts and whole numbers are read strictly, with the variable named", () => {
    for (const [name, bad] of [
      ["TOPUP_MIN", "1,5"],
      ["TOPUP_MAX", "5e2"],
      ["WELCOME_CREDIT", "0x10"],
      ["TOPUP_SECOND_APPROVAL_ABOVE", "1 000"],
      ["PORT", "0x10"],
      ["PORT", "3e3"],
      ["GENERATION_TIMEOUT_SECONDS", "1.5"],
      ["CONTACT_RETENTION_DAYS", "1e2"],
      ["EXPORT_MAX_BYTES", "0x7fffffff"],
      ["DEMO_WORD_DELAY_MS", "+5"],
    ] as const) {
      expect(() => parseEnv({ [name]: bad }), `${name}=${bad}`).toThrowError(new RegExp(`${name}: `));
    }
    expect(() => parseEnv({ TOPUP_PRESETS: "5,1e2" })).toThrowError(/TOPUP_PRESETS: 1e2: Enter an amount/);
    const env = parseEnv({ PORT: "8080", GENERATION_TIMEOUT_SECONDS: "", TOPUP_MIN: "2.50" });
    expect(env).toMatchObject({ PORT: 8080, GENERATION_TIMEOUT_SECONDS: 300 });
    expect(env.topUp.min).toBe(2_500_000n);
  });

  it("admin prices and markup: a decimal comma or an exponent is refused with the accepted form", async () => {
    const admin = await createUser({ role: "admin" });
    const { cookie } = await signedInCookie(admin.id);
    await listCatalogForAdmin(); // seeds the catalog
    const model = await prisma.catalogModel.findUniqueOrThrow({ where: { id: "demo:chat" } });
    const post = (fields: Record<string, string>) =>
      call(
        modelAction,
        postRequest(`/admin/models/${model.id}`, { label: model.label, enabled: "on", ...fields }, { cookie }),
        { id: model.id },
      );
    const errorsOf = (result: { data: unknown }) =>
      (result.data as { result: { error?: Record<string, string[]> } }).result.error ?? {};

    const comma = await post({ inputPerMillion: "2,50" });
    expect(comma.status).toBe(400);
    expect(errorsOf(comma).inputPerMillion).toEqual(["Input: Use a dot for decimals, e.g. 1.5"]);
    const markup = await post({ markupPercent: "12,5" });
    expect(markup.status).toBe(400);
    expect(errorsOf(markup).markupPercent).toEqual(["Markup: Use a dot for decimals, e.g. 1.5"]);
    const exponent = await post({ markupPercent: "1e1" });
    expect(errorsOf(exponent).markupPercent).toEqual([
      "Markup: Enter a percentage, like 15 or 12.5 (digits, with a dot for decimals)",
    ]);
    const unchanged = await prisma.catalogModel.findUniqueOrThrow({ where: { id: model.id } });
    expect(unchanged).toMatchObject({ markupBps: model.markupBps, updatedAt: model.updatedAt });

    const ok = await post({ inputPerMillion: "2.50", outputPerMillion: "10", markupPercent: "12.5" });
    expect(ok.status).toBe(302);
    expect(await prisma.catalogModel.findUniqueOrThrow({ where: { id: model.id } })).toMatchObject({
      markupBps: 1250,
    });
  });

  it("a page number in the address is a whole number or the first page", async () => {
    const member = await createUser();
    const { cookie } = await signedInCookie(member.id);
    for (let index = 0; index < 30; index += 1) await fundWallet(member.id, 1_000_000n); // two pages
    const pageOf = async (page: string) => {
      const result = await call(walletLoader, getRequest(`/wallet?page=${encodeURIComponent(page)}`, { cookie }));
      expect(result.status, page).toBe(200);
      return (result.data as { statement: { page: number } }).statement.page;
    };
    expect(await pageOf("2")).toBe(2);
    for (const page of ["2e0", "0x2", "2.0", "+2", " 2x", "abc"]) expect(await pageOf(page), page).toBe(1);
  });
});
