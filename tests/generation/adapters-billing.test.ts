import { afterAll, afterEach, describe, expect, it, vi } from "vitest";

// Every real adapter through the whole generation path — hold, provider call through the vendor's SDK or
// HTTP API against a local wire-format fake, stored output, settlement — billed exactly usage × catalog price.
const setup = await vi.hoisted(async () => {
  const [
    { startFakeAnthropic },
    { startFakeGoogle },
    { startFakeFlux },
    { startFakeElevenLabs },
    { startFakeFal },
    { startFakeOpenAI },
  ] = await Promise.all([
    import("../fakes/anthropic-server"),
    import("../fakes/google-server"),
    import("../fakes/flux-server"),
    import("../fakes/elevenlabs-server"),
    import("../fakes/fal-server"),
    import("../fakes/openai-server"),
  ]);
  const fakes = {
    openai: await startFakeOpenAI(),
    anthropic: await startFakeAnthropic(),
    google: await startFakeGoogle(),
    flux: await startFakeFlux(),
    elevenlabs: await startFakeElevenLabs(),
    fal: await startFakeFal(),
  };
  Object.assign(process.env, {
    OPENAI_API_KEY: "sk-test-billing",
    OPENAI_BASE_URL: fakes.openai.url,
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
import { ONE_PIXEL_PNG_BASE64 } from "#tests/fakes/openai-server";
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

  it("GPT Image 1 edit: input tokens (prompt and pictures) at the input price, output per image; the hold covered both", async () => {
    // OpenAI's usage for an edit of two pictures: 38 text tokens and 1,212 picture tokens in, 1,056 out.
    fakes.openai.imageUsage = {
      input_tokens: 1_250,
      input_tokens_details: { text_tokens: 38, image_tokens: 1_212 },
      output_tokens: 1_056,
    };
    const png = new Uint8Array(Buffer.from(ONE_PIXEL_PNG_BASE64, "base64"));
    const picture = (name: string) => ({ filename: name, bytes: png, mediaType: "image/png" });
    const prompt = "Make both skies purple";
    const { user, row } = await media("image", {
      modelId: "openai:gpt-image-1",
      prompt,
      size: "1024x1024",
      quality: "medium",
      files: [picture("a.png"), picture("b.png")],
    });
    expect(fakes.openai.requests.at(-1)!.path).toBe("/v1/images/edits");
    // The hold: the image, plus a token per byte of prompt (and 8 per message) and 1,600 per picture.
    const entry = (await getCatalogEntry("openai:gpt-image-1"))!;
    expect(entry.capabilities.tokensPerImage).toBe(1_600);
    expect(
      row.heldAmount,
      "the hold must bound the input tokens: prepareMedia passes the prompt and pictures to estimateImages",
    ).toBe(42_000n + BigInt(8 + prompt.length + 2 * 1_600) * 10n);
    // $0.042 for the medium 1024×1024 image + 1,250 input tokens × $10 per million = $0.0545.
    await expectBilled(user, row, { usage: { images: 1, inputTokens: 1_250, outputTokens: 1_056 }, cost: 54_500n });
    expect(row.heldAmount).toBeGreaterThanOrEqual(row.cost!);
    expect(row.uncappedCost).toBeNull();

    // A plain generation bills its prompt's tokens too, and its hold covers them.
    fakes.openai.imageUsage = { input_tokens: 9, output_tokens: 272 };
    const plain = await media("image", {
      modelId: "openai:gpt-image-1",
      prompt: "A kite",
      size: "1024x1024",
      quality: "low",
    });
    expect(plain.row.heldAmount).toBe(11_000n + BigInt(8 + "A kite".length) * 10n);
    await expectBilled(plain.user, plain.row, {
      usage: { images: 1, inputTokens: 9, outputTokens: 272 },
      cost: 11_090n,
    });
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
