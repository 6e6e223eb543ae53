import { mkdir, rm, writeFile } from "node:fs/promises";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// What /api/generate/text answers when it refuses, as the browser sees it (through Remix's request handler),
// and what happens to the money when a request fails after its hold and before the model is called.
const setup = await vi.hoisted(async () => {
  const { mkdtemp } = await import("node:fs/promises");
  const os = await import("node:os");
  const path = await import("node:path");
  const { startFakeOpenAI } = await import("../fakes/openai-server");
  const fake = await startFakeOpenAI();
  const storageDir = await mkdtemp(path.join(os.tmpdir(), "ai-wallet-refusals-"));
  process.env.OPENAI_API_KEY = "sk-test-refusals";
  process.env.OPENAI_BASE_URL = fake.url;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.GENERATION_TIMEOUT_SECONDS = "5";
  process.env.WALLET_CURRENCY = "USD";
  process.env.STORAGE_DIR = storageDir;
  return { fake, storageDir };
});

import { checkInvariants, getWalletBalance, walletAccountId } from "#app/models/ledger.server";
import { GenerationRefused, prepareMedia, prepareText } from "#app/models/generation.server";
import { prisma } from "#app/utils/db.server";
import {
  DOLLAR,
  generate,
  member,
  refusalOf,
  requestId,
  textRequest,
  viaRemix,
  type Fields,
  type FileField,
} from "./text-helpers";

const { fake, storageDir } = setup;

beforeEach(() => fake.reset());
afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});
afterAll(async () => {
  await fake.close();
  await rm(storageDir, { recursive: true, force: true });
});

async function refused(cookie: string, fields: Fields, files: FileField[] = []) {
  return refusalOf(await viaRemix(textRequest(cookie, fields, files)));
}

/** Nothing of the member's money is held, no hold is left pending, nothing was sent upstream. */
async function expectNothingHeld(userId: string, balance = 5n * DOLLAR) {
  expect(await getWalletBalance(userId)).toMatchObject({ balance, held: 0n });
  const pending = await prisma.ledgerHold.count({ where: { accountId: walletAccountId(userId), status: "pending" } });
  expect(pending).toBe(0);
  expect(fake.requests).toHaveLength(0);
}

