import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// A generation's lifecycle: one file writes its status, through a table of allowed transitions; a media
// submit records the generation and queues its job in one transaction; the reconcile job says honestly
// what a crash left behind. Real route, real ledger, real pg-boss, the offline demo provider.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-lifecycle-${process.pid}-${Date.now()}`;
  process.env.STORAGE_DIR = dir;
  // Slow enough that a Stop after the first word arrives before the demo's last one.
  process.env.DEMO_WORD_DELAY_MS = "30";
  process.env.WALLET_CURRENCY = "USD";
  return dir;
});

import { reconcileGenerationsJob } from "#app/jobs/maintenance.server";
import { prepareMedia, prepareText, runMedia, streamText } from "#app/models/generation.server";
import {
  beginRun,
  canTransition,
  failGeneration,
  IllegalTransition,
  TRANSITIONS,
} from "#app/models/generation/lifecycle.server";
import { checkInvariants, getWalletBalance, postHold } from "#app/models/ledger.server";
import { GENERATION_KIND } from "#app/models/wallet.server";
import { action as generateAction } from "#app/routes/generate";
import { prisma } from "#app/utils/db.server";
import { stopBoss } from "#app/utils/jobs.server";
import { ONE_PIXEL_PNG_BASE64 } from "#tests/fakes/openai-server";
import { BASE_URL, call } from "#tests/helpers";
import { DOLLAR, member, requestId } from "./text-helpers";

afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});
afterAll(async () => {
  await stopBoss();
});

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "partial"] as const;
const FINISHED = ["succeeded", "failed", "cancelled", "partial"] as const;

