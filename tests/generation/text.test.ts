import { parseWithZod } from "@conform-to/zod/v4";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// Text generation end to end: the real route action, the real OpenAI SDK against a local fake that speaks
// OpenAI's wire format, the real ledger in PostgreSQL. Env is set before the app modules load.
const setup = await vi.hoisted(async () => {
  const { startFakeOpenAI } = await import("../fakes/openai-server");
  const fake = await startFakeOpenAI();
  process.env.OPENAI_API_KEY = "sk-test-generation";
  process.env.OPENAI_BASE_URL = fake.url;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.GENERATION_TIMEOUT_SECONDS = "2";
  process.env.WALLET_CURRENCY = "USD";
  return { fake };
});

import { getCatalogEntry } from "#app/models/catalog.server";
import { checkInvariants, getWalletBalance, walletAccountId } from "#app/models/ledger.server";
import { action } from "#app/routes/api.generate.text";
import { action as generateAction } from "#app/routes/generate";
import { compareSchema, refusalEntry } from "#app/utils/generation-form";
import { prisma } from "#app/utils/db.server";
import { setLogSink } from "#app/utils/logger.server";
import { priceOf } from "#app/utils/pricing";
import { ONE_PIXEL_PNG_BASE64 } from "#tests/fakes/openai-server";
import { BASE_URL, call, createUser, fundWallet, signedInCookie } from "#tests/helpers";

const { fake } = setup;
const DOLLAR = 1_000_000n;

beforeEach(() => fake.reset());
afterEach(async () => {
  const report = await checkInvariants();
  expect(report.problems).toEqual([]);
});
afterAll(async () => {
  await fake.close();
});

async function member(balance = 5n * DOLLAR) {
  const user = await createUser();
  if (balance > 0n) await fundWallet(user.id, balance);
  const { cookie } = await signedInCookie(user.id);
  return { user, cookie };
}

let requestCounter = 0;
function requestId() {
  requestCounter += 1;
  return `req${process.pid}x${requestCounter}x${Math.random().toString(36).slice(2, 10)}`;
}

type Fields = Record<string, string>;
type Event = { type: string; [key: string]: unknown };

function textRequest(
  cookie: string,
  fields: Fields,
  files: Array<{ name: string; bytes: Uint8Array; filename: string }> = [],
  signal?: AbortSignal,
) {
  const body = new FormData();
  for (const [key, value] of Object.entries({ requestId: requestId(), ...fields })) body.append(key, value);
  for (const file of files) body.append(file.name, new Blob([Buffer.from(file.bytes)]), file.filename);
  return new Request(`${BASE_URL}/api/generate/text`, {
    method: "POST",
    body,
    headers: { cookie, origin: BASE_URL },
    signal,
  });
}

async function send(request: Request): Promise<Response> {
  try {
    return (await action({ request, params: {}, context: { clientIp: "203.0.113.9" } })) as Response;
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

/** A refusal: always a real Response (a resource route's data() would reach the browser as a 200). */
async function refusal(
  result: unknown,
): Promise<{ status: number; body: { error: string; field: string | null; code: string } }> {
  expect(result).toBeInstanceOf(Response);
  const response = result as Response;
  return { status: response.status, body: await response.json() };
}

async function readEvents(response: Response, until?: (events: Event[]) => boolean): Promise<Event[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: Event[] = [];
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      events.push(JSON.parse(buffer.slice(0, newline)) as Event);
      buffer = buffer.slice(newline + 1);
    }
    if (until?.(events)) {
      await reader.cancel();
      break;
    }
  }
  return events;
}

async function generate(cookie: string, fields: Fields, files: Parameters<typeof textRequest>[2] = []) {
  const response = await send(textRequest(cookie, fields, files));
  expect(response).toBeInstanceOf(Response);
  const events = await readEvents(response);
  const done = events.find((event) => event.type === "done")!;
  return {
    events,
    done,
    text: events
      .filter((event) => event.type === "delta")
      .map((event) => event.text)
      .join(""),
  };
}

async function price(modelId: string) {
  return (await getCatalogEntry(modelId))!.price;
}

