import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// Output delivered means output charged (docs/decisions/0012): however a text stream ends after text
// reached the member (stop, disconnect, timeout, upstream error, malformed or cut-short stream), the
// member pays for the input and the output delivered, capped at the hold, and the generation is
// "partial" with its reason. Output is counted from the last usage the provider reported on the stream,
// plus an upper bound (one token per UTF-8 byte) for text it had not counted yet; never zero.
// Real route, real SDKs against wire-format fakes, real ledger.
const setup = await vi.hoisted(async () => {
  const { startFakeOpenAI } = await import("../fakes/openai-server");
  const { startFakeAnthropic } = await import("../fakes/anthropic-server");
  const { startFakeGoogle } = await import("../fakes/google-server");
  const fakes = {
    openai: await startFakeOpenAI(),
    anthropic: await startFakeAnthropic(),
    google: await startFakeGoogle(),
  };
  Object.assign(process.env, {
    OPENAI_API_KEY: "sk-test-partial",
    OPENAI_BASE_URL: fakes.openai.url,
    ANTHROPIC_API_KEY: "sk-ant-partial",
    ANTHROPIC_BASE_URL: fakes.anthropic.url,
    GEMINI_API_KEY: "gemini-partial",
    GEMINI_BASE_URL: fakes.google.url,
    // An OpenAI-compatible server on the same fake (it can ignore include_usage).
    OPENAI_COMPATIBLE_PROVIDERS: JSON.stringify([
      { id: "deepseek", label: "DeepSeek", baseURL: fakes.openai.url, models: ["deepseek-chat"] },
    ]),
    // Slow enough that a Stop after the second word arrives long before the demo's last word.
    DEMO_WORD_DELAY_MS: "50",
    GENERATION_TIMEOUT_SECONDS: "2",
    WALLET_CURRENCY: "USD",
  });
  return { fakes };
});

import { getCatalogEntry } from "#app/models/catalog.server";
import { getRevenueReport } from "#app/models/admin-reports.server";
import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { prisma } from "#app/utils/db.server";
import { estimateInputTokens, priceOf, utf8Length, type Usage } from "#app/utils/pricing";
import { DOLLAR, generate, member, readEvents, textRequest, viaRemix, type Event } from "./text-helpers";

const { fakes } = setup;

beforeEach(() => {
  fakes.openai.reset();
  fakes.anthropic.reset();
  fakes.google.reset();
});
afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});
afterAll(async () => {
  await Promise.all(Object.values(fakes).map((fake) => fake.close()));
});

/** Our upper bound on a one-message prompt's input tokens (the hold's): 8 per message + one per byte. */
async function inputBound(modelId: string, prompt: string) {
  const entry = (await getCatalogEntry(modelId))!;
  return estimateInputTokens([prompt], [], entry.capabilities);
}

async function expectCharged(generationId: string, userId: string, usage: Usage, estimated: boolean) {
  const row = await prisma.generation.findUniqueOrThrow({ where: { id: generationId } });
  expect(row.usage).toEqual(usage);
  expect(row.usageEstimated).toBe(estimated);
  const price = (await getCatalogEntry(row.modelId))!.price;
  const full = priceOf(price, usage);
  const charged = full > row.heldAmount ? row.heldAmount : full;
  expect(charged).toBeGreaterThan(0n);
  expect(row.cost).toBe(charged);
  const hold = await prisma.ledgerHold.findUniqueOrThrow({ where: { id: row.holdId! } });
  expect(hold).toMatchObject({ status: "posted", postedAmount: charged });
  expect(await getWalletBalance(userId)).toMatchObject({ balance: 5n * DOLLAR - charged, held: 0n });
  return row;
}

/** Starts a generation, reads until `deltas` pieces of text arrived, then closes the connection (Stop). */
async function stopAfter(cookie: string, fields: Record<string, string>, deltas: number) {
  const browser = new AbortController();
  const response = await viaRemix(textRequest(cookie, fields, [], browser.signal));
  const events = await readEvents(response, (seen) => seen.filter((event) => event.type === "delta").length === deltas);
  browser.abort();
  const generationId = String(events[0]!.generationId);
  const row = await vi.waitFor(
    async () => {
      const current = await prisma.generation.findUniqueOrThrow({ where: { id: generationId } });
      expect(current.status).not.toBe("running");
      return current;
    },
    { timeout: 5_000 },
  );
  return { row, events };
}

const deltaText = (events: Event[]) =>
  events
    .filter((event) => event.type === "delta")
    .map((event) => event.text)
    .join("");