describe("the transition table", () => {
  it("only ever moves a generation forward: a finished one never changes status again", () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...STATUSES].sort());
    for (const from of FINISHED) for (const to of STATUSES) expect(canTransition(from, to)).toBe(false);
    expect(canTransition("queued", "running")).toBe(true);
    expect(canTransition("running", "partial")).toBe(true);
    expect(canTransition("running", "queued")).toBe(false);
    // Only text reaches "partial", and text starts running: a queued generation never delivered output.
    expect(canTransition("queued", "partial")).toBe(false);
  });

  it("refuses an illegal transition on a real generation and changes nothing", async () => {
    const { user } = await member();
    const { row } = await prepareMedia("speech", {
      userId: user.id,
      requestId: requestId(),
      modelId: "demo:speech",
      prompt: "Finished once",
    });
    expect(await runMedia(row.id)).toEqual({ next: "done" });
    const done = await prisma.generation.findUniqueOrThrow({ where: { id: row.id } });
    expect(done.status).toBe("succeeded");

    const refusal = failGeneration(row.id, { status: "failed", errorKind: "internal", errorMessage: "late" });
    await expect(refusal).rejects.toBeInstanceOf(IllegalTransition);
    await expect(refusal).rejects.toMatchObject({ from: "succeeded", to: "failed" });
    await expect(beginRun(row.id)).rejects.toBeInstanceOf(IllegalTransition);
    expect(await prisma.generation.findUniqueOrThrow({ where: { id: row.id } })).toEqual(done);
    expect((await getWalletBalance(user.id)).balance).toBe(5n * DOLLAR - done.cost!);
  });

  it("is the only writer of a generation's status: no other app file writes it", async () => {
    const root = path.resolve("app");
    const offenders: string[] = [];
    for (const file of await sourceFiles(root)) {
      const relative = path.relative(root, file);
      if (relative === path.join("models", "generation", "lifecycle.server.ts")) continue;
      const text = await readFile(file, "utf8");
      if (/UPDATE\s+generations\b[^;`]*\bstatus\s*=/i.test(text) || /INSERT\s+INTO\s+generations\b/i.test(text)) {
        offenders.push(relative);
      }
      for (const call of prismaWrites(text)) if (/\bstatus\s*:/.test(call)) offenders.push(relative);
    }
    expect(offenders).toEqual([]);
  });
});

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(full);
      return /\.tsx?$/.test(entry.name) ? [full] : [];
    }),
  );
  return nested.flat();
}

/** The `data` of every Prisma write on the generation model (`…generation.update({ data: { … } })` and kin). */
function prismaWrites(text: string): string[] {
  const writes: string[] = [];
  const start = /\.generation\.(create|createMany|update|updateMany|updateManyAndReturn|upsert)\(/g;
  for (let match = start.exec(text); match; match = start.exec(text)) {
    const call = balanced(text, match.index + match[0].length - 1);
    const data = /\b(data|create|update)\s*:\s*\{/g;
    for (let found = data.exec(call); found; found = data.exec(call)) {
      writes.push(balanced(call, found.index + found[0].length - 1));
    }
  }
  return writes;
}

/** The text from the bracket at `open` to the one that closes it. */
function balanced(text: string, open: number): string {
  const closing = text[open] === "(" ? ")" : "}";
  let depth = 0;
  for (let index = open; index < text.length; index += 1) {
    if (text[index] === text[open]) depth += 1;
    if (text[index] === closing) depth -= 1;
    if (depth === 0) return text.slice(open, index + 1);
  }
  return text.slice(open);
}

describe("submitting a media generation", () => {
  let counter = 0;
  function submit(cookie: string, fields: Record<string, string>, files: Buffer[] = []) {
    counter += 1;
    const body = new FormData();
    for (const [key, value] of Object.entries({ requestId: `life${process.pid}x${counter}x${Date.now()}`, ...fields }))
      body.append(key, value);
    files.forEach((bytes, index) => body.append(`file${index}`, new Blob([new Uint8Array(bytes)]), `p${index}.png`));
    return call(
      generateAction as never,
      new Request(`${BASE_URL}/generate`, { method: "POST", body, headers: { cookie, origin: BASE_URL } }),
    );
  }

  it("records the generation and its job together: when the job cannot be queued, nothing is kept or held", async () => {
    const { user, cookie } = await member();
    const png = Buffer.from(ONE_PIXEL_PNG_BASE64, "base64");
    // A first submit works (and creates the queue): its row and its job are there together.
    const first = await submit(cookie, { model: "demo:image", prompt: "Kept", size: "512x512" }, [png]);
    expect(first.status).toBe(302);
    const kept = first.location!.replace("/history/", "");
    const jobs = await prisma.$queryRaw<Array<{ count: number }>>`
      SELECT count(*)::int AS count FROM pgboss.job WHERE data->>'generationId' = ${kept}`;
    expect(jobs[0]!.count).toBe(1);
    const before = await getWalletBalance(user.id);
    const filesBefore = await prisma.storedFile.count({ where: { ownerId: user.id } });
    const bytesBefore = await storedObjects();

    // The job queue refuses the next job (as a full disk or a broken queue would).
    await prisma.$executeRawUnsafe(`CREATE FUNCTION test_refuse_generation_jobs() RETURNS trigger
      LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the job queue is unavailable'; END $$`);
    await prisma.$executeRawUnsafe(`CREATE TRIGGER test_refuse_generation_jobs BEFORE INSERT ON pgboss.job
      FOR EACH ROW EXECUTE FUNCTION test_refuse_generation_jobs()`);
    try {
      const id = `life${process.pid}lost${Date.now()}`;
      const lost = await submit(cookie, { requestId: id, model: "demo:image", prompt: "Lost", size: "512x512" }, [png]);
      expect(lost.status).toBe(503);
      expect(lost.data).toMatchObject({ code: "not_started", error: expect.stringMatching(/not charged/) });
      expect(await prisma.generation.count({ where: { userId: user.id, requestId: id } })).toBe(0);
      expect(await getWalletBalance(user.id)).toEqual(before);
      expect(await prisma.ledgerHold.count({ where: { account: { userId: user.id }, status: "pending" } })).toBe(1);
      // The picture sent with it is not kept either: neither its row nor its bytes.
      expect(await prisma.storedFile.count({ where: { ownerId: user.id } })).toBe(filesBefore);
      expect(await storedObjects()).toEqual(bytesBefore);
    } finally {
      await prisma.$executeRawUnsafe("DROP TRIGGER test_refuse_generation_jobs ON pgboss.job");
      await prisma.$executeRawUnsafe("DROP FUNCTION test_refuse_generation_jobs()");
    }
  });
});

async function storedObjects(dir = storageDir): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

describe("reconciling a text generation charged before a crash", () => {
  /** Text whose charge is posted but whose row cannot take the outcome: the process "died" in between. */
  async function chargedButUnrecorded(stopAfterFirstWord: boolean) {
    const { user } = await member();
    const prepared = await prepareText({
      userId: user.id,
      requestId: requestId(),
      modelId: "demo:chat",
      prompt: "Tell me a long story",
      files: [],
    });
    if (prepared.replayed) throw new Error("unexpected replay");
    const id = prepared.row.id;
    // Writing the answer's text fails for this row only: the ledger posts, the row stays "running".
    await prisma.$executeRawUnsafe(`CREATE OR REPLACE FUNCTION test_lose_answer() RETURNS trigger
      LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.id = '${id}' AND NEW.output_text IS DISTINCT FROM OLD.output_text THEN
          RAISE EXCEPTION 'the process stopped';
        END IF;
        RETURN NEW;
      END $$`);
    await prisma.$executeRawUnsafe(`CREATE OR REPLACE TRIGGER test_lose_answer BEFORE UPDATE ON generations
      FOR EACH ROW EXECUTE FUNCTION test_lose_answer()`);
    const stop = new AbortController();
    const settled = await streamText(
      prepared,
      (event) => {
        if (event.type === "delta" && stopAfterFirstWord) stop.abort();
      },
      stop.signal,
    );
    expect(settled.status).toBe("running");
    const hold = await prisma.ledgerHold.findUniqueOrThrow({ where: { id: prepared.row.holdId! } });
    expect(hold.status).toBe("posted");
    return { user, id, hold };
  }

  /** After the hold's expiry: by then no stream can still be recording its own outcome. */
  const later = () => new Date(Date.now() + 60 * 60_000);

  it.each([
    { stopped: true, status: "partial" },
    { stopped: false, status: "succeeded" },
  ])("records what the charge says happened (stopped: $stopped → $status)", async ({ stopped, status }) => {
    const { user, id, hold } = await chargedButUnrecorded(stopped);
    expect(await reconcileGenerationsJob(later())).toMatchObject({ settled: 1 });
    const row = await prisma.generation.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({
      status,
      cost: hold.postedAmount,
      transferId: hold.transferId,
      errorKind: "unsaved",
    });
    expect(row.errorMessage).toMatch(/before this answer was saved/);
    expect(row.cost).toBeGreaterThan(0n);
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: 5n * DOLLAR - row.cost!, held: 0n });
  });

  it("calls a charge that recorded no outcome partial, never a success it cannot vouch for", async () => {
    const { user } = await member();
    const prepared = await prepareText({
      userId: user.id,
      requestId: requestId(),
      modelId: "demo:chat",
      prompt: "Hi",
      files: [],
    });
    if (prepared.replayed) throw new Error("unexpected replay");
    // A charge posted the way settlements were before they named their outcome, then the process stopped.
    const { transferId } = await postHold({
      holdId: prepared.row.holdId!,
      amount: prepared.row.heldAmount,
      kind: GENERATION_KIND,
      description: "Generation · demo:chat",
      metadata: { model: "demo:chat", generationId: prepared.row.id },
    });
    // Not yet: the stream may still be recording its own outcome until its hold would have expired.
    expect(await reconcileGenerationsJob()).toMatchObject({ settled: 0 });
    expect(await reconcileGenerationsJob(later())).toMatchObject({ settled: 1 });
    expect(await prisma.generation.findUniqueOrThrow({ where: { id: prepared.row.id } })).toMatchObject({
      status: "partial",
      cost: prepared.row.heldAmount,
      transferId,
      errorKind: "unsaved",
    });
  });
});