describe("text generation through /api/generate/text", () => {
  it("streams the demo reply and charges exactly usage × catalog price", async () => {
    const { user, cookie } = await member();
    const { events, done, text } = await generate(cookie, { model: "demo:chat", prompt: "Tell me about wallets" });
    expect(events[0]).toMatchObject({ type: "start", model: "Demo chat" });
    expect(events.filter((event) => event.type === "delta").length).toBeGreaterThan(5);
    expect(done).toMatchObject({ type: "done", status: "succeeded", text, message: null });

    const row = await prisma.generation.findUniqueOrThrow({ where: { id: String(done.generationId) } });
    expect(row.outputText).toBe(text);
    expect(row.firstOutputAt!.getTime()).toBeGreaterThanOrEqual(row.startedAt!.getTime());
    expect(row.firstOutputAt!.getTime()).toBeLessThanOrEqual(row.finishedAt!.getTime());
    const usage = row.usage as { inputTokens: number; outputTokens: number };
    const expected = priceOf(await price("demo:chat"), usage);
    expect(expected).toBeGreaterThan(0n);
    expect(row.cost).toBe(expected);
    expect(BigInt(String(done.cost))).toBe(expected);
    expect(row.cost!).toBeLessThanOrEqual(row.heldAmount);
    const balance = await getWalletBalance(user.id);
    expect(balance.balance).toBe(5n * DOLLAR - expected);
    expect(balance.held).toBe(0n);
    const hold = await prisma.ledgerHold.findUniqueOrThrow({ where: { id: row.holdId! } });
    expect(hold).toMatchObject({ status: "posted", postedAmount: expected });
  });

  it("bills an OpenAI answer from the reported usage, cached tokens at the cached price, to the micro-unit", async () => {
    const { user, cookie } = await member();
    fake.chat = {
      text: "Cached answer.",
      chunks: ["Cached", " answer", "."],
      finishReason: "stop",
      usage: { prompt_tokens: 1234, completion_tokens: 56, cached_tokens: 1024 },
    };
    const { done, text } = await generate(cookie, { model: "openai:gpt-4o", prompt: "Hello" });
    expect(text).toBe("Cached answer.");
    // (1234 − 1024) × $2.50/M + 1024 × $1.25/M + 56 × $10/M = $0.002365
    expect(BigInt(String(done.cost))).toBe(2_365n);
    expect((await getWalletBalance(user.id)).balance).toBe(5n * DOLLAR - 2_365n);
    expect(
      priceOf(await price("openai:gpt-4o"), { inputTokens: 1234, cachedInputTokens: 1024, outputTokens: 56 }),
    ).toBe(2_365n);
  });

  it("sends the model nothing that identifies the member, and logs neither prompt nor answer", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const { user, cookie } = await member();
      fake.chat = {
        text: "SECRET-OUTPUT-7731 here.",
        finishReason: "stop",
        usage: { prompt_tokens: 5, completion_tokens: 3 },
      };
      const { done } = await generate(cookie, { model: "openai:gpt-4o", prompt: "SECRET-PROMPT-4410 please" });
      expect(done.status).toBe("succeeded");
      const sent = JSON.stringify(fake.requests.map((request) => ({ body: request.body, headers: request.headers })));
      expect(sent).toContain("SECRET-PROMPT-4410");
      for (const identifier of [user.id, user.email, user.displayName]) expect(sent).not.toContain(identifier);
      expect(fake.requests[0]!.body).not.toHaveProperty("user");
      expect(fake.requests[0]!.body).not.toHaveProperty("safety_identifier");
      expect(fake.requests[0]!.body).not.toHaveProperty("metadata");
      const logs = lines.join("\n");
      expect(logs).toContain("generation.settled");
      expect(logs).not.toContain("SECRET-PROMPT-4410");
      expect(logs).not.toContain("SECRET-OUTPUT-7731");
    } finally {
      setLogSink(null);
    }
  });

  // A stream that fails after some text was delivered is charged for it: tests/generation/partial-billing.test.ts.
  it.each([
    ["an upstream 500", () => fake.failNext(500, { message: "boom", type: "server_error" })],
    ["a timeout before any text", () => fake.hangNext()],
  ])("refunds the whole hold after %s and says so", async (_name, arrange) => {
    const { user, cookie } = await member();
    arrange();
    const { done } = await generate(cookie, { model: "openai:gpt-4o", prompt: "Will this fail?" });
    expect(done.status).toBe("failed");
    expect(done.cost).toBe("0");
    expect(String(done.message)).toMatch(/You were not charged\.$/);
    const balance = await getWalletBalance(user.id);
    expect(balance).toMatchObject({ balance: 5n * DOLLAR, held: 0n });
    const row = await prisma.generation.findUniqueOrThrow({ where: { id: String(done.generationId) } });
    expect(row).toMatchObject({ status: "failed", cost: 0n });
    expect((await prisma.ledgerHold.findUniqueOrThrow({ where: { id: row.holdId! } })).status).toBe("voided");
  });

  it("stops the upstream call when the browser disconnects and charges only what was produced", async () => {
    const { user, cookie } = await member();
    fake.chat = {
      text: "one two three four five six",
      chunks: ["one", " two", " three", " four", " five", " six"],
      finishReason: "stop",
      usage: { prompt_tokens: 10, completion_tokens: 6 },
    };
    fake.stallNext(3); // role chunk + two words, then silence
    const browser = new AbortController();
    const response = await send(textRequest(cookie, { model: "openai:gpt-4o", prompt: "Count" }, [], browser.signal));
    const events = await readEvents(response, (seen) => seen.filter((event) => event.type === "delta").length === 2);
    const generationId = String(events[0]!.generationId);
    browser.abort();

    const row = await vi.waitFor(async () => {
      const current = await prisma.generation.findUniqueOrThrow({ where: { id: generationId } });
      expect(current.status).toBe("partial");
      return current;
    });
    await vi.waitFor(() => expect(fake.requests[0]!.closedEarly).toBe(true));
    expect(row).toMatchObject({ outputText: "one two", errorKind: "aborted", usageEstimated: true });
    // OpenAI reports usage only at the end: the delivered text is billed at its upper bound, a token a byte.
    const usage = row.usage as { inputTokens: number; outputTokens: number };
    expect(usage.outputTokens).toBe(7);
    const expected = priceOf(await price("openai:gpt-4o"), usage);
    expect(row.cost).toBe(expected);
    expect(expected).toBeGreaterThan(0n);
    expect(expected).toBeLessThan(row.heldAmount);
    expect((await getWalletBalance(user.id)).balance).toBe(5n * DOLLAR - expected);
  });

  it("refuses without enough balance: 402 with a top-up hint, nothing sent upstream, nothing kept", async () => {
    const { user, cookie } = await member(0n);
    const result = await refusal(await send(textRequest(cookie, { model: "openai:gpt-4o", prompt: "Hi" })));
    expect(result.status).toBe(402);
    expect(result.body).toMatchObject({ code: "insufficient_funds" });
    expect(result.body.error).toMatch(/Top up your wallet/);
    expect(fake.requests).toHaveLength(0);
    expect(await prisma.generation.count({ where: { userId: user.id } })).toBe(0);
    expect(await prisma.conversation.count({ where: { userId: user.id } })).toBe(0);
  });

  it("treats a repeated submit (same request id) as one generation and one charge", async () => {
    const { user, cookie } = await member();
    const fields = { requestId: requestId(), model: "openai:gpt-4o", prompt: "Once only" };
    const first = await generate(cookie, fields);
    const second = await generate(cookie, fields);
    expect(second.done.generationId).toBe(first.done.generationId);
    expect(second.done.text).toBe(first.done.text);
    expect(fake.requests).toHaveLength(1);
    expect(await prisma.generation.count({ where: { userId: user.id } })).toBe(1);
    expect((await getWalletBalance(user.id)).balance).toBe(5n * DOLLAR - BigInt(String(first.done.cost)));
  });

  it("treats a double click (the same request id twice at once) as one generation, one hold and one charge", async () => {
    const { user, cookie } = await member();
    const fields = { requestId: requestId(), model: "openai:gpt-4o", prompt: "Clicked twice" };
    const [first, second] = await Promise.all([generate(cookie, fields), generate(cookie, fields)]);
    expect(second.done.generationId).toBe(first.done.generationId);
    expect(fake.requests).toHaveLength(1);
    const rows = await prisma.generation.findMany({ where: { userId: user.id } });
    expect(rows).toHaveLength(1);
    const holds = await prisma.ledgerHold.findMany({ where: { accountId: walletAccountId(user.id) } });
    expect(holds).toHaveLength(1);
    expect(rows[0]!.holdId).toBe(holds[0]!.id);
    expect(holds[0]!.metadata).toEqual({ generationId: rows[0]!.id });
    const charged = rows[0]!.cost!;
    expect(charged).toBeGreaterThan(0n);
    expect((await getWalletBalance(user.id)).balance).toBe(5n * DOLLAR - charged);
  });

  it("keeps one generation per request id however many submits of it race (ten rounds of four at once)", async () => {
    const { user, cookie } = await member();
    for (let round = 0; round < 10; round++) {
      const fields = { requestId: requestId(), model: "openai:gpt-4o", prompt: `Clicked four times, round ${round}` };
      const results = await Promise.all([1, 2, 3, 4].map(() => generate(cookie, fields)));
      expect(new Set(results.map((result) => result.done.generationId)).size).toBe(1);
    }
    expect(fake.requests).toHaveLength(10);
    expect(await prisma.generation.count({ where: { userId: user.id } })).toBe(10);
    expect(await prisma.ledgerHold.count({ where: { accountId: walletAccountId(user.id) } })).toBe(10);
  });

  it("fits the request under the member's cost cap by asking for fewer tokens, or refuses", async () => {
    const { cookie } = await member();
    const { events, done } = await generate(cookie, {
      model: "openai:gpt-4o",
      prompt: "Short",
      maxOutputTokens: "4000",
      costCap: "0.001",
    });
    const start = events[0]!;
    expect(Number(start.maxOutputTokens)).toBeLessThan(4000);
    expect(BigInt(String(start.held))).toBeLessThanOrEqual(1_000n);
    expect(fake.requests[0]!.body.max_completion_tokens).toBe(start.maxOutputTokens);
    expect(done.status).toBe("succeeded");

    const tooSmall = await refusal(
      await send(textRequest(cookie, { model: "openai:gpt-4o", prompt: "Short", costCap: "0.000001" })),
    );
    expect(tooSmall.status).toBe(400);
    expect(tooSmall.body).toMatchObject({ field: "costCap", code: "over_cap" });
  });

  it("refuses unknown and unavailable models and bad fields with a specific message", async () => {
    const { cookie } = await member();
    const unknown = await refusal(await send(textRequest(cookie, { model: "openai:gpt-nonexistent", prompt: "Hi" })));
    expect(unknown).toMatchObject({ status: 404, body: { field: "model", code: "unknown_model" } });
    const unavailable = await refusal(
      await send(textRequest(cookie, { model: "anthropic:claude-sonnet-4-6", prompt: "Hi" })),
    );
    expect(unavailable).toMatchObject({ status: 400, body: { field: "model", code: "unavailable" } });
    expect(unavailable.body.error).toMatch(/unavailable/i);
    const wrongKind = await refusal(await send(textRequest(cookie, { model: "demo:image", prompt: "Hi" })));
    expect(wrongKind).toMatchObject({ status: 400, body: { field: "model", code: "wrong_modality" } });
    const empty = await refusal(await send(textRequest(cookie, { model: "demo:chat", prompt: "   " })));
    expect(empty).toMatchObject({ status: 400, body: { field: "prompt", error: "Write a prompt" } });
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses files of the wrong type or too large for the model before any charge", async () => {
    const { user, cookie } = await member();
    const binary = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]);
    const wrong = await refusal(
      await send(
        textRequest(cookie, { model: "openai:gpt-4o", prompt: "Read" }, [
          { name: "file0", bytes: binary, filename: "run.pdf" },
        ]),
      ),
    );
    expect(wrong).toMatchObject({ status: 415, body: { field: "files", code: "file_type" } });
    const big = new Uint8Array(11 * 1024 * 1024).fill(0x61); // 11 MB of "a": text, but over the 10 MB model limit
    const tooBig = await refusal(
      await send(
        textRequest(cookie, { model: "openai:gpt-4o", prompt: "Read" }, [
          { name: "file0", bytes: big, filename: "a.txt" },
        ]),
      ),
    );
    expect(tooBig).toMatchObject({ status: 413, body: { field: "files", code: "file_size" } });
    const noFiles = await refusal(
      await send(
        textRequest(cookie, { model: "deepseek:deepseek-chat", prompt: "Read" }, [
          { name: "file0", bytes: new TextEncoder().encode("hi"), filename: "a.txt" },
        ]),
      ),
    );
    expect(noFiles.status).toBe(400);
    expect(fake.requests).toHaveLength(0);
    expect((await getWalletBalance(user.id)).held).toBe(0n);
    expect(await prisma.storedFile.count({ where: { ownerId: user.id } })).toBe(0);
  });

  it("sends attached images and text files to the model and keeps them with the generation", async () => {
    const { user, cookie } = await member();
    const png = Uint8Array.from(
      Buffer.from(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC",
        "base64",
      ),
    );
    const { done } = await generate(cookie, { model: "openai:gpt-4o", prompt: "Describe" }, [
      { name: "file0", bytes: png, filename: "dot.png" },
      { name: "file1", bytes: new TextEncoder().encode("col1,col2\n1,2\n"), filename: "data.csv" },
    ]);
    expect(done.status).toBe("succeeded");
    const content = fake.requests[0]!.body.messages.at(-1).content as Array<{ type: string; [key: string]: unknown }>;
    expect(content.map((part) => part.type)).toEqual(["text", "image_url", "text"]);
    expect(JSON.stringify(content[2])).toContain("col1,col2");
    const files = await prisma.generationFile.findMany({
      where: { generationId: String(done.generationId) },
      include: { file: true },
      orderBy: { position: "asc" },
    });
    expect(files.map((link) => [link.role, link.file.mediaType, link.file.ownerId])).toEqual([
      ["input", "image/png", user.id],
      ["input", "text/csv", user.id],
    ]);
  });

  it("continues a conversation with the earlier turns, and regenerates the last answer in place", async () => {
    const { cookie } = await member();
    fake.chat = { text: "First answer.", finishReason: "stop", usage: { prompt_tokens: 5, completion_tokens: 2 } };
    const first = await generate(cookie, { model: "openai:gpt-4o", prompt: "First question" });
    const conversationId = String(first.events[0]!.conversationId);
    expect(conversationId).toMatch(/\w+/);

    fake.chat = { text: "Second answer.", finishReason: "stop", usage: { prompt_tokens: 9, completion_tokens: 2 } };
    const second = await generate(cookie, { model: "openai:gpt-4o", prompt: "Second question", conversationId });
    expect(second.events[0]!.conversationId).toBe(conversationId);
    const sent = fake.requests[1]!.body.messages as Array<{ role: string; content: unknown }>;
    expect(sent.map((message) => [message.role, message.content])).toEqual([
      ["user", "First question"],
      ["assistant", "First answer."],
      ["user", "Second question"],
    ]);

    fake.chat = {
      text: "Better second answer.",
      finishReason: "stop",
      usage: { prompt_tokens: 9, completion_tokens: 3 },
    };
    const again = await generate(cookie, {
      model: "openai:gpt-4o",
      prompt: "ignored: the original prompt is used",
      regeneratesId: String(second.done.generationId),
    });
    const resent = fake.requests[2]!.body.messages as Array<{ role: string; content: unknown }>;
    expect(resent.map((message) => message.content)).toEqual(["First question", "First answer.", "Second question"]);
    const row = await prisma.generation.findUniqueOrThrow({ where: { id: String(again.done.generationId) } });
    expect(row).toMatchObject({ conversationId, regeneratesId: second.done.generationId, prompt: "Second question" });
  });

  it("answers 404 for another member's conversation and nothing is charged", async () => {
    const owner = await member();
    const first = await generate(owner.cookie, { model: "demo:chat", prompt: "Mine" });
    const intruder = await member();
    const result = await refusal(
      await send(
        textRequest(intruder.cookie, {
          model: "demo:chat",
          prompt: "Let me in",
          conversationId: String(first.events[0]!.conversationId),
        }),
      ),
    );
    expect(result.status).toBe(404);
    const regenerate = await refusal(
      await send(
        textRequest(intruder.cookie, {
          model: "demo:chat",
          prompt: "x",
          regeneratesId: String(first.done.generationId),
        }),
      ),
    );
    expect(regenerate.status).toBe(404);
    expect((await getWalletBalance(intruder.user.id)).balance).toBe(5n * DOLLAR);
  });

  it("never overdraws one wallet under 100 concurrent generations", async () => {
    const { user, cookie } = await member(DOLLAR / 100n); // $0.01
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await send(textRequest(cookie, { model: "demo:chat", prompt: "Go", maxOutputTokens: "2000" }));
        if (!(response instanceof Response) || response.status !== 200) return (await refusal(response)).status;
        const events = await readEvents(response);
        return events.find((event) => event.type === "done")!.status;
      }),
    );
    const succeeded = results.filter((result) => result === "succeeded").length;
    const refused = results.filter((result) => result === 402).length;
    expect(succeeded + refused).toBe(100);
    expect(succeeded).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    const balance = await getWalletBalance(user.id);
    expect(balance.balance).toBeGreaterThanOrEqual(0n);
    expect(balance.held).toBe(0n);
    const charged = await prisma.generation.aggregate({ where: { userId: user.id }, _sum: { cost: true } });
    expect(balance.balance).toBe(DOLLAR / 100n - (charged._sum.cost ?? 0n));
  });
});

