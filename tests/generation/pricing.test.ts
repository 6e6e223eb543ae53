import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { estimateInputTokens, priceOf, utf8Length, type Price } from "#app/utils/pricing";

// Pricing is exact integer arithmetic: the result is the true price rounded UP to a whole micro-unit.

const zero: Price = {
  inputPerMillion: 0n,
  outputPerMillion: 0n,
  cachedInputPerMillion: 0n,
  perImage: 0n,
  imagePrices: {},
  perVideoSecond: 0n,
  perThousandCharacters: 0n,
  markupBps: 0,
};

describe("priceOf", () => {
  it("charges cached tokens at the cached price and rounds up once, after the markup", () => {
    const price = {
      ...zero,
      inputPerMillion: 2_500_000n,
      cachedInputPerMillion: 1_250_000n,
      outputPerMillion: 10_000_000n,
    };
    expect(priceOf(price, { inputTokens: 1234, cachedInputTokens: 1024, outputTokens: 56 })).toBe(2_365n);
    expect(priceOf(price, { inputTokens: 1 })).toBe(3n); // 2.5 micro-units → 3
    expect(priceOf({ ...price, markupBps: 1000 }, { inputTokens: 1 })).toBe(3n); // 2.75 → 3
    expect(priceOf({ ...price, markupBps: 2000 }, { inputTokens: 1 })).toBe(3n); // 3.0 exactly
    expect(priceOf({ ...price, markupBps: 2001 }, { inputTokens: 1 })).toBe(4n);
    expect(priceOf(price, {})).toBe(0n);
  });

  it("never counts more cached tokens than input tokens", () => {
    const price = { ...zero, inputPerMillion: 1_000_000n, cachedInputPerMillion: 0n };
    expect(priceOf(price, { inputTokens: 10, cachedInputTokens: 50 })).toBe(0n);
  });

  it("uses the size/quality price, then the size price, then the default per image", () => {
    const price = { ...zero, perImage: 100n, imagePrices: { "1024x1024": 200n, "1024x1024/hd": 300n } };
    expect(priceOf(price, { images: 2 }, { size: "1024x1024", quality: "hd" })).toBe(600n);
    expect(priceOf(price, { images: 2 }, { size: "1024x1024", quality: "low" })).toBe(400n);
    expect(priceOf(price, { images: 2 }, { size: "512x512" })).toBe(200n);
  });

  it("equals the exact rational price rounded up, for any usage and prices (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          input: fc.nat(10_000_000),
          cached: fc.nat(10_000_000),
          output: fc.nat(1_000_000),
          chars: fc.nat(100_000),
          seconds: fc.nat(120),
          pin: fc.bigInt(0n, 100_000_000n),
          pcached: fc.bigInt(0n, 100_000_000n),
          pout: fc.bigInt(0n, 100_000_000n),
          pchars: fc.bigInt(0n, 1_000_000n),
          psec: fc.bigInt(0n, 10_000_000n),
          markup: fc.nat(50_000),
        }),
        (v) => {
          const price = {
            ...zero,
            inputPerMillion: v.pin,
            cachedInputPerMillion: v.pcached,
            outputPerMillion: v.pout,
            perThousandCharacters: v.pchars,
            perVideoSecond: v.psec,
            markupBps: v.markup,
          };
          const cached = Math.min(v.cached, v.input);
          const usage = {
            inputTokens: v.input,
            cachedInputTokens: v.cached,
            outputTokens: v.output,
            characters: v.chars,
            videoSeconds: v.seconds,
          };
          // Exact value as a fraction: numerator / 10^6 / 10^4.
          const numerator =
            (BigInt(v.input - cached) * v.pin +
              BigInt(cached) * v.pcached +
              BigInt(v.output) * v.pout +
              BigInt(v.chars) * v.pchars * 1000n +
              BigInt(v.seconds) * v.psec * 1_000_000n) *
            (10_000n + BigInt(v.markup));
          const charged = priceOf(price, usage);
          const denominator = 10_000_000_000n;
          // charged is the smallest integer ≥ the exact price.
          expect(charged * denominator >= numerator).toBe(true);
          expect(charged === 0n || (charged - 1n) * denominator < numerator).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("estimates", () => {
  it("bounds input tokens by UTF-8 bytes, a fixed cost per image and the context window", () => {
    const limits = { contextWindow: 1_000, tokensPerImage: 100 };
    expect(utf8Length("héllo 👋")).toBe(11);
    expect(estimateInputTokens(["héllo 👋"], [], limits)).toBe(11 + 8);
    expect(estimateInputTokens(["a"], [{ mediaType: "image/png", size: 5_000_000 }], limits)).toBe(1 + 8 + 100);
    expect(estimateInputTokens(["a"], [{ mediaType: "application/pdf", size: 5_000_000 }], limits)).toBe(1_000);
  });
});
