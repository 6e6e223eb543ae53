import { rm } from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// History end to end: generations made through the real path (prepareText + streamText and
// prepareMedia + runMedia with the offline demo provider, the real ledger), or written straight into the
// table where a test needs a particular state (queued, failed, an old date). Loaders and actions are
// called the way Remix calls them. Files go to a throw-away folder.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-history-${process.pid}-${Date.now()}`;
  process.env.STORAGE_DIR = dir;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
  return dir;
});

import type { Prisma } from "@prisma/client";
import { prepareMedia, prepareText, runMedia, streamText, type Attachment } from "#app/models/generation.server";
import {
  deleteGeneration,
  getGenerationDetail,
  HISTORY_PAGE_SIZE,
  listHistory,
  toPrefixTsquery,
} from "#app/models/history.server";
import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { getStatement } from "#app/models/wallet.server";
import { loader as fileLoader } from "#app/routes/files.$id";
import { action as detailAction, loader as detailLoader } from "#app/routes/history.$id";
import { loader as listLoader } from "#app/routes/history._index";
import { prisma } from "#app/utils/db.server";
import { setLogSink } from "#app/utils/logger.server";
import { getStorage } from "#app/utils/storage.server";
import { call, createUser, fundWallet, getRequest, postRequest, signedInCookie } from "#tests/helpers";

const DOLLAR = 1_000_000n;

afterEach(async () => {
  const report = await checkInvariants();
  expect(report.problems).toEqual([]);
});

