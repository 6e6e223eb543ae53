// What a generation costs, from the catalog's integer prices and the provider's usage. Pure and shared by
// the server (holds and charges) and the browser (the live estimate), so both always agree.
// All prices are integer wallet micro-units; the total is rounded UP to a whole micro-unit once, at the end,
// after the markup, so no amount is ever lost to rounding and nothing is computed in floating point.

export type Modality = "text" | "image" | "speech" | "video";

export type Price = {
  /** Per million tokens. */
  inputPerMillion: bigint;
  outputPerMillion: bigint;
  cachedInputPerMillion: bigint;
  /** Per image, unless imagePrices has "size/quality" or "size" for the request. */
  perImage: bigint;
  imagePrices: Record<string, bigint>;
  perVideoSecond: bigint;
  perThousandCharacters: bigint;
  /** Basis points on top of the provider's price (1500 = 15 %). */
  markupBps: number;
};

export type Usage = {
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  images?: number;
  videoSeconds?: number;
  characters?: number;
};

export type ImageOptions = { size?: string; quality?: string };

const MILLION = 1_000_000n;
const BPS = 10_000n;

function count(value: number | undefined): bigint {
  if (value === undefined || !Number.isFinite(value) || value <= 0) return 0n;
  return BigInt(Math.ceil(value));
}

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return numerator <= 0n ? 0n : (numerator + denominator - 1n) / denominator;
}

/** The per-image price for a size and quality: "1024x1024/hd", then "1024x1024", then the default. */
export function imagePrice(price: Price, options: ImageOptions = {}): bigint {
  const { size, quality } = options;
  if (size && quality && price.imagePrices[`${size}/${quality}`] !== undefined) {
    return price.imagePrices[`${size}/${quality}`]!;
  }
  if (size && price.imagePrices[size] !== undefined) return price.imagePrices[size]!;
  return price.perImage;
}

/**
 * The price of `usage`, markup included, rounded up to a whole micro-unit.
 * Tokens follow the providers' convention: inputTokens is the whole prompt and includes the cached part.
 */
export function priceOf(price: Price, usage: Usage, image: ImageOptions = {}): bigint {
  const input = count(usage.inputTokens);
  const cached = count(usage.cachedInputTokens) > input ? input : count(usage.cachedInputTokens);
  // Everything in millionths of a micro-unit, so per-million token prices stay exact.
  const base =
    (input - cached) * price.inputPerMillion +
    cached * price.cachedInputPerMillion +
    count(usage.outputTokens) * price.outputPerMillion +
    count(usage.images) * imagePrice(price, image) * MILLION +
    count(usage.videoSeconds) * price.perVideoSecond * MILLION +
    count(usage.characters) * price.perThousandCharacters * 1_000n;
  return ceilDiv(base * (BPS + BigInt(price.markupBps)), MILLION * BPS);
}

// ---------------------------------------------------------------------------------------------
// Estimates: the most a request can cost, before it is sent. The hold is this amount.

export type EstimateFile = { mediaType: string; size: number };

export type TextLimits = {
  contextWindow: number;
  /** What one image costs in input tokens at most (vendors scale images down to a bounded size). */
  tokensPerImage: number;
};

/** Tokens added per message by chat formats (role markers, separators). */
const TOKENS_PER_MESSAGE = 8;

/** UTF-8 length: byte-level tokenizers never produce more tokens than bytes. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/**
 * An upper bound on the input tokens of a request: every byte of text counts as a token, each image as
 * `tokensPerImage`, a PDF as one token per byte of file up to the context window (PDF text is far smaller
 * than the file; the bound is generous on purpose), and the total never exceeds the context window
 * (a longer prompt would be refused by the model, not billed).
 */
export function estimateInputTokens(
  texts: string[],
  files: EstimateFile[],
  limits: TextLimits,
  /** 1 for the upper bound; 4 for a typical count (used only when a stopped stream has no usage report). */
  bytesPerToken = 1,
): number {
  let bytes = texts.reduce((sum, text) => sum + utf8Length(text), 0);
  let tokens = texts.length * TOKENS_PER_MESSAGE;
  for (const file of files) {
    if (file.mediaType.startsWith("image/")) tokens += limits.tokensPerImage;
    else bytes += file.size;
  }
  return Math.min(tokens + Math.ceil(bytes / bytesPerToken), limits.contextWindow);
}

export function estimateText(price: Price, inputTokens: number, maxOutputTokens: number): bigint {
  return priceOf(price, { inputTokens, outputTokens: maxOutputTokens });
}

/** What an image request sends: its prompt and the pictures to edit (billed as input tokens by some models). */
export type ImageInput = { prompt: string; files: EstimateFile[]; limits: TextLimits };

/**
 * The most `n` images can cost. For models that also bill input tokens (GPT Image: the prompt, and on an
 * edit the pictures sent), `input` bounds them the way text does: a token per byte of prompt and
 * `tokensPerImage` per picture. Input is sent once per request, whatever `n`.
 */
export function estimateImages(price: Price, n: number, image: ImageOptions, input?: ImageInput): bigint {
  const inputTokens =
    input && price.inputPerMillion > 0n ? estimateInputTokens([input.prompt], input.files, input.limits) : 0;
  return priceOf(price, { images: n, inputTokens }, image);
}

export function estimateSpeech(price: Price, text: string): bigint {
  return priceOf(price, { characters: countCharacters(text) });
}

export function estimateVideo(price: Price, seconds: number): bigint {
  return priceOf(price, { videoSeconds: seconds });
}

/** Characters as billed for speech: Unicode code points. */
export function countCharacters(text: string): number {
  let characters = 0;
  for (const _ of text) characters++;
  return characters;
}

// ---------------------------------------------------------------------------------------------
// What a text stream delivered, as billed (docs/decisions/0012).

/** What a text stream delivered and what the provider counted of it while streaming. */
export type Delivery = {
  /** All text that reached the member. */
  text: string;
  /** The provider's last reported usage (fields merged as its usage events came); {} when none came. */
  reported: Usage;
  /** Text delivered after the provider's last output count, which that count does not include. */
  uncounted: string;
};

/**
 * The usage to bill for what was delivered: the provider's own counts where it reported them, and our
 * upper bound where it did not (the input: `inputBound`, the hold's count; output it had not counted yet:
 * one token per UTF-8 byte, since no tokenizer makes more tokens than bytes). Text delivered is never
 * billed as zero output. `estimated` says whether any part is our bound rather than the provider's count.
 */
export function deliveredUsage(delivery: Delivery, inputBound: number): { usage: Usage; estimated: boolean } {
  const { reported } = delivery;
  let estimated = false;
  let inputTokens = reported.inputTokens;
  if (inputTokens === undefined) {
    inputTokens = inputBound;
    estimated = true;
  }
  let outputTokens = (reported.outputTokens ?? 0) + utf8Length(delivery.uncounted);
  if (delivery.uncounted !== "") estimated = true;
  if (outputTokens === 0 && delivery.text !== "") {
    outputTokens = utf8Length(delivery.text);
    estimated = true;
  }
  const usage: Usage = { inputTokens, outputTokens };
  if (reported.cachedInputTokens !== undefined) usage.cachedInputTokens = reported.cachedInputTokens;
  return { usage, estimated };
}
