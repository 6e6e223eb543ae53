import { describe, expect, it } from "vitest";
import { listCatalog } from "#app/models/catalog.server";
import { loader as indexLoader } from "#app/routes/_index";
import { loader as pricingLoader } from "#app/routes/pricing";
import { describePrice } from "#app/utils/catalog";
import { prisma } from "#app/utils/db.server";
import { env } from "#app/utils/env.server";
import { formatMoney } from "#app/utils/money";
import { call, getRequest } from "#tests/helpers";

type PublicModel = { id: string; price: string; demo: boolean; providerLabel: string; available?: boolean };
type Group = { modality: string; label: string; models: PublicModel[] };

async function landing() {
  const result = await call(indexLoader, getRequest("/"));
  expect(result.status).toBe(200);
  return result.data as { groups: Group[]; unavailableCount: number };
}

async function pricing() {
  const result = await call(pricingLoader, getRequest("/pricing"));
  expect(result.status).toBe(200);
  return result.data as {
    groups: Group[];
    currency: string;
    topUp: { min: string; max: string };
    welcomeCredit: string | null;
    timeoutMinutes: number;
  };
}

const models = (groups: Group[]) => groups.flatMap((group) => group.models);

describe("public catalog pages", () => {
  it("the landing page lists the available models by modality with the catalog's exact prices", async () => {
    const catalog = await listCatalog();
    const demoChat = catalog.find((entry) => entry.id === "demo:chat")!;
    const demoImage = catalog.find((entry) => entry.id === "demo:image")!;
    expect(demoChat.available).toBe(true);

    const page = await landing();
    const listed = models(page.groups);
    expect(listed.find((model) => model.id === "demo:chat")).toMatchObject({
      price: describePrice(demoChat, env.WALLET_CURRENCY),
      demo: true,
    });
    expect(listed.find((model) => model.id === "demo:image")?.price).toBe(
      describePrice(demoImage, env.WALLET_CURRENCY),
    );
    // Grouped by modality, each group holding only its own models, and only models usable here.
    const text = page.groups.find((group) => group.modality === "text")!;
    expect(text.label).toBe("Text and chat");
    expect(text.models.map((model) => model.id)).toContain("demo:chat");
    expect(text.models.map((model) => model.id)).not.toContain("demo:image");
    const unavailable = catalog.filter((entry) => !entry.available).map((entry) => entry.id);
    for (const id of unavailable) expect(listed.map((model) => model.id)).not.toContain(id);
    expect(page.unavailableCount).toBe(unavailable.length);
  });

  it("pricing lists every enabled model, marks unavailable ones, and states the wallet settings", async () => {
    const catalog = await listCatalog();
    const page = await pricing();
    const listed = models(page.groups);
    expect(listed.map((model) => model.id).sort()).toEqual(catalog.map((entry) => entry.id).sort());
    for (const entry of catalog) {
      const row = listed.find((model) => model.id === entry.id)!;
      expect(row.price).toBe(describePrice(entry, env.WALLET_CURRENCY));
      expect(row.available).toBe(entry.available);
    }
    expect(page.currency).toBe(env.WALLET_CURRENCY);
    expect(page.topUp).toEqual({
      min: formatMoney(env.topUp.min, env.WALLET_CURRENCY),
      max: formatMoney(env.topUp.max, env.WALLET_CURRENCY),
    });
    expect(page.welcomeCredit).toBe(
      env.welcomeCredit > 0n ? formatMoney(env.welcomeCredit, env.WALLET_CURRENCY) : null,
    );
    expect(page.timeoutMinutes).toBe(env.GENERATION_TIMEOUT_SECONDS / 60);
  });

  it("a price change by an admin shows at once, markup included", async () => {
    await prisma.catalogModel.update({
      where: { id: "demo:chat-mini" },
      data: { inputPerMillion: 1_000_000n, outputPerMillion: 2_000_000n, markupBps: 1_000 },
    });
    const listed = models((await pricing()).groups);
    const expected = describePrice(
      (await listCatalog()).find((entry) => entry.id === "demo:chat-mini")!,
      env.WALLET_CURRENCY,
    );
    expect(expected).toContain(formatMoney(1_100_000n, env.WALLET_CURRENCY));
    expect(listed.find((model) => model.id === "demo:chat-mini")?.price).toBe(expected);
  });

  it("a model switched off by an admin disappears from both pages", async () => {
    expect(models((await landing()).groups).map((model) => model.id)).toContain("demo:speech");
    await prisma.catalogModel.update({ where: { id: "demo:speech" }, data: { enabled: false } });
    const landingPage = await landing();
    const pricingPage = await pricing();
    expect(models(landingPage.groups).map((model) => model.id)).not.toContain("demo:speech");
    expect(models(pricingPage.groups).map((model) => model.id)).not.toContain("demo:speech");
    // A modality left with no model is not shown as an empty group.
    expect(landingPage.groups.every((group) => group.models.length > 0)).toBe(true);
  });
});
