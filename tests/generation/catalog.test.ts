import { describe, expect, it } from "vitest";
import { getCatalogEntry, listCatalog } from "#app/models/catalog.server";
import { loader as listLoader } from "#app/routes/admin.models._index";
import { action as editAction, loader as editLoader } from "#app/routes/admin.models.$id";
import { describePrice } from "#app/utils/catalog";
import { prisma } from "#app/utils/db.server";
import { call, createUser, getRequest, postRequest, signedInCookie } from "#tests/helpers";

// The catalog an admin edits: seeded rows, prices typed in currency units and stored as exact micro-units,
// every change audited, a switched-off model gone from the picker.

async function signedIn(role: "admin" | "member") {
  const user = await createUser({ role });
  return { user, cookie: (await signedInCookie(user.id)).cookie };
}

const form = (overrides: Record<string, string> = {}) => ({
  label: "Demo chat",
  description: "Offline demo",
  enabled: "on",
  inputPerMillion: "0.10",
  outputPerMillion: "0.40",
  cachedInputPerMillion: "",
  markupPercent: "",
  ...overrides,
});

describe("model catalog", () => {
  it("is seeded with every modality and marks providers without keys unavailable", async () => {
    const catalog = await listCatalog();
    expect(new Set(catalog.map((entry) => entry.modality))).toEqual(new Set(["text", "image", "speech", "video"]));
    expect(catalog.find((entry) => entry.id === "demo:chat")).toMatchObject({ available: true, providerLabel: "Demo" });
    const claude = catalog.find((entry) => entry.id === "anthropic:claude-sonnet-4-6")!;
    expect(claude.available).toBe(false);
    expect(claude.unavailableReason).toMatch(/no key/);
    expect(claude.price.inputPerMillion).toBe(3_000_000n);
  });

  it("is the admin's alone: members get a 404", async () => {
    const { cookie } = await signedIn("member");
    expect((await call(listLoader, getRequest("/admin/models", { cookie }))).status).toBe(404);
    const edit = await call(editAction, postRequest("/admin/models/demo:chat", form(), { cookie }), {
      id: "demo:chat",
    });
    expect(edit.status).toBe(404);
  });

  it("saves exact prices and markup, audits before and after, and applies them to the next estimate", async () => {
    const { user, cookie } = await signedIn("admin");
    const page = await call(editLoader, getRequest("/admin/models/demo:chat", { cookie }), { id: "demo:chat" });
    expect((page.data as { defaults: Record<string, string> }).defaults).toMatchObject({
      inputPerMillion: "0.1",
      outputPerMillion: "0.4",
    });
    const result = await call(
      editAction,
      postRequest("/admin/models/demo:chat", form({ outputPerMillion: "1.234567", markupPercent: "12.5" }), { cookie }),
      { id: "demo:chat" },
    );
    expect(result.status).toBe(302);
    const entry = (await getCatalogEntry("demo:chat"))!;
    expect(entry.price).toMatchObject({ outputPerMillion: 1_234_567n, markupBps: 1250 });
    const event = await prisma.auditEvent.findFirstOrThrow({
      where: { action: "catalog.update", targetId: "demo:chat" },
    });
    expect(event.actorId).toBe(user.id);
    expect(event.before).toMatchObject({ outputPerMillion: "400000", markupBps: 0 });
    expect(event.after).toMatchObject({ outputPerMillion: "1234567", markupBps: 1250 });
  });

  it("an image model's form keeps and edits its input-token price (GPT Image bills prompt and pictures)", async () => {
    const { cookie } = await signedIn("admin");
    const page = await call(editLoader, getRequest("/admin/models/demo:image", { cookie }), { id: "demo:image" });
    const defaults = (page.data as { defaults: Record<string, string> }).defaults;
    const result = await call(
      editAction,
      postRequest(
        "/admin/models/demo:image",
        { ...defaults, enabled: "on", perImage: defaults.perImage ?? "0.002", inputPerMillion: "10" },
        { cookie },
      ),
      { id: "demo:image" },
    );
    expect(result.status).toBe(302);
    const entry = (await getCatalogEntry("demo:image"))!;
    expect(entry.price.inputPerMillion).toBe(10_000_000n);
    expect(describePrice(entry, "USD")).toMatch(/ per image \+ \$10\.00 per million input tokens$/);
    // Restore the seeded price for the other tests of this worker.
    await prisma.catalogModel.update({ where: { id: "demo:image" }, data: { inputPerMillion: 0n } });
  });

  it("refuses a malformed price with a field error and changes nothing", async () => {
    const { cookie } = await signedIn("admin");
    const before = await prisma.catalogModel.findUniqueOrThrow({ where: { id: "demo:image" } });
    const result = await call(
      editAction,
      postRequest(
        "/admin/models/demo:image",
        { label: "Demo image", enabled: "on", perImage: "abc", imagePrices: "huge = 1" },
        { cookie },
      ),
      { id: "demo:image" },
    );
    expect(result.status).toBe(400);
    const errors = (result.data as { result: { error: Record<string, string[]> } }).result.error;
    expect(errors.perImage?.[0]).toMatch(/Per image/);
    expect(errors.imagePrices?.[0]).toMatch(/Line 1/);
    expect(await prisma.catalogModel.findUniqueOrThrow({ where: { id: "demo:image" } })).toEqual(before);
  });

  it("switching a model off removes it from the picker", async () => {
    const { cookie } = await signedIn("admin");
    const { enabled: _enabled, ...withoutEnabled } = form({ label: "Demo chat mini" });
    const result = await call(editAction, postRequest("/admin/models/demo:chat-mini", withoutEnabled, { cookie }), {
      id: "demo:chat-mini",
    });
    expect(result.status).toBe(302);
    expect((await listCatalog()).some((entry) => entry.id === "demo:chat-mini")).toBe(false);
    expect((await getCatalogEntry("demo:chat-mini"))!.available).toBe(false);
  });

  it("answers 404 for an unknown model", async () => {
    const { cookie } = await signedIn("admin");
    expect((await call(editLoader, getRequest("/admin/models/nope:x", { cookie }), { id: "nope:x" })).status).toBe(404);
  });
});