describe("a stream that ends after text was delivered is charged for that text", () => {
  it("a timeout: input + delivered output, status partial with the reason, and the page says what was charged", async () => {
    const { user, cookie } = await member();
    fakes.openai.chat = {
      text: "one two three four",
      chunks: ["one", " two", " three", " four"],
      finishReason: "stop",
      usage: { prompt_tokens: 10, completion_tokens: 4 },
    };
    fakes.openai.stallNext(3); // the role chunk and two words, then silence until the 2 s timeout
    const { done, text } = await generate(cookie, { model: "openai:gpt-4o", prompt: "Count" });
    expect(text).toBe("one two");
    const usage = { inputTokens: await inputBound("openai:gpt-4o", "Count"), outputTokens: utf8Length("one two") };
    const row = await expectCharged(String(done.generationId), user.id, usage, true);
    expect(row).toMatchObject({ status: "partial", errorKind: "timeout", outputText: "one two" });
    expect(done).toMatchObject({ status: "partial", cost: String(row.cost) });
    expect(String(done.message)).toMatch(/took too long/);
    expect(String(done.message)).toMatch(/Stopped after 7 tokens: charged \$0\.0\d+\./);
  });

  it.each([
    ["an error event mid-stream", () => fakes.openai.errorEventNext()],
    ["a malformed stream", () => fakes.openai.malformedNext()],
    ["a stream cut short", () => fakes.openai.truncateNext()],
  ])("%s after the first words: partial, charged for them", async (_name, arrange) => {
    const { user, cookie } = await member();
    arrange(); // each sends the role chunk and "Hello", then fails
    const { done, text } = await generate(cookie, { model: "openai:gpt-4o", prompt: "Fail late" });
    expect(text).toBe("Hello");
    const usage = { inputTokens: await inputBound("openai:gpt-4o", "Fail late"), outputTokens: 5 };
    const row = await expectCharged(String(done.generationId), user.id, usage, true);
    expect(row).toMatchObject({ status: "partial", errorKind: "upstream", outputText: "Hello" });
    expect(String(done.message)).toMatch(/Stopped after 5 tokens: charged/);
  });

  it("the member's Stop: partial, charged for the words delivered (not a count of chunks)", async () => {
    const { user, cookie } = await member();
    fakes.openai.chat = {
      text: "Extraordinary circumstances require",
      chunks: ["Extraordinary", " circumstances", " require"],
      finishReason: "stop",
      usage: { prompt_tokens: 10, completion_tokens: 3 },
    };
    fakes.openai.stallNext(3);
    const { row, events } = await stopAfter(cookie, { model: "openai:gpt-4o", prompt: "Go" }, 2);
    await vi.waitFor(() => expect(fakes.openai.requests[0]!.closedEarly).toBe(true));
    expect(deltaText(events)).toBe("Extraordinary circumstances");
    const usage = { inputTokens: await inputBound("openai:gpt-4o", "Go"), outputTokens: 27 };
    await expectCharged(row.id, user.id, usage, true);
    expect(row).toMatchObject({ status: "partial", errorKind: "aborted", finishReason: "stopped" });
  });

  it("Gemini's big chunks: billed from the running usage it reported, not one token per chunk", async () => {
    const { user, cookie } = await member();
    fakes.google.reply = {
      text: "A long first paragraph of the answer. A second one, as long. And a third.",
      chunks: ["A long first paragraph of the answer.", " A second one, as long.", " And a third."],
      finishReason: "STOP",
      usage: { promptTokenCount: 30, candidatesTokenCount: 300 },
    };
    fakes.google.stallNext(2);
    const { row } = await stopAfter(cookie, { model: "google:gemini-2.5-flash", prompt: "Write" }, 2);
    // The fake's running count after two chunks: 300 × 60/73 characters, rounded.
    const usage = { inputTokens: 30, outputTokens: Math.round((300 * 60) / 73) };
    expect(usage.outputTokens).toBe(247);
    await expectCharged(row.id, user.id, usage, false);
    expect(row.status).toBe("partial");
  });

  it("Anthropic: the prompt as message_start counted it, the output bounded from the text after it", async () => {
    const { user, cookie } = await member();
    fakes.anthropic.reply = {
      text: "Bonjour à tous",
      chunks: ["Bonjour", " à", " tous"],
      stopReason: "end_turn",
      usage: { input_tokens: 40, output_tokens: 3, cache_read_input_tokens: 0 },
    };
    fakes.anthropic.stallNext(5); // message_start, content_block_start, ping?, deltas…
    const { row, events } = await stopAfter(cookie, { model: "anthropic:claude-sonnet-4-6", prompt: "Greet" }, 2);
    const delivered = deltaText(events);
    // message_start reported 1 output token before any text; the text after it is bounded by its bytes.
    const usage = { inputTokens: 40, cachedInputTokens: 0, outputTokens: 1 + utf8Length(delivered) };
    await expectCharged(row.id, user.id, usage, true);
    expect(row.status).toBe("partial");
  });

  it("the demo reports running usage: a stop is billed exactly", async () => {
    const { user, cookie } = await member();
    const { row, events } = await stopAfter(cookie, { model: "demo:chat", prompt: "Hello" }, 2);
    expect(row).toMatchObject({ status: "partial", errorKind: "aborted" });
    expect(deltaText(events)).toBe(row.outputText);
    // The demo counts a token per word and the prompt's words as input (1 here).
    await expectCharged(row.id, user.id, { inputTokens: 1, outputTokens: 2, cachedInputTokens: 0 }, false);
  });

  it("caps the charge at the hold and records the rest as absorbed", async () => {
    const { user, cookie } = await member();
    fakes.openai.chat = {
      text: "Pneumonoultramicroscopicsilicovolcanoconiosis again",
      chunks: ["Pneumonoultramicroscopicsilicovolcanoconiosis", " again"],
      finishReason: "stop",
      usage: { prompt_tokens: 10, completion_tokens: 2 },
    };
    fakes.openai.stallNext(2); // the role chunk and the long word, then silence
    const { row } = await stopAfter(cookie, { model: "openai:gpt-4o", prompt: "Hi", maxOutputTokens: "2" }, 1);
    expect(row.status).toBe("partial");
    expect(row.cost).toBe(row.heldAmount);
    expect(row.uncappedCost! > row.heldAmount).toBe(true);
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: 5n * DOLLAR - row.heldAmount, held: 0n });
  });
});

