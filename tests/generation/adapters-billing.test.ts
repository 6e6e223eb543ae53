import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// Every real adapter through the whole generation path — hold, provider call through the vendor's SDK or
// HTTP API against a local wire-format fake, stored output, settlement — billed exactly usage × catalog price.
const setup = await vi.hoisted(async () => {
  const [{ startFakeAnthropic }, { startFakeGoogle }, { startFakeFlux }, { startFakeElevenLabs }, { startFakeFal }] =
    await Promise.all([
      import("../fakes/anthropic-server"),
      import("../fakes/google-server"),
      import("../fakes/flux-server"),
      import("../fakes/elevenlabs-server"),
      import("../fakes/fal-server"),
    ]);
  const fakes = {
    anthropic: await startFakeAnthropic(),
    google: await startFakeGoogle(),
    flux: await startFakeFlux(),
    elevenlabs: await startFakeElevenLabs(),
    fal: await startFakeFal(),
  };
  Object.assign(process.env, {
    ANTHROPIC_API_KEY: "sk-ant-test",
    ANTHROPIC_BASE_URL: fakes.anthropic.url,
    GEMINI_API_KEY: "gemini-test",
    GEMINI_BASE_URL: fakes.google.url,
    BFL_API_KEY: "bfl-test",
    BFL_BASE_URL: fakes.flux.url,
    ELEVENLABS_API_KEY: "el-test",
    ELEVENLABS_BASE_URL: fakes.elevenlabs.url,
    FAL_KEY: "fal-test",
    FAL_BASE_URL: fakes.fal.url,
    WALLET_CURRENCY: "USD",
  });
  return { fakes };
});

import { getCatalogEntry } from "#app/models/catalog.server";
import { prepareMedia, prepareText, runMedia, streamText, type MediaInput } from "#app/models/generation.server";
import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { prisma } from "#app/utils/db.server";
import { priceOf, type Usage } from "#app/utils/pricing";
import { createUser, fundWallet } from "#tests/helpers";

const { fakes } = setup;
const START = 10_000_000n; // $10

afterEach(async () => {
  expect((await checkInvariants()).problems).toEqual([]);
});
afterAll(async () => {
  await Promise.all(Object.values(fakes).map((fake) => fake.close()));
});

let counter = 0;
const requestId = () => `bill${process.pid}x${(counter += 1)}x${Date.now()}`;

async function funded() {
  const user = await createUser();
  await fundWallet(user.id, START);
  return user;
}

async function text(modelId: string) {
  const user = await funded();
  const prepared = await prepareText({ userId: user.id, requestId: requestId(), modelId, prompt: "Hello", files: [] });
  if (prepared.replayed) throw new Error("unexpected replay");
  const row = await streamText(prepared, () => undefined);
  return { user, row };
}

async function media(modality: "image" | "speech" | "video", input: Omit<MediaInput, "userId" | "requestId">) {
  const user = await funded();
  const { row } = await prepareMedia(modality, { userId: user.id, requestId: requestId(), ...input });
  for (let step = 0; step < 20; step++) if ((await runMedia(row.id)).next === "done") break;
  return { user, row: await prisma.generation.findUniqueOrThrow({ where: { id: row.id } }) };
}

async function expectBilled(
  user: { id: string },
  row: { modelId: string; status: string; cost: bigint | null; usage: unknown; params: unknown },
  expected: { usage: Usage; cost: bigint },
) {
  expect(row.status).toBe("succeeded");
  expect(row.usage).toEqual(expected.usage);
  const params = row.params as { size?: string; quality?: string };
  const price = (await getCatalogEntry(row.modelId))!.price;
  expect(priceOf(price, expected.usage, { size: params.size, quality: params.quality })).toBe(expected.cost);
  expect(row.cost).toBe(expected.cost);
  expect((await getWalletBalance(user.id)).balance).toBe(START - expected.cost);
}

describe("billing through every adapter", () => {
  it("Anthropic: cache reads at the cached price, cache writes as input", async () => {
    const { user, row } = await text("anthropic:claude-sonnet-4-6");
    // 200 input + 1000 cache read + 34 cache write, 56 output: 234×$3 + 1000×$0.30 + 56×$15 per million.
    await expectBilled(user, row, {
      usage: { inputTokens: 1234, cachedInputTokens: 1000, outputTokens: 56 },
      cost: 1_842n,
    });
  });

  it("Gemini: thinking tokens billed as output", async () => {
    const { user, row } = await text("google:gemini-2.5-flash");
    // 210×$0.30 + 1024×$0.03 + (56 + 100)×$2.50 per million = 483.72 → 484 micro-units.
    await expectBilled(user, row, {
      usage: { inputTokens: 1234, cachedInputTokens: 1024, outputTokens: 156 },
      cost: 484n,
    });
  });

  it("Gemini image: per image", async () => {
    const { user, row } = await media("image", { modelId: "google:gemini-2.5-flash-image", prompt: "A kite" });
    await expectBilled(user, row, { usage: { images: 1, inputTokens: 12, outputTokens: 1290 }, cost: 39_000n });
  });

  it("Veo: per second of video, after polling the long-running operation", async () => {
    const { user, row } = await media("video", { modelId: "google:veo-3.0-fast-generate-001", prompt: "Waves" });
    await expectBilled(user, row, { usage: { videoSeconds: 8 }, cost: 3_200_000n });
  });

  it("Flux: per image, after polling", async () => {
    const { user, row } = await media("image", { modelId: "flux:flux-pro-1.1", prompt: "A fox", size: "1024x1024" });
    await expectBilled(user, row, { usage: { images: 1 }, cost: 40_000n });
    expect(fakes.flux.requests.some((request) => request.path.startsWith("/v1/flux-pro-1.1"))).toBe(true);
  });

  it("ElevenLabs: per character", async () => {
    const { user, row } = await media("speech", {
      modelId: "elevenlabs:eleven_multilingual_v2",
      prompt: "Bonjour à tous 👋", // 16 code points
    });
    // 16 × $0.30 / 1000 = $0.0048.
    await expectBilled(user, row, { usage: { characters: 16 }, cost: 4_800n });
  });

  it("fal.ai (Kling): per second, through the queue API", async () => {
    const { user, row } = await media("video", {
      modelId: "fal:fal-ai/kling-video/v2.1/standard/text-to-video",
      prompt: "A city at night",
      seconds: 5,
    });
    await expectBilled(user, row, { usage: { videoSeconds: 5 }, cost: 250_000n });
    const files = await prisma.generationFile.count({ where: { generationId: row.id, role: "output" } });
    expect(files).toBe(1);
  });
});
