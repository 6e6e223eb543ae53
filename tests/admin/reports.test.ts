import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

// Revenue vs. provider cost on the admin overview: generations settled through the real flow (the demo
// provider, the real ledger), provider cost recorded at settlement = the catalog price without markup,
// and the per-day / per-model figures, exact to the micro-unit, with markup on one model.
vi.hoisted(() => {
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
});

import type { Generation } from "@prisma/client";
import { getRevenueReport, marginBps, REPORT_DAYS } from "#app/models/admin-reports.server";
import { getCatalogEntry } from "#app/models/catalog.server";
import { prepareText, streamText } from "#app/models/generation.server";
import { checkInvariants } from "#app/models/ledger.server";
import { loader } from "#app/routes/admin._index";
import { prisma } from "#app/utils/db.server";
import { formatMoney } from "#app/utils/money";
import { priceOf, type Usage } from "#app/utils/pricing";
import { call, createUser, fundWallet, getRequest, signedInCookie } from "#tests/helpers";

const DAY_MS = 86_400_000;
const USD = (micros: bigint) => formatMoney(micros, "USD");

afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});

let counter = 0;
const requestId = () => `rep${process.pid}x${(counter += 1)}x${Date.now()}`;

async function settleText(userId: string, modelId: string, prompt: string) {
  const prepared = await prepareText({ userId, requestId: requestId(), modelId, prompt, files: [] });
  if (prepared.replayed) throw new Error("unexpected replay");
  const row = await streamText(prepared, () => undefined);
  expect(row.status).toBe("succeeded");
  return row;
}

/** Moves a settled generation to another moment (the generations table is not append-only). */
async function finishedAt(row: Generation, when: Date) {
  return prisma.generation.update({ where: { id: row.id }, data: { finishedAt: when } });
}

type LoaderData = Awaited<ReturnType<typeof loader>>;

async function overview(cookie: string) {
  const result = await call(loader as never, getRequest("/admin", { cookie }));
  expect(result.status).toBe(200);
  const data = result.data as LoaderData;
  await data.ledger; // streamed: let it finish before the test ends
  return data;
}

let adminCookie = "";

beforeAll(async () => {
  const admin = await createUser({ role: "admin" });
  adminCookie = (await signedInCookie(admin.id)).cookie;
});