describe("a partial answer in a conversation", () => {
  it("stays a turn of the chat: the next message sends it to the model as the assistant's answer", async () => {
    const { cookie } = await member();
    fakes.openai.errorEventNext();
    const first = await generate(cookie, { model: "openai:gpt-4o", prompt: "First question" });
    expect(first.done.status).toBe("partial");
    const conversationId = String(first.events[0]!.conversationId);
    await generate(cookie, { model: "openai:gpt-4o", prompt: "Go on", conversationId });
    const sent = fakes.openai.requests[1]!.body.messages as Array<{ role: string; content: unknown }>;
    expect(sent.map((message) => [message.role, message.content])).toEqual([
      ["user", "First question"],
      ["assistant", "Hello"],
      ["user", "Go on"],
    ]);
  });
});

describe("only a generation that delivered nothing is free", () => {
  it.each([
    ["an upstream 500", () => fakes.openai.failNext(500, { message: "boom" })],
    ["a timeout before any text", () => fakes.openai.hangNext()],
  ])("%s: failed, the hold voided, 'you were not charged'", async (_name, arrange) => {
    const { user, cookie } = await member();
    arrange();
    const { done } = await generate(cookie, { model: "openai:gpt-4o", prompt: "Nothing?" });
    expect(done).toMatchObject({ status: "failed", cost: "0" });
    expect(String(done.message)).toMatch(/You were not charged\.$/);
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: 5n * DOLLAR, held: 0n });
  });
});

describe("a success without usage (a compatible server that ignores include_usage)", () => {
  it("is charged from the upper bound, flagged 'usage estimated' on the generation and in the revenue report", async () => {
    const { user, cookie } = await member();
    fakes.openai.ignoreIncludeUsage = true;
    fakes.openai.chat = {
      text: "Short answer.",
      finishReason: "stop",
      usage: { prompt_tokens: 1, completion_tokens: 1 },
    };
    const before = (await getRevenueReport()).usageEstimated;
    const { done, text } = await generate(cookie, { model: "deepseek:deepseek-chat", prompt: "Answer" });
    expect(text).toBe("Short answer.");
    const usage = { inputTokens: await inputBound("deepseek:deepseek-chat", "Answer"), outputTokens: 13 };
    const row = await expectCharged(String(done.generationId), user.id, usage, true);
    expect(row.status).toBe("succeeded");
    expect(done).toMatchObject({ status: "succeeded" });
    const report = await getRevenueReport();
    expect(report.usageEstimated).toBe(before + 1);
    expect(report.byModel.find((model) => model.model === "deepseek:deepseek-chat")).toMatchObject({
      usageEstimated: 1,
    });
  });
});
