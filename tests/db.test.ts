import { describe, expect, it, vi } from "vitest";

// The hot paths that bypass Prisma (app/utils/db.server.ts `sql`) must hand the rest of the app exactly
// what Prisma would: same field names, BigInt money, Dates, parsed JSON.
vi.hoisted(() => {
  process.env.DEMO_WORD_DELAY_MS = "0";
});

import { Prisma, type CatalogModel, type Generation } from "@prisma/client";
import { getCatalogEntry } from "#app/models/catalog.server";
import { prepareText, streamText } from "#app/models/generation.server";
import { checkInvariants } from "#app/models/ledger.server";
import { camelRow, columnsOf, newId, prisma, sql, stableId } from "#app/utils/db.server";
import { createUser, fundWallet } from "#tests/helpers";

describe("sql (straight on the pool)", () => {
  it("returns int8 as BigInt, timestamptz as Date and jsonb parsed", async () => {
    const [row] = await sql<{ big: bigint; at: Date; doc: unknown; small: number }>({
      text: "SELECT 9007199254740993::bigint AS big, now() AS at, '{\"a\":[1]}'::jsonb AS doc, 7::int AS small",
    });
    expect(row!.big).toBe(9007199254740993n);
    expect(row!.at).toBeInstanceOf(Date);
    expect(row!.doc).toEqual({ a: [1] });
    expect(row!.small).toBe(7);
  });

  it("sends values as parameters, never as SQL text", async () => {
    const hostile = "x'); DROP TABLE users; --";
    const [row] = await sql<{ value: string }>({ name: "db_test_echo", text: "SELECT $1::text AS value" }, [hostile]);
    expect(row!.value).toBe(hostile);
    expect(await prisma.user.count()).toBeGreaterThanOrEqual(0);
  });

  it("newId makes distinct cuid-shaped ids", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^c[0-9a-z]{24}$/);
  });

  it("stableId gives the same parts the same cuid-shaped id, and different parts another", () => {
    const id = stableId("generation", "user1", "request1");
    expect(id).toMatch(/^c[0-9a-z]{24}$/);
    expect(stableId("generation", "user1", "request1")).toBe(id);
    expect(stableId("generation", "user2", "request1")).not.toBe(id);
    // The parts are kept apart: moving a character across a boundary is another id.
    expect(stableId("ab", "c")).not.toBe(stableId("a", "bc"));
  });
});

describe("camelRow", () => {
  it("turns a generation made and settled through sql into exactly the row Prisma reads", async () => {
    const user = await createUser();
    await fundWallet(user.id, 1_000_000n);
    const prepared = await prepareText({
      userId: user.id,
      requestId: `db-test-${newId()}`,
      modelId: "demo:chat",
      prompt: "Say something short",
      files: [],
      maxOutputTokens: 64,
    });
    if (prepared.replayed) throw new Error("expected a new generation");
    const settled = await streamText(prepared, () => undefined);
    expect(settled.status).toBe("succeeded");
    expect(typeof settled.cost).toBe("bigint");
    expect(settled.cost! > 0n).toBe(true);
    expect(settled.providerCost).toBe(settled.cost); // the demo model has no markup

    const viaPrisma = await prisma.generation.findUniqueOrThrow({ where: { id: settled.id } });
    expect(settled).toEqual(viaPrisma);
    const [raw] = await sql(
      {
        text: `SELECT ${columnsOf(Prisma.GenerationScalarFieldEnum)} FROM generations WHERE id = $1`,
      },
      [settled.id],
    );
    expect(camelRow<Generation>(raw!)).toEqual(viaPrisma);
    expect(Object.keys(settled).sort()).toEqual(Object.keys(viaPrisma).sort());

    const conversation = await prisma.conversation.findFirstOrThrow({ where: { id: settled.conversationId! } });
    expect(conversation.userId).toBe(user.id);
    expect(conversation.updatedAt).toBeInstanceOf(Date);
    expect((await checkInvariants()).problems).toEqual([]);
  });

  it("turns a catalog row into exactly the row Prisma reads", async () => {
    await getCatalogEntry("demo:chat"); // seeds the catalog
    const viaPrisma = await prisma.catalogModel.findUniqueOrThrow({ where: { id: "demo:chat" } });
    const [raw] = await sql(
      {
        text: `SELECT ${columnsOf(Prisma.CatalogModelScalarFieldEnum)} FROM catalog_models WHERE id = $1`,
      },
      ["demo:chat"],
    );
    expect(camelRow<CatalogModel>(raw!)).toEqual(viaPrisma);
  });
});