type Part = [name: string, value: string | { filename: string; type: string; bytes: Uint8Array }];

/**
 * The request a browser without JavaScript sends for the /generate form, byte for byte: the fields in page
 * order, then one part per file input (an input left empty is still sent, with no file name and no bytes).
 */
function plainFormPost(cookie: string, parts: Part[]) {
  const boundary = `----WebKitFormBoundary${Math.random().toString(36).slice(2, 18)}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of parts) {
    if (typeof value === "string") {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
      continue;
    }
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${value.filename}"\r\n` +
          `Content-Type: ${value.type}\r\n\r\n`,
      ),
      Buffer.from(value.bytes),
      Buffer.from("\r\n"),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return call(
    generateAction as never,
    new Request(`${BASE_URL}/generate`, {
      method: "POST",
      body: Buffer.concat(chunks),
      headers: { cookie, origin: BASE_URL, "content-type": `multipart/form-data; boundary=${boundary}` },
    }),
  );
}

const PNG = new Uint8Array(Buffer.from(ONE_PIXEL_PNG_BASE64, "base64"));
const PDF = new TextEncoder().encode("%PDF-1.4\n%fake\n");
const NO_FILE = { filename: "", type: "application/octet-stream", bytes: new Uint8Array() };

describe("the /chat and /compare forms", () => {
  it("check the fields with the shared schema and show the endpoint's refusals under their fields", async () => {
    const { cookie } = await member(0n);
    const fieldsOf = (entries: Record<string, string>) => {
      const form = new FormData();
      for (const [key, value] of Object.entries(entries)) form.set(key, value);
      return form;
    };
    // /compare: the generation form's checks for two models, which must differ; every error at once.
    const compare = parseWithZod(
      fieldsOf({ left: "demo:chat", right: "demo:chat", prompt: "  ", maxOutputTokens: "0" }),
      { schema: compareSchema("USD") },
    );
    expect(compare.status).toBe("error");
    expect(compare.reply().error).toEqual({
      prompt: ["Write a prompt"],
      maxOutputTokens: ["At least 1"],
      right: ["Choose two different models"],
    });
    const fine = parseWithZod(fieldsOf({ left: "demo:chat", right: "demo:chat-mini", prompt: "Hi" }), {
      schema: compareSchema("USD"),
    });
    expect(fine.status).toBe("success");

    // The endpoint's refusals ({ error, field }) under the field each form shows, else for the whole form.
    const chatFields = ["model", "prompt", "files"];
    const compareFields = ["left", "right", "prompt", "maxOutputTokens"];
    const shown = async (fields: Fields, shownFields: string[], names?: Record<string, string>) => {
      const { body } = await refusal(await send(textRequest(cookie, fields)));
      return refusalEntry({ message: body.error, field: body.field }, shownFields, names);
    };
    expect(await shown({ model: "demo:chat", prompt: "   " }, chatFields)).toEqual(["prompt", "Write a prompt"]);
    const unknown = await shown({ model: "openai:gpt-nonexistent", prompt: "Hi" }, compareFields, {
      model: "right",
    });
    expect(unknown).toEqual(["right", expect.any(String)]);
    // Not enough balance is about no one field.
    const broke = await shown({ model: "demo:chat", prompt: "Hi" }, chatFields);
    expect(broke).toEqual(["", expect.stringMatching(/available balance/)]);
    // A hidden field's error (the conversation id) is shown for the whole form.
    const badId = await shown({ model: "demo:chat", prompt: "Hi", conversationId: "not an id!" }, chatFields);
    expect(badId).toEqual(["", "Invalid id"]);
    expect(fake.requests).toHaveLength(0);
  });
});

