import { describe, expect, it } from "vitest";
import { prisma } from "#app/utils/db.server";

describe("test database", () => {
  it("is a migrated, empty PostgreSQL of our own", async () => {
    const [row] = await prisma.$queryRaw<{ db: string }[]>`SELECT current_database() AS db`;
    expect(row?.db).toMatch(/^test_/);
    expect(await prisma.user.count()).toBe(0);
  });
});
