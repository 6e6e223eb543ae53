import { describe, expect, it } from "vitest";
import { purgeExpiredJob } from "#app/jobs/maintenance.server";
import { loader as privacyLoader } from "#app/routes/privacy";
import { prisma } from "#app/utils/db.server";
import { env, parseEnv } from "#app/utils/env.server";
import { call } from "#tests/helpers";

// Retention of contact messages (issue #5): they are deleted CONTACT_RETENTION_DAYS after they arrive,
// answered or not, and the privacy page states the same number.

const DAY_MS = 86_400_000;

async function message(tag: string, ageDays: number, handled: boolean, now: Date) {
  const createdAt = new Date(now.getTime() - ageDays * DAY_MS);
  return prisma.contactMessage.create({
    data: {
      name: `Retention ${tag}`,
      email: `${tag}@example.com`,
      subject: "Retention test",
      message: `kept or not: ${tag}`,
      ip: "198.51.100.80",
      createdAt,
      handledAt: handled ? new Date(createdAt.getTime() + DAY_MS) : null,
    },
    select: { id: true },
  });
}

async function exists(id: string) {
  return (await prisma.contactMessage.count({ where: { id } })) === 1;
}

describe("contact message retention", () => {
  it("is configuration: 365 days by default, 1 to 3650, and the privacy page shows the configured number", async () => {
    expect(parseEnv({}).CONTACT_RETENTION_DAYS).toBe(365);
    expect(parseEnv({ CONTACT_RETENTION_DAYS: "30" }).CONTACT_RETENTION_DAYS).toBe(30);
    expect(() => parseEnv({ CONTACT_RETENTION_DAYS: "0" })).toThrow(/CONTACT_RETENTION_DAYS/);
    expect(() => parseEnv({ CONTACT_RETENTION_DAYS: "a year" })).toThrow(/CONTACT_RETENTION_DAYS/);

    const facts = (await call(privacyLoader, new Request("http://localhost:3000/privacy"))).data as {
      contactRetentionDays: number;
    };
    expect(facts.contactRetentionDays).toBe(env.CONTACT_RETENTION_DAYS);
  });

  it("the clean-up job deletes messages older than the limit, handled or not, and keeps younger ones", async () => {
    const now = new Date();
    const days = env.CONTACT_RETENTION_DAYS;
    const oldHandled = await message("old-handled", days + 1, true, now);
    const oldOpen = await message("old-open", days + 30, false, now);
    const youngHandled = await message("young-handled", days - 1, true, now);
    const youngOpen = await message("young-open", 2, false, now);

    const result = await purgeExpiredJob(now);
    expect(result.contactMessages).toBeGreaterThanOrEqual(2);
    expect(await exists(oldHandled.id)).toBe(false);
    expect(await exists(oldOpen.id)).toBe(false);
    expect(await exists(youngHandled.id)).toBe(true);
    expect(await exists(youngOpen.id)).toBe(true);

    // A shorter setting takes effect on the next run.
    const second = await purgeExpiredJob(now, 1);
    expect(second.contactMessages).toBeGreaterThanOrEqual(2);
    expect(await exists(youngHandled.id)).toBe(false);
    expect(await exists(youngOpen.id)).toBe(false);
  });
});