describe("the /generate form without JavaScript", () => {
  it("sends several attachments (one file input each): all read, sniffed, sent to the model and kept", async () => {
    const { user, cookie } = await member();
    const result = await plainFormPost(cookie, [
      ["requestId", requestId()],
      ["model", "openai:gpt-4o"],
      ["prompt", "Compare these three"],
      ["file0", { filename: "pixel.png", type: "image/png", bytes: PNG }],
      ["file1", { filename: "report.pdf", type: "application/pdf", bytes: PDF }],
      ["file2", { filename: "notes.md", type: "text/markdown", bytes: new TextEncoder().encode("# Notes\nTwo") }],
      ["file3", NO_FILE],
      ["file4", NO_FILE],
      ["maxOutputTokens", "200"],
      ["temperature", ""],
      ["costCap", ""],
    ]);
    // The answer ran to the end on the server; the member lands on its page.
    expect(result.status).toBe(302);
    const id = result.location!.replace("/history/", "");
    const row = await prisma.generation.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ userId: user.id, status: "succeeded", modelId: "openai:gpt-4o" });
    const inputs = await prisma.generationFile.findMany({
      where: { generationId: id, role: "input" },
      include: { file: true },
      orderBy: { position: "asc" },
    });
    expect(inputs.map((link) => [link.file.originalName, link.file.mediaType])).toEqual([
      ["pixel.png", "image/png"],
      ["report.pdf", "application/pdf"],
      ["notes.md", "text/markdown"],
    ]);
    const sent = fake.requests.at(-1)!.body.messages.at(-1).content;
    expect(sent).toEqual([
      { type: "text", text: "Compare these three" },
      { type: "image_url", image_url: { url: `data:image/png;base64,${ONE_PIXEL_PNG_BASE64}` } },
      {
        type: "file",
        file: {
          filename: "report.pdf",
          file_data: `data:application/pdf;base64,${Buffer.from(PDF).toString("base64")}`,
        },
      },
      { type: "text", text: "notes.md:\n\n# Notes\nTwo" },
    ]);
    expect((await getWalletBalance(user.id)).balance).toBe(5n * DOLLAR - row.cost!);
  });

  it("refuses one bad file among several before any charge, the error under the attachments and the form kept", async () => {
    const { user, cookie } = await member();
    const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]);
    const result = await plainFormPost(cookie, [
      ["requestId", requestId()],
      ["model", "openai:gpt-4o"],
      ["prompt", "Read both"],
      ["file0", { filename: "pixel.png", type: "image/png", bytes: PNG }],
      ["file1", { filename: "run.pdf", type: "application/pdf", bytes: elf }],
      ["file2", NO_FILE],
      ["costCap", "0.50"],
    ]);
    expect(result.status).toBe(415);
    expect(result.data).toMatchObject({
      code: "file_type",
      field: "files",
      // Conform's result for the form: the message under the attachments, what was typed sent back.
      result: {
        status: "error",
        error: { files: ["run.pdf is not a type any model here can read."] },
        initialValue: { model: "openai:gpt-4o", prompt: "Read both", costCap: "0.50" },
      },
    });
    expect((result.data as { result: { initialValue: object } }).result.initialValue).not.toHaveProperty("requestId");

    // Six files are more than the form has inputs for: the request is refused whole.
    const six = await plainFormPost(cookie, [
      ["requestId", requestId()],
      ["model", "openai:gpt-4o"],
      ["prompt", "Read all"],
      ...Array.from({ length: 6 }, (_, index): Part => [
        `file${index}`,
        { filename: `${index}.png`, type: "image/png", bytes: PNG },
      ]),
    ]);
    expect(six).toMatchObject({
      status: 400,
      data: { code: "malformed", result: { error: { "": [expect.any(String)] } } },
    });

    // Fields checked with the same schema as in the browser, every error under its field.
    const invalid = await plainFormPost(cookie, [
      ["requestId", requestId()],
      ["model", "openai:gpt-4o"],
      ["prompt", "   "],
      ["maxOutputTokens", "0"],
      ["temperature", "3"],
      ["costCap", "lots"],
    ]);
    expect(invalid).toMatchObject({ status: 400, data: { code: "invalid", field: "prompt", error: "Write a prompt" } });
    expect((invalid.data as { result: { error: Record<string, string[]> } }).result.error).toEqual({
      prompt: ["Write a prompt"],
      maxOutputTokens: ["At least 1"],
      temperature: ["From 0 to 2"],
      costCap: [expect.any(String)],
    });

    expect(fake.requests).toHaveLength(0);
    expect(await prisma.generation.count({ where: { userId: user.id } })).toBe(0);
    expect(await prisma.storedFile.count({ where: { ownerId: user.id } })).toBe(0);
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: 5n * DOLLAR, held: 0n });
  });
});