afterAll(async () => {
  await rm(storageDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers

async function member(balance = 5n * DOLLAR) {
  const user = await createUser();
  if (balance > 0n) await fundWallet(user.id, balance);
  const { cookie } = await signedInCookie(user.id);
  return { user, cookie };
}

let counter = 0;
const requestId = () => `hist${process.pid}x${(counter += 1)}x${Math.random().toString(36).slice(2, 8)}`;

/** A text generation through the real path: held, streamed by the demo model, settled. */
async function runText(userId: string, prompt: string, files: Attachment[] = []) {
  const prepared = await prepareText({ userId, requestId: requestId(), modelId: "demo:chat", prompt, files });
  if (prepared.replayed) throw new Error("unexpected replay");
  return streamText(prepared, () => undefined);
}

/** An image or speech generation through the real path: held, run (the worker's step), settled. */
async function runMediaGeneration(userId: string, modality: "image" | "speech", prompt: string) {
  const { row } = await prepareMedia(modality, {
    userId,
    requestId: requestId(),
    modelId: modality === "image" ? "demo:image" : "demo:speech",
    prompt,
    ...(modality === "image" ? { n: 2, size: "512x512" } : {}),
  });
  expect(await runMedia(row.id)).toEqual({ next: "done" });
  return prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
}

/** A row written directly, for states the real path passes through too quickly (or dates in the past). */
function insert(userId: string, data: Partial<Prisma.GenerationUncheckedCreateInput> = {}) {
  return prisma.generation.create({
    data: {
      userId,
      requestId: requestId(),
      modelId: "demo:chat",
      modelLabel: "Demo chat",
      modality: "text",
      status: "succeeded",
      prompt: "A prompt",
      outputText: "An answer",
      heldAmount: 10_000n,
      cost: 1_000n,
      ...data,
    },
  });
}

type ListData = Awaited<ReturnType<typeof listLoader>>;
type DetailData = Awaited<ReturnType<typeof detailLoader>>;

async function list(cookie: string, query = "") {
  const result = await call(listLoader, getRequest(`/history${query ? `?${query}` : ""}`, { cookie }));
  expect(result.status).toBe(200);
  return result.data as ListData;
}

async function searchIds(userId: string, q: string) {
  return (await listHistory(userId, { q })).items.map((item) => item.id);
}

const detail = (cookie: string, id: string) =>
  call(detailLoader, getRequest(`/history/${id}`, { cookie }), { id }) as Promise<{
    status: number;
    data: DetailData;
  }>;

const remove = (cookie: string, id: string, form: Record<string, string> = { intent: "delete" }) =>
  call(detailAction, postRequest(`/history/${id}`, form, { cookie }), { id });

const fetchFile = (cookie: string, id: string) => call(fileLoader, getRequest(`/files/${id}`, { cookie }), { id });

const TEXT = new TextEncoder();

// ---------------------------------------------------------------------------------------------

describe("the search query", () => {
  it("turns every word into a prefix term joined with AND, and drops every operator", () => {
    expect(toPrefixTsquery("wal pay")).toBe("'wal':* & 'pay':*");
    expect(toPrefixTsquery("  Wallet\tPAYMENTS\n")).toBe("'Wallet':* & 'PAYMENTS':*");
    expect(toPrefixTsquery("a & | ! :* ( )")).toBe("'a':*");
    expect(toPrefixTsquery("it's <-> \\ 'x' \"y\"")).toBe("'it':* & 's':* & 'x':* & 'y':*");
    expect(toPrefixTsquery("gpt-4")).toBe("('gpt-4':* | 'gpt':* & '4':*)");
    expect(toPrefixTsquery("…python 3.12!")).toBe("'python':* & ('3.12':* | '3':* & '12':*)");
    expect(toPrefixTsquery("naïve 東京")).toBe("'naïve':* & '東京':*");
    for (const empty of ["", "   ", "&|!():*<->'\"\\", "...", "-- ;"]) expect(toPrefixTsquery(empty)).toBeNull();
    // Long input is cut to a bounded number of words.
    expect(toPrefixTsquery("word ".repeat(500))!.split("&")).toHaveLength(1);
    expect(toPrefixTsquery(Array.from({ length: 50 }, (_, i) => `w${i}`).join(" "))!.split("&")).toHaveLength(12);
  });
});

describe("listing and searching /history", () => {
  it("finds by a prompt word and by an output word, by word prefixes, and needs every word", async () => {
    const { user, cookie } = await member();
    const wallet = await runText(user.id, "Wallet payments in Douala");
    const report = await runText(user.id, "Quarterly revenue report");
    const money = await runText(user.id, "Mobile money payments, explained");
    expect([wallet, report, money].map((row) => row.status)).toEqual(["succeeded", "succeeded", "succeeded"]);

    expect(await searchIds(user.id, "Douala")).toEqual([wallet.id]);
    expect(await searchIds(user.id, "wal pay")).toEqual([wallet.id]);
    expect(await searchIds(user.id, "WAL PAY")).toEqual([wallet.id]);
    expect((await searchIds(user.id, "payments")).sort()).toEqual([wallet.id, money.id].sort());
    expect(await searchIds(user.id, "pay quarterly")).toEqual([]);
    // Every demo answer opens with "Demo reply (offline, …)": a word of the output, not of any prompt.
    expect((await searchIds(user.id, "offl")).sort()).toEqual([wallet.id, report.id, money.id].sort());
    expect(await searchIds(user.id, "offline revenue")).toEqual([report.id]);
    expect(await searchIds(user.id, "zebra")).toEqual([]);

    // Through the page: the query is kept in the form, results say they are ranked.
    const page = await list(cookie, "q=wal+pay");
    expect(page.items.map((item) => item.id)).toEqual([wallet.id]);
    expect(page.items[0]).toMatchObject({
      modelLabel: "Demo chat",
      status: "succeeded",
      prompt: "Wallet payments in Douala",
    });
    expect(page.items[0]!.output).toMatch(/^Demo reply \(offline/);
    expect(page).toMatchObject({ searching: true, active: true, hasAny: true, filters: { q: "wal pay" } });
  });

  it("matches hyphenated words, numbers, hosts and accented or non-Latin words", async () => {
    const { user } = await member(0n);
    const code = await insert(user.id, { prompt: "Port this to python 3.12 with gpt-4o", outputText: null });
    const site = await insert(user.id, { prompt: "Summarise example.com for me", outputText: "It is a test domain." });
    expect(await searchIds(user.id, "gpt-4")).toEqual([code.id]);
    expect(await searchIds(user.id, "3.12")).toEqual([code.id]);
    expect(await searchIds(user.id, "3.1")).toEqual([code.id]);
    expect(await searchIds(user.id, "example.com")).toEqual([site.id]);
    expect(await searchIds(user.id, "examp")).toEqual([site.id]);
    expect(await searchIds(user.id, "domain")).toEqual([site.id]);
    const french = await insert(user.id, { prompt: "Le café de l'école à Yaoundé", outputText: "東京タワー" });
    expect(await searchIds(user.id, "caf éco yaound")).toEqual([french.id]);
    expect(await searchIds(user.id, "l'école")).toEqual([french.id]);
    expect(await searchIds(user.id, "東京")).toEqual([french.id]);
    // Accented capitals fold too (the cluster's character type is UTF-8).
    const capitals = await insert(user.id, { prompt: "ÉCOLE NORMALE", outputText: "" });
    expect(await searchIds(user.id, "école norm")).toEqual([capitals.id]);
  });

  it("never breaks on operators, quotes or punctuation in the search box", async () => {
    const { user, cookie } = await member(0n);
    const row = await insert(user.id, { prompt: "a tiny apple", outputText: "(answer)" });
    const nasty = [
      "a & | ! :* ( )",
      ":*",
      "'",
      "''",
      "\\",
      "!!!",
      "<->",
      "<2>",
      "apple:* | !tiny",
      "'; DROP TABLE generations; --",
      "%_%",
      "\u0000",
      "a".repeat(300),
      "((((((((((apple",
    ];
    for (const q of nasty) {
      const result = await call(listLoader, getRequest(`/history?${new URLSearchParams({ q })}`, { cookie }));
      expect(result.status, q).toBe(200);
    }
    expect(await searchIds(user.id, "a & | ! :* ( )")).toEqual([row.id]);
    expect(await searchIds(user.id, "apple:* | !tiny")).toEqual([row.id]);
    // Only punctuation: no search at all, everything listed newest first.
    const all = await listHistory(user.id, { q: "&|!" });
    expect(all).toMatchObject({ searching: false, total: 1 });
    expect(await prisma.generation.count({ where: { userId: user.id } })).toBe(1);
  });

  it("ranks by relevance when searching, and lists newest first otherwise", async () => {
    const { user } = await member(0n);
    const old = await insert(user.id, {
      prompt: "fox fox fox fox fox",
      outputText: "fox fox fox",
      createdAt: new Date("2026-01-01T10:00:00Z"),
    });
    const middle = await insert(user.id, { prompt: "unrelated", createdAt: new Date("2026-02-01T10:00:00Z") });
    const recent = await insert(user.id, {
      prompt: "a long story about many animals, among them one fox",
      outputText: "the end",
      createdAt: new Date("2026-03-01T10:00:00Z"),
    });
    const sameRankOlder = await insert(user.id, {
      prompt: "a long story about many animals, among them one fox",
      outputText: "the end",
      createdAt: new Date("2026-02-15T10:00:00Z"),
    });
    expect(await searchIds(user.id, "fox")).toEqual([old.id, recent.id, sameRankOlder.id]);
    expect((await listHistory(user.id)).items.map((item) => item.id)).toEqual([
      recent.id,
      sameRankOlder.id,
      middle.id,
      old.id,
    ]);
  });

  it("filters by type, model, status and a UTC date range, through the GET form's parameters", async () => {
    const { user, cookie } = await member(0n);
    const at = (day: string) => new Date(`${day}T12:00:00Z`);
    const textA = await insert(user.id, { createdAt: at("2026-03-01") });
    const textB = await insert(user.id, {
      modelId: "openai:gpt-4o",
      modelLabel: "GPT-4o",
      createdAt: at("2026-03-02"),
    });
    const image = await insert(user.id, {
      modality: "image",
      modelId: "demo:image",
      modelLabel: "Demo image",
      outputText: null,
      createdAt: new Date("2026-03-02T23:59:59.999Z"),
    });
    const failed = await insert(user.id, { status: "failed", cost: 0n, createdAt: at("2026-03-03") });
    const early = await insert(user.id, { createdAt: new Date("2026-02-28T23:59:59.999Z") });
    const ids = async (query: string) => (await list(cookie, query)).items.map((item) => item.id).sort();
    const sorted = (...rows: Array<{ id: string }>) => rows.map((row) => row.id).sort();

    expect(await ids("modality=image")).toEqual([image.id]);
    expect(await ids("modality=text")).toEqual(sorted(textA, textB, failed, early));
    expect(await ids("model=openai%3Agpt-4o")).toEqual([textB.id]);
    expect(await ids("status=failed")).toEqual([failed.id]);
    expect(await ids("status=succeeded&modality=text&model=demo%3Achat")).toEqual(sorted(textA, early));
    // Both days included, whole days in UTC.
    expect(await ids("from=2026-03-01&to=2026-03-02")).toEqual(sorted(textA, textB, image));
    expect(await ids("from=2026-03-03")).toEqual([failed.id]);
    expect(await ids("to=2026-02-28")).toEqual([early.id]);
    // Nonsense values are ignored rather than refused.
    expect(await ids("modality=sculpture&status=lost&from=2026-02-31&to=yesterday&page=-3")).toHaveLength(5);
    const reversed = await list(cookie, "from=2026-03-03&to=2026-03-01");
    expect(reversed.items).toEqual([]);
    expect(reversed.dateError).toMatch(/after/);

    // The model select lists each model this member used once, by label.
    const page = await list(cookie, "status=failed");
    expect(page.models).toEqual([
      { id: "demo:chat", label: "Demo chat" },
      { id: "demo:image", label: "Demo image" },
      { id: "openai:gpt-4o", label: "GPT-4o" },
    ]);
    expect(page).toMatchObject({ narrowed: true, active: true, hasAny: true });
    expect(page.items[0]).toMatchObject({ cost: "Not charged", costTone: "free", status: "failed" });
  });

  it("pages through results without gaps or repeats, keeping the filters in the links", async () => {
    const { user, cookie } = await member(0n);
    const base = Date.UTC(2026, 0, 1);
    const rows = [];
    for (let index = 0; index < 45; index += 1) {
      rows.push(await insert(user.id, { prompt: `note ${index}`, createdAt: new Date(base + index * 60_000) }));
    }
    await insert(user.id, { prompt: "other", modality: "image", outputText: null });
    const newestFirst = rows.map((row) => row.id).reverse();
    const seen: string[] = [];
    for (let page = 1; page <= 3; page += 1) {
      const data = await list(cookie, `modality=text&page=${page}`);
      expect(data).toMatchObject({ page, pageCount: 3, total: 45 });
      seen.push(...data.items.map((item) => item.id));
    }
    expect(seen).toEqual(newestFirst);
    expect(HISTORY_PAGE_SIZE).toBe(20);
    // A page past the end shows the last one.
    const past = await list(cookie, "modality=text&page=99");
    expect(past.page).toBe(3);
    expect(past.items.map((item) => item.id)).toEqual(newestFirst.slice(40));
    const searched = await listHistory(user.id, { q: "note", page: 2, pageSize: 10 });
    expect(searched).toMatchObject({ page: 2, pageCount: 5, total: 45, searching: true });
    expect(searched.items).toHaveLength(10);
  });

  it("lists only the member's own live generations: never another member's, never deleted ones", async () => {
    const mine = await member();
    const theirs = await member();
    const own = await runText(mine.user.id, "shared secret word: pelican");
    const other = await runText(theirs.user.id, "shared secret word: pelican");
    await insert(theirs.user.id, { modelId: "openai:gpt-4o", modelLabel: "GPT-4o" });
    const gone = await runText(mine.user.id, "pelican soon deleted");
    expect((await deleteGeneration(mine.user.id, gone.id)).status).toBe("deleted");

    const page = await list(mine.cookie);
    expect(page.items.map((item) => item.id)).toEqual([own.id]);
    expect(page.models).toEqual([{ id: "demo:chat", label: "Demo chat" }]);
    expect(await searchIds(mine.user.id, "pelican")).toEqual([own.id]);
    expect(await searchIds(theirs.user.id, "pelican")).toEqual([other.id]);
    expect((await list(mine.cookie, "model=openai%3Agpt-4o")).items).toEqual([]);
  });

  it("tells an empty history apart from a search with no results, and needs a session", async () => {
    const { user, cookie } = await member(0n);
    expect(await list(cookie)).toMatchObject({ hasAny: false, items: [], total: 0, active: false });
    await insert(user.id);
    expect(await list(cookie, "q=nothing+like+this")).toMatchObject({ hasAny: true, items: [], active: true });
    const anonymous = await call(listLoader, getRequest("/history"));
    expect(anonymous.status).toBe(302);
    expect(anonymous.location).toBe("/login?redirectTo=%2Fhistory");
  });

  it("shows each item's cost, a thumbnail for images, and what is still running", async () => {
    const { user, cookie } = await member();
    const image = await runMediaGeneration(user.id, "image", "a lighthouse at dusk");
    const running = await insert(user.id, {
      modality: "video",
      modelId: "demo:video",
      modelLabel: "Demo video",
      status: "running",
      progress: 40,
      outputText: null,
      heldAmount: 20_000n,
      cost: null,
    });
    const items = (await list(cookie)).items;
    const byId = new Map(items.map((item) => [item.id, item]));
    const imageFiles = await prisma.generationFile.findMany({
      where: { generationId: image.id, role: "output" },
      orderBy: { position: "asc" },
    });
    expect(byId.get(image.id)).toMatchObject({
      modality: "image",
      image: `/files/${imageFiles[0]!.fileId}`,
      moreOutputs: 1,
      cost: "$0.004",
      costTone: "charged",
    });
    expect(byId.get(image.id)!.duration).toMatch(/ s$/);
    expect(byId.get(running.id)).toMatchObject({
      status: "running",
      progress: 40,
      cost: "Up to $0.02",
      image: null,
      duration: null,
    });
  });
});

describe("one generation at /history/:id", () => {
  it("shows prompt, input files, parameters, output, cost and timings, with links to re-run and chat", async () => {
    const { user, cookie } = await member();
    const row = await runText(user.id, "Read this note please", [
      { filename: "note.txt", bytes: TEXT.encode("buy milk"), mediaType: "text/plain" },
    ]);
    const { status, data } = await detail(cookie, row.id);
    expect(status).toBe(200);
    expect(data).toMatchObject({
      id: row.id,
      modality: "text",
      modelId: "demo:chat",
      modelLabel: "Demo chat",
      status: "succeeded",
      inFlight: false,
      prompt: "Read this note please",
      outputText: row.outputText,
      notCharged: false,
      outcome: null,
      chatUrl: `/chat/${row.conversationId}`,
      rerunUrl: `/generate?rerun=${row.id}`,
    });
    expect(data.charged).toMatch(/^\$0\.0000\d+$/);
    expect(data.inputs).toEqual([
      { id: expect.any(String), mediaType: "text/plain", size: 8, originalName: "note.txt" },
    ]);
    expect(data.outputs).toEqual([]);
    expect(data.params).toEqual(
      expect.arrayContaining([
        { label: "Max output tokens", value: "200" },
        { label: "Files attached", value: "1" },
      ]),
    );
    expect(data.usage.map((item) => item.label)).toEqual(expect.arrayContaining(["Input tokens", "Output tokens"]));
    expect(data.timings.map((step) => step.label)).toEqual(["Queued", "Started", "First output", "Finished"]);
    expect(data.totalTime).toMatch(/ s$/);
    // The input file is served to its owner.
    expect((await fetchFile(cookie, data.inputs[0]!.id)).status).toBe(200);
  });

  it("shows image outputs and says a failed generation cost nothing", async () => {
    const { user, cookie } = await member();
    const image = await runMediaGeneration(user.id, "image", "two red kites");
    const shown = (await detail(cookie, image.id)).data;
    expect(shown.outputs).toHaveLength(2);
    expect(shown.outputs.every((file) => file.mediaType === "image/png")).toBe(true);
    expect(shown.chatUrl).toBeNull();
    expect(shown.params).toEqual(expect.arrayContaining([{ label: "Images", value: "2" }]));

    const failed = await insert(user.id, {
      status: "failed",
      cost: 0n,
      errorMessage: "The provider is overloaded.",
      finishedAt: new Date(),
    });
    const page = (await detail(cookie, failed.id)).data;
    expect(page).toMatchObject({ notCharged: true, charged: "$0.00", held: "$0.01" });
    expect(page.outcome).toBe("The provider is overloaded. You were not charged.");
  });

  it("shows progress for a generation still in flight", async () => {
    const { user, cookie } = await member(0n);
    const queued = await insert(user.id, {
      modality: "video",
      modelId: "demo:video",
      modelLabel: "Demo video",
      status: "queued",
      outputText: null,
      cost: null,
    });
    expect((await detail(cookie, queued.id)).data).toMatchObject({ inFlight: true, progress: 0, charged: null });
    await prisma.generation.update({
      where: { id: queued.id },
      data: { status: "running", progress: 55, startedAt: new Date() },
    });
    expect((await detail(cookie, queued.id)).data).toMatchObject({ inFlight: true, progress: 55, status: "running" });
  });

  it("answers 404 for another member's generation, an unknown id and a deleted one", async () => {
    const owner = await member();
    const intruder = await member(0n);
    const row = await runText(owner.user.id, "private thoughts");
    expect((await detail(intruder.cookie, row.id)).status).toBe(404);
    expect((await detail(owner.cookie, "does-not-exist")).status).toBe(404);
    expect((await detail(owner.cookie, "' OR 1=1 --")).status).toBe(404);
    expect(await getGenerationDetail(intruder.user.id, row.id)).toBeNull();
    await deleteGeneration(owner.user.id, row.id);
    expect((await detail(owner.cookie, row.id)).status).toBe(404);
  });
});

describe("deleting a generation", () => {
  it("retitles a chat after its first prompt is deleted, and removes a chat with no turns left", async () => {
    const { user, cookie } = await member();
    const first = await runText(user.id, "Secret first question");
    const prepared = await prepareText({
      userId: user.id,
      requestId: requestId(),
      modelId: "demo:chat",
      prompt: "Second question",
      files: [],
      conversationId: first.conversationId,
    });
    if (prepared.replayed) throw new Error("unexpected replay");
    const second = await streamText(prepared, () => undefined);
    expect((await prisma.conversation.findUniqueOrThrow({ where: { id: first.conversationId! } })).title).toBe(
      "Secret first question",
    );
    expect((await remove(cookie, first.id)).status).toBe(302);
    expect((await prisma.conversation.findUniqueOrThrow({ where: { id: first.conversationId! } })).title).toBe(
      "Second question",
    );
    expect((await remove(cookie, second.id)).status).toBe(302);
    expect(await prisma.conversation.findUnique({ where: { id: first.conversationId! } })).toBeNull();
  });

  it("wipes the content and files, keeps the amounts and ledger references, and says so", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const { user, cookie } = await member();
      const row = await runMediaGeneration(user.id, "image", "SECRET-PROMPT-3141 a harbour at night");
      const links = await prisma.generationFile.findMany({ where: { generationId: row.id }, include: { file: true } });
      expect(links).toHaveLength(2);
      for (const link of links) expect(await getStorage().get(link.file.storageKey)).not.toBeNull();
      for (const link of links) expect((await fetchFile(cookie, link.fileId)).status).toBe(200);
      const balanceBefore = await getWalletBalance(user.id);

      const result = await remove(cookie, row.id);
      expect(result).toMatchObject({ status: 302, location: "/history?deleted=1" });

      const after = await prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
      expect(after).toMatchObject({
        prompt: "",
        outputText: null,
        params: {},
        usage: {},
        errorMessage: null,
        modelId: "demo:image",
        modelLabel: "Demo image",
        status: "succeeded",
        cost: row.cost,
        heldAmount: row.heldAmount,
        holdId: row.holdId,
        transferId: row.transferId,
      });
      expect(after.deletedAt).toBeInstanceOf(Date);
      expect(row.cost).toBeGreaterThan(0n);
      expect(await prisma.generationFile.count({ where: { generationId: row.id } })).toBe(0);
      expect(await prisma.storedFile.count({ where: { id: { in: links.map((link) => link.fileId) } } })).toBe(0);
      for (const link of links) expect(await getStorage().get(link.file.storageKey)).toBeNull();
      for (const link of links) expect((await fetchFile(cookie, link.fileId)).status).toBe(404);

      // The money is untouched and the statement still names the charge.
      expect(await getWalletBalance(user.id)).toEqual(balanceBefore);
      expect(await prisma.ledgerTransfer.count({ where: { id: row.transferId! } })).toBe(1);
      const statement = await getStatement(user.id);
      expect(statement.items.map((item) => item.description)).toContain("Generation · demo:image");

      // Gone from the list, the search, the model select and the detail page; the list says it worked.
      const page = await list(cookie, "deleted=1");
      expect(page).toMatchObject({ deleted: true, items: [], hasAny: false });
      expect(await searchIds(user.id, "harbour")).toEqual([]);
      expect((await detail(cookie, row.id)).status).toBe(404);

      expect(lines.join("\n")).toContain("history.generation_deleted");
      expect(lines.join("\n")).not.toContain("SECRET-PROMPT-3141");
    } finally {
      setLogSink(null);
    }
  });

  it("keeps a file another generation still uses, and removes it with the last one", async () => {
    const { user, cookie } = await member();
    const first = await runText(user.id, "Summarise the attachment", [
      { filename: "report.txt", bytes: TEXT.encode("quarterly numbers"), mediaType: "text/plain" },
    ]);
    const [link] = await prisma.generationFile.findMany({ where: { generationId: first.id }, include: { file: true } });
    const second = await insert(user.id, { prompt: "Again, shorter" });
    await prisma.generationFile.create({ data: { generationId: second.id, fileId: link!.fileId, role: "input" } });

    expect(await deleteGeneration(user.id, first.id)).toEqual({ status: "deleted", filesDeleted: 0 });
    expect(await prisma.storedFile.count({ where: { id: link!.fileId } })).toBe(1);
    expect(await getStorage().get(link!.file.storageKey)).not.toBeNull();
    expect((await fetchFile(cookie, link!.fileId)).status).toBe(200);
    expect((await detail(cookie, second.id)).data.inputs.map((file) => file.id)).toEqual([link!.fileId]);

    expect(await deleteGeneration(user.id, second.id)).toEqual({ status: "deleted", filesDeleted: 1 });
    expect(await prisma.storedFile.count({ where: { id: link!.fileId } })).toBe(0);
    expect(await getStorage().get(link!.file.storageKey)).toBeNull();
    expect((await fetchFile(cookie, link!.fileId)).status).toBe(404);
  });

  it("is safe to repeat", async () => {
    const { user, cookie } = await member();
    const row = await runMediaGeneration(user.id, "speech", "hello there");
    expect((await remove(cookie, row.id)).location).toBe("/history?deleted=1");
    const first = await prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
    expect((await remove(cookie, row.id)).location).toBe("/history?deleted=1");
    expect(await deleteGeneration(user.id, row.id)).toEqual({ status: "already_deleted" });
    const again = await prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
    expect(again.deletedAt).toEqual(first.deletedAt);
    // Two deletes at once: one deletes, the other finds it done.
    const other = await runText(user.id, "race me");
    const outcomes = await Promise.all([deleteGeneration(user.id, other.id), deleteGeneration(user.id, other.id)]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(["already_deleted", "deleted"]);
  });

  it("refuses to delete a generation that is still queued or running", async () => {
    const { user, cookie } = await member();
    const { row } = await prepareMedia("image", {
      userId: user.id,
      requestId: requestId(),
      modelId: "demo:image",
      prompt: "not yet",
      size: "512x512",
    });
    expect(row.status).toBe("queued");
    const refused = await remove(cookie, row.id);
    expect(refused.status).toBe(409);
    expect((refused.data as { error: string }).error).toMatch(/still running/);
    await prisma.generation.update({ where: { id: row.id }, data: { status: "running" } });
    expect((await deleteGeneration(user.id, row.id)).status).toBe("in_progress");
    const unchanged = await prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
    expect(unchanged).toMatchObject({ prompt: "not yet", deletedAt: null });
    // Once it has run, it can go.
    await prisma.generation.update({ where: { id: row.id }, data: { status: "queued" } });
    await runMedia(row.id);
    expect((await remove(cookie, row.id)).location).toBe("/history?deleted=1");
  });

  it("answers 404 to another member, and 400 to a request it does not understand", async () => {
    const owner = await member();
    const intruder = await member(0n);
    const row = await runText(owner.user.id, "mine alone");
    expect((await remove(intruder.cookie, row.id)).status).toBe(404);
    expect(await deleteGeneration(intruder.user.id, row.id)).toEqual({ status: "not_found" });
    expect((await remove(owner.cookie, "no-such-id")).status).toBe(404);
    expect((await remove(owner.cookie, row.id, { intent: "destroy" })).status).toBe(400);
    expect((await remove(owner.cookie, row.id, {})).status).toBe(400);
    const unchanged = await prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
    expect(unchanged).toMatchObject({ prompt: "mine alone", deletedAt: null });
  });
});