describe("revenue vs. provider cost", () => {
  it("margin share is exact basis points of revenue (none without revenue)", () => {
    expect(marginBps({ revenue: 3_000n, margin: 1_000n })).toBe(3_333);
    expect(marginBps({ revenue: 1_000n, margin: -250n })).toBe(-2_500);
    expect(marginBps({ revenue: 0n, margin: 0n })).toBeNull();
  });

  it("empty state: no settled generation → zero-filled days, no models, no charts", async () => {
    const report = await getRevenueReport();
    expect(report.byDay).toHaveLength(REPORT_DAYS);
    expect(report.byDay.every((day) => day.revenue === 0n && day.providerCost === 0n && day.generations === 0)).toBe(
      true,
    );
    expect(report.byModel).toEqual([]);
    expect(report.totals).toMatchObject({ revenue: 0n, providerCost: 0n, margin: 0n, generations: 0 });

    const data = await overview(adminCookie);
    expect(data.revenue.charts).toBeNull();
    expect(data.revenue.headline).toMatchObject({ revenue: "$0.00", providerCost: "$0.00", generations: 0 });
  });

  it("records provider cost at settlement (price without markup) and reports it per day and per model", async () => {
    // Prices high enough that markup shows after rounding; 25 % markup on one model, none on the other.
    await getCatalogEntry("demo:chat"); // seeds the catalog
    await prisma.catalogModel.update({
      where: { id: "demo:chat" },
      data: { inputPerMillion: 2_000_000n, outputPerMillion: 12_345_678n, markupBps: 2_500 },
    });
    await prisma.catalogModel.update({
      where: { id: "demo:chat-mini" },
      data: { inputPerMillion: 1_000_000n, outputPerMillion: 3_000_000n, markupBps: 0 },
    });
    const chatPrice = (await getCatalogEntry("demo:chat"))!.price;
    const miniPrice = (await getCatalogEntry("demo:chat-mini"))!.price;
    expect(chatPrice.markupBps).toBe(2_500);

    const member = await createUser();
    await fundWallet(member.id, 10_000_000n);
    const a = await settleText(member.id, "demo:chat", "Tell me about the sea");
    const b = await settleText(member.id, "demo:chat", "Write a short poem about rain, please");
    const c = await settleText(member.id, "demo:chat-mini", "Hello there");
    const d = await settleText(member.id, "demo:chat", "This one falls outside the window");

    // At settlement: cost = price with markup, provider_cost = the same usage without it.
    for (const [row, price] of [
      [a, chatPrice],
      [b, chatPrice],
      [c, miniPrice],
      [d, chatPrice],
    ] as const) {
      const usage = row.usage as Usage;
      expect(row.cost).toBe(priceOf(price, usage));
      expect(row.providerCost).toBe(priceOf({ ...price, markupBps: 0 }, usage));
      expect(row.cost! <= row.heldAmount).toBe(true);
    }
    expect(a.cost! > a.providerCost!).toBe(true); // the 25 % markup
    expect(c.cost).toBe(c.providerCost); // no markup

    // Place them in time, around UTC day boundaries.
    const now = new Date();
    const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    const day = (offset: number) => new Date(today - offset * DAY_MS).toISOString().slice(0, 10);
    await finishedAt(a, new Date(today)); // first instant of today
    await finishedAt(c, new Date(today + 500));
    await finishedAt(b, new Date(today - 2 * DAY_MS - 1)); // last instant of 3 days ago
    await finishedAt(d, new Date(today - (REPORT_DAYS - 1) * DAY_MS - 1)); // just before the window

    // An old settled row without provider cost (counts as 0), and a failure (adds nothing).
    await prisma.generation.create({
      data: {
        userId: member.id,
        requestId: requestId(),
        modelId: "legacy:old-model",
        modelLabel: "Old model",
        modality: "text",
        status: "succeeded",
        prompt: "old",
        heldAmount: 1_000n,
        cost: 777n,
        providerCost: null,
        finishedAt: new Date(today - 10 * DAY_MS + 3_600_000),
      },
    });
    await prisma.generation.create({
      data: {
        userId: member.id,
        requestId: requestId(),
        modelId: "demo:chat",
        modelLabel: "Demo chat",
        modality: "text",
        status: "failed",
        prompt: "failed",
        cost: 0n,
        finishedAt: new Date(today + 1_000),
      },
    });

    const report = await getRevenueReport({ now });
    expect(report.byDay).toHaveLength(REPORT_DAYS);
    expect(report.byDay[0]!.day).toBe(day(REPORT_DAYS - 1));
    expect(report.byDay.at(-1)!.day).toBe(day(0));
    const byDay = Object.fromEntries(report.byDay.map((row) => [row.day, row]));
    expect(byDay[day(0)]).toMatchObject({
      revenue: a.cost! + c.cost!,
      providerCost: a.providerCost! + c.providerCost!,
      margin: a.cost! + c.cost! - a.providerCost! - c.providerCost!,
      generations: 2,
      withoutProviderCost: 0,
    });
    expect(byDay[day(3)]).toMatchObject({
      revenue: b.cost!,
      providerCost: b.providerCost!,
      margin: b.cost! - b.providerCost!,
      generations: 1,
    });
    expect(byDay[day(10)]).toMatchObject({ revenue: 777n, providerCost: 0n, generations: 1, withoutProviderCost: 1 });
    const quiet = report.byDay.filter((row) => ![day(0), day(3), day(10)].includes(row.day));
    expect(quiet).toHaveLength(REPORT_DAYS - 3);
    expect(quiet.every((row) => row.revenue === 0n && row.providerCost === 0n && row.generations === 0)).toBe(true);

    const expectedModels = [
      {
        model: "demo:chat",
        revenue: a.cost! + b.cost!,
        providerCost: a.providerCost! + b.providerCost!,
        generations: 2,
      },
      { model: "demo:chat-mini", revenue: c.cost!, providerCost: c.providerCost!, generations: 1 },
      { model: "legacy:old-model", revenue: 777n, providerCost: 0n, generations: 1 },
    ].sort((x, y) => (x.revenue === y.revenue ? x.model.localeCompare(y.model) : x.revenue > y.revenue ? -1 : 1));
    expect(
      report.byModel.map(({ model, revenue, providerCost, margin, generations }) => ({
        model,
        revenue,
        providerCost,
        margin,
        generations,
      })),
    ).toEqual(expectedModels.map((row) => ({ ...row, margin: row.revenue - row.providerCost })));

    const revenue = a.cost! + b.cost! + c.cost! + 777n;
    const providerCost = a.providerCost! + b.providerCost! + c.providerCost!;
    expect(report.totals).toEqual({
      revenue,
      providerCost,
      margin: revenue - providerCost,
      generations: 4,
      withoutProviderCost: 1,
    });

    // The overview page: the same figures as text, and both charts drawn.
    const data = await overview(adminCookie);
    expect(data.revenue.headline).toMatchObject({
      revenue: USD(revenue),
      providerCost: USD(providerCost),
      margin: USD(revenue - providerCost),
      generations: 4,
      withoutProviderCost: 1,
    });
    const charts = data.revenue.charts!;
    expect(charts.byDay.svgs.wide).toMatch(/^<svg/);
    expect(charts.byDay.svgs.narrow).toMatch(/^<svg/);
    expect(charts.byModel.svgs.wide).toContain("demo:chat-mini");
    expect(charts.byDay.rows).toHaveLength(REPORT_DAYS);
    expect(charts.byDay.rows.at(-1)!.slice(1)).toEqual([
      USD(a.cost! + c.cost!),
      USD(a.providerCost! + c.providerCost!),
      USD(a.cost! + c.cost! - a.providerCost! - c.providerCost!),
    ]);
    expect(charts.byModel.rows.map((row) => row[0]!.split("\n")[0])).toEqual(expectedModels.map((row) => row.model));
    const chatMargin = a.cost! + b.cost! - a.providerCost! - b.providerCost!;
    const chatRow = charts.byModel.rows.find((row) => row[0]!.startsWith("demo:chat\n"))!;
    expect(chatRow).toEqual([
      "demo:chat\n2 generations",
      USD(a.cost! + b.cost!),
      USD(a.providerCost! + b.providerCost!),
      `${USD(chatMargin)}\n${(marginBps({ revenue: a.cost! + b.cost!, margin: chatMargin })! / 100).toFixed(1)} %`,
    ]);

    // Support reads the overview too.
    const support = await createUser({ role: "support" });
    const asSupport = await overview((await signedInCookie(support.id)).cookie);
    expect(asSupport.revenue.headline.revenue).toBe(USD(revenue));
  });
});
