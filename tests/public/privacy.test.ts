import { describe, expect, it } from "vitest";
import { listCatalog } from "#app/models/catalog.server";
import { SESSION_DAYS } from "#app/models/session.server";
import { loader } from "#app/routes/privacy";
import { prisma } from "#app/utils/db.server";
import { call } from "#tests/helpers";

type Facts = {
  sessionDays: number;
  pendingEmailMinutes: number | null;
  longestRateWindowMinutes: number;
  providers: Array<{ label: string; note: string; local: boolean }>;
};

describe("privacy policy facts", () => {
  it("comes from the code: session length, cookie lifetime, rate-limit windows", async () => {
    const facts = (await call(loader, new Request("http://localhost:3000/privacy"))).data as Facts;
    expect(facts.sessionDays).toBe(SESSION_DAYS);
    expect(facts.pendingEmailMinutes).toBe(60);
    expect(facts.longestRateWindowMinutes).toBe(60);
  });

  it("names only the providers that can receive prompts on this server", async () => {
    const catalog = await listCatalog();
    const usable = new Set(catalog.filter((entry) => entry.available).map((entry) => entry.providerLabel));
    const facts = (await call(loader, new Request("http://localhost:3000/privacy"))).data as Facts;
    expect(new Set(facts.providers.map((provider) => provider.label))).toEqual(usable);
    const unusable = catalog.filter((entry) => !entry.available && !usable.has(entry.providerLabel));
    for (const entry of unusable) {
      expect(facts.providers.map((provider) => provider.label)).not.toContain(entry.providerLabel);
    }

    // Switch every demo model off: the demo provider no longer receives anything, so it is not listed.
    await prisma.catalogModel.updateMany({ where: { provider: "demo" }, data: { enabled: false } });
    const after = (await call(loader, new Request("http://localhost:3000/privacy"))).data as Facts;
    expect(after.providers.some((provider) => provider.local)).toBe(false);
  });
});