describe("/api/generate/text answers each refusal with its own HTTP status", () => {
  it("402 when the wallet cannot cover the most the request may cost", async () => {
    const { cookie } = await member(0n);
    const result = await refused(cookie, { model: "openai:gpt-4o", prompt: "Hi" });
    expect(result).toMatchObject({ status: 402, body: { code: "insufficient_funds", field: null } });
    expect(result.body.error).toMatch(/Top up your wallet/);
  });

  it("400 for a field the member must correct, with the field named", async () => {
    const { cookie } = await member();
    expect(await refused(cookie, { model: "demo:chat", prompt: "   " })).toMatchObject({
      status: 400,
      body: { field: "prompt", code: "invalid", error: "Write a prompt" },
    });
    expect(await refused(cookie, { model: "demo:chat", prompt: "Hi", maxOutputTokens: "0" })).toMatchObject({
      status: 400,
      body: { field: "maxOutputTokens", code: "invalid" },
    });
    expect(await refused(cookie, { model: "demo:image", prompt: "Hi" })).toMatchObject({
      status: 400,
      body: { field: "model", code: "wrong_modality" },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it("404 for a model that does not exist and for another member's conversation", async () => {
    const owner = await member();
    expect(await refused(owner.cookie, { model: "openai:gpt-nonexistent", prompt: "Hi" })).toMatchObject({
      status: 404,
      body: { field: "model", code: "unknown_model" },
    });
    const first = await generate(owner.cookie, { model: "demo:chat", prompt: "Mine" });
    const intruder = await member();
    const conversationId = String(first.events[0]!.conversationId);
    expect(await refused(intruder.cookie, { model: "demo:chat", prompt: "Hi", conversationId })).toMatchObject({
      status: 404,
      body: { code: "not_found" },
    });
    await expectNothingHeld(intruder.user.id);
  });

  it("413 for a file over the upload limit and for a field too large to read", async () => {
    const { user, cookie } = await member();
    const big = new Uint8Array(21 * 1024 * 1024).fill(0x61);
    expect(
      await refused(cookie, { model: "openai:gpt-4o", prompt: "Read" }, [
        { name: "file0", bytes: big, filename: "a.txt" },
      ]),
    ).toMatchObject({ status: 413, body: { field: "files", code: "file_size" } });
    // Over this model's own limit (10 MB), under the upload limit.
    const overModel = new Uint8Array(11 * 1024 * 1024).fill(0x61);
    expect(
      await refused(cookie, { model: "openai:gpt-4o", prompt: "Read" }, [
        { name: "file0", bytes: overModel, filename: "a.txt" },
      ]),
    ).toMatchObject({ status: 413, body: { field: "files", code: "file_size" } });
    expect(await refused(cookie, { model: "openai:gpt-4o", prompt: "x".repeat(500_000) })).toMatchObject({
      status: 413,
      body: { code: "too_large" },
    });
    await expectNothingHeld(user.id);
  });

  it("415 for a file no model reads and for a body that is not a multipart form", async () => {
    const { user, cookie } = await member();
    const binary = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]);
    expect(
      await refused(cookie, { model: "openai:gpt-4o", prompt: "Read" }, [
        { name: "file0", bytes: binary, filename: "run.pdf" },
      ]),
    ).toMatchObject({ status: 415, body: { field: "files", code: "file_type" } });
    for (const contentType of ["text/plain", "application/json"]) {
      const response = await viaRemix(
        new Request("http://localhost:3000/api/generate/text", {
          method: "POST",
          body: contentType === "text/plain" ? "prompt=hi" : JSON.stringify({ prompt: "hi" }),
          headers: { cookie, origin: "http://localhost:3000", "content-type": contentType },
        }),
      );
      expect(await refusalOf(response)).toMatchObject({ status: 415, body: { code: "unsupported_media_type" } });
    }
    await expectNothingHeld(user.id);
  });

  it("200 with the NDJSON stream when the request is accepted", async () => {
    const { cookie } = await member();
    const { done } = await generate(cookie, { model: "demo:chat", prompt: "Hello" });
    expect(done.status).toBe("succeeded");
  });
});

describe("no money stuck by a failed start", () => {
  it("refuses a prompt with a NUL character as a field error, holding nothing", async () => {
    const { user, cookie } = await member();
    const result = await refused(cookie, { model: "openai:gpt-4o", prompt: "Hello\u0000world" });
    expect(result).toMatchObject({ status: 400, body: { field: "prompt", code: "invalid" } });
    await expectNothingHeld(user.id);
    expect(await prisma.generation.count({ where: { userId: user.id } })).toBe(0);
  });

  it("refuses a cost limit or a token count beyond what its column holds as a field error", async () => {
    const { user, cookie } = await member();
    const cap = await refused(cookie, { model: "openai:gpt-4o", prompt: "Hi", costCap: "999999999999999" });
    expect(cap).toMatchObject({ status: 400, body: { field: "costCap", code: "invalid" } });
    const tokens = await refused(cookie, { model: "openai:gpt-4o", prompt: "Hi", maxOutputTokens: "99999999999" });
    expect(tokens).toMatchObject({ status: 400, body: { field: "maxOutputTokens", code: "invalid" } });
    const temperature = await refused(cookie, { model: "openai:gpt-4o", prompt: "Hi", temperature: "1e309" });
    expect(temperature).toMatchObject({ status: 400, body: { field: "temperature" } });
    await expectNothingHeld(user.id);
  });

  it("voids the hold at once when the row cannot be written, whoever calls the model", async () => {
    const { user } = await member();
    // Past the form's checks (a caller of the model function): the database refuses the NUL at the insert.
    const text = prepareText({
      userId: user.id,
      requestId: requestId(),
      modelId: "openai:gpt-4o",
      prompt: "a\u0000b",
      files: [],
    });
    await expect(text).rejects.toBeInstanceOf(GenerationRefused);
    await expect(text).rejects.toMatchObject({ code: "not_started" });
    const media = prepareMedia("image", {
      userId: user.id,
      requestId: requestId(),
      modelId: "demo:image",
      prompt: "a\u0000b",
    });
    await expect(media).rejects.toMatchObject({ code: "not_started" });
    await expectNothingHeld(user.id);
    const holds = await prisma.ledgerHold.findMany({ where: { accountId: walletAccountId(user.id) } });
    expect(holds.map((hold) => hold.status)).toEqual(["voided", "voided"]);
  });

  it("voids the hold when the attachments cannot be stored: a 503 for the files, and a retry starts afresh", async () => {
    const { user, cookie } = await member();
    // The storage folder is replaced by a plain file: every write under it fails.
    await rm(storageDir, { recursive: true, force: true });
    await writeFile(storageDir, "not a folder");
    const fields = { requestId: requestId(), model: "openai:gpt-4o", prompt: "Read this" };
    const files = [{ name: "file0", bytes: new TextEncoder().encode("col1,col2\n1,2\n"), filename: "a.csv" }];
    try {
      const response = await viaRemix(textRequest(cookie, fields, files));
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      const result = await refusalOf(response);
      expect(result).toMatchObject({ status: 503, body: { field: "files", code: "not_started" } });
      expect(result.body.error).toMatch(/not charged/);
      await expectNothingHeld(user.id);
    } finally {
      await rm(storageDir, { force: true });
      await mkdir(storageDir, { recursive: true });
    }
    // The same submit again (the page keeps its request id after a refusal): not a replay of a voided hold.
    const again = await viaRemix(textRequest(cookie, fields, files));
    const retried = await refusalOf(again);
    expect(retried).toMatchObject({ status: 409, body: { code: "retry" } });
    await expectNothingHeld(user.id);
  });
});
