import { rm } from "node:fs/promises";
import { afterAll, describe, expect, it, vi } from "vitest";

// Support access only with the member's permission, end to end through the real loaders and actions:
// a member grants access to one generation (from /history/:id) or to the whole history (from
// /settings/privacy) for a fixed time; staff see it at /admin/support/:id (files through
// /admin/support/files/:id) only while the grant runs; every view is audited; the grant ends by itself,
// when revoked, or with the account. Generations are made with the real path (offline demo provider, real
// ledger) or written straight into the table for read-only scenarios. Files go to a throw-away folder.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-support-${process.pid}-${Date.now()}`;
  process.env.STORAGE_DIR = dir;
  process.env.DEMO_WORD_DELAY_MS = "0";
  process.env.WALLET_CURRENCY = "USD";
  return dir;
});

import type { Prisma } from "@prisma/client";
import { prepareMedia, prepareText, runMedia, streamText } from "#app/models/generation.server";
import { deleteGeneration } from "#app/models/history.server";
import {
  getGenerationForSupport,
  grantSupportAccess,
  listActiveGrants,
  revokeSupportAccess,
} from "#app/models/support-access.server";
import { loader as supportFileLoader } from "#app/routes/admin.support.files.$id";
import { loader as supportViewLoader } from "#app/routes/admin.support.$id";
import { loader as supportListLoader } from "#app/routes/admin.support._index";
import { loader as supportMemberLoader } from "#app/routes/admin.support.members.$id";
import { loader as fileLoader } from "#app/routes/files.$id";
import { action as historyAction, loader as historyLoader } from "#app/routes/history.$id";
import { action as privacyAction, loader as privacyLoader } from "#app/routes/settings.privacy";
import { prisma } from "#app/utils/db.server";
import { isForbiddenCrossOrigin } from "#app/utils/origin.server";
import {
  BASE_URL,
  call,
  createUser,
  fundWallet,
  getRequest,
  postRequest,
  signedInCookie,
  TEST_PASSWORD,
} from "#tests/helpers";

const DOLLAR = 1_000_000n;
const HOUR_MS = 3_600_000;

afterAll(async () => {
  await rm(storageDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers

async function signedIn(role: "member" | "support" | "admin" = "member", balance = 0n) {
  const user = await createUser({ role });
  if (balance > 0n) await fundWallet(user.id, balance);
  const { cookie } = await signedInCookie(user.id);
  return { user, cookie };
}

let counter = 0;
const requestId = () => `sup${process.pid}x${(counter += 1)}x${Math.random().toString(36).slice(2, 8)}`;

/** A text generation through the real path: held, streamed by the demo model, settled. */
async function runText(userId: string, prompt: string) {
  const prepared = await prepareText({ userId, requestId: requestId(), modelId: "demo:chat", prompt, files: [] });
  if (prepared.replayed) throw new Error("unexpected replay");
  return streamText(prepared, () => undefined);
}

/** An image generation through the real path: two output files owned by the member. */
async function runImage(userId: string, prompt: string) {
  const { row } = await prepareMedia("image", {
    userId,
    requestId: requestId(),
    modelId: "demo:image",
    prompt,
    n: 2,
    size: "512x512",
  });
  expect(await runMedia(row.id)).toEqual({ next: "done" });
  const files = await prisma.generationFile.findMany({ where: { generationId: row.id }, orderBy: { position: "asc" } });
  expect(files.length).toBe(2);
  return { id: row.id, fileIds: files.map((file) => file.fileId) };
}

/** A row written directly, for read-only scenarios. */
function insert(userId: string, data: Partial<Prisma.GenerationUncheckedCreateInput> = {}) {
  return prisma.generation.create({
    data: {
      userId,
      requestId: requestId(),
      modelId: "demo:chat",
      modelLabel: "Demo chat",
      modality: "text",
      status: "succeeded",
      prompt: "A prompt",
      outputText: "An answer",
      heldAmount: 10_000n,
      cost: 1_000n,
      ...data,
    },
  });
}

const view = (cookie: string, id: string) =>
  call(supportViewLoader, getRequest(`/admin/support/${id}`, { cookie }), { id });
const staffFile = (cookie: string, id: string, headers: Record<string, string> = {}) =>
  call(supportFileLoader, getRequest(`/admin/support/files/${id}`, { cookie, headers }), { id });
const ownerFile = (cookie: string, id: string) => call(fileLoader, getRequest(`/files/${id}`, { cookie }), { id });
const browse = (cookie: string, id: string) =>
  call(supportMemberLoader, getRequest(`/admin/support/members/${id}`, { cookie }), { id });
const staffList = (cookie: string) => call(supportListLoader, getRequest("/admin/support", { cookie }));

const onItem = (cookie: string, id: string, form: Record<string, string>) =>
  call(historyAction, postRequest(`/history/${id}`, form, { cookie }), { id });
const onPrivacy = (cookie: string, form: Record<string, string>) =>
  call(privacyAction, postRequest("/settings/privacy", form, { cookie }));

const grantItem = (cookie: string, id: string, duration = "1h") =>
  onItem(cookie, id, { intent: "support-grant", duration });

const supportEvents = (where: Prisma.AuditEventWhereInput = {}) =>
  prisma.auditEvent.findMany({
    where: { action: { startsWith: "support." }, ...where },
    orderBy: { createdAt: "asc" },
  });

const views = (generationId: string) => supportEvents({ action: "support.view", targetId: generationId });

type ViewData = Awaited<ReturnType<typeof supportViewLoader>>;
type ListData = Awaited<ReturnType<typeof supportListLoader>>;
type MemberData = Awaited<ReturnType<typeof supportMemberLoader>>;
type HistoryData = Awaited<ReturnType<typeof historyLoader>>;
type PrivacyData = Awaited<ReturnType<typeof privacyLoader>>;

// ---------------------------------------------------------------------------------------------

describe("without the member's permission", () => {
  it("staff get 404 for the generation and its files, and nothing is audited", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const admin = await signedIn("admin");
    const support = await signedIn("support");
    const image = await runImage(owner.user.id, "a lighthouse at dusk");

    for (const staff of [admin, support]) {
      expect((await view(staff.cookie, image.id)).status).toBe(404);
      for (const fileId of image.fileIds) {
        expect((await staffFile(staff.cookie, fileId)).status).toBe(404);
        // The owner-only file route is not loosened for staff either.
        expect((await ownerFile(staff.cookie, fileId)).status).toBe(404);
      }
    }
    expect(await getGenerationForSupport({ id: admin.user.id, role: "admin" }, image.id)).toBeNull();
    expect(await supportEvents({ actorId: { in: [admin.user.id, support.user.id] } })).toEqual([]);
    // The owner still gets their own file.
    expect((await ownerFile(owner.cookie, image.fileIds[0]!)).status).toBe(200);
  });

  it("a member gets 404 on every support page; anonymous visitors are sent to sign in", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const other = await signedIn("member");
    const image = await runImage(owner.user.id, "a red kite");
    expect((await grantItem(owner.cookie, image.id)).status).toBe(302);
    expect((await onPrivacy(owner.cookie, { intent: "support-grant", duration: "1h" })).status).toBe(302);

    // Even the member who gave the permission is not staff.
    for (const member of [owner, other]) {
      expect((await staffList(member.cookie)).status).toBe(404);
      expect((await view(member.cookie, image.id)).status).toBe(404);
      expect((await staffFile(member.cookie, image.fileIds[0]!)).status).toBe(404);
      expect((await browse(member.cookie, owner.user.id)).status).toBe(404);
    }
    const anonymous = await view("", image.id);
    expect(anonymous.status).toBe(302);
    expect(anonymous.location).toMatch(/^\/login/);
    expect(
      await supportEvents({
        action: { in: ["support.view", "support.file_view", "support.browse"] },
        targetId: image.id,
      }),
    ).toEqual([]);
  });
});

describe("a grant on one generation", () => {
  it("is given from the item; staff then see prompt, output and files; every view is audited once, by id only", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const admin = await signedIn("admin");
    const support = await signedIn("support");
    const prompt = "my secret lighthouse prompt";
    const image = await runImage(owner.user.id, prompt);
    const text = await runText(owner.user.id, "another private question");

    const before = Date.now();
    const granted = await grantItem(owner.cookie, image.id, "24h");
    expect(granted.status).toBe(302);
    expect(granted.location).toBe(`/history/${image.id}?support=granted`);
    const [grant] = await prisma.supportGrant.findMany({ where: { userId: owner.user.id } });
    expect(grant).toMatchObject({ generationId: image.id, revokedAt: null });
    expect(grant!.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 24 * HOUR_MS - 1000);
    expect(grant!.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 24 * HOUR_MS + 1000);
    const [grantEvent] = await supportEvents({ action: "support.grant", targetId: image.id });
    expect(grantEvent).toMatchObject({ actorId: owner.user.id, targetType: "generation", ip: "203.0.113.9" });

    // The member's page shows it, with its end.
    const page = await call(
      historyLoader,
      getRequest(`/history/${image.id}?support=granted`, { cookie: owner.cookie }),
      {
        id: image.id,
      },
    );
    const pageData = page.data as HistoryData;
    expect(pageData.support.grants).toEqual([
      expect.objectContaining({ id: grant!.id, scope: "generation", expiresIso: grant!.expiresAt.toISOString() }),
    ]);
    expect(pageData.support.done).toMatch(/can now see/);

    // Staff see it: the prompt, the output files, through the guarded file route.
    const seen = await view(support.cookie, image.id);
    expect(seen.status).toBe(200);
    const data = seen.data as ViewData;
    expect(data).toMatchObject({ id: image.id, prompt, member: { id: owner.user.id }, grant: { scope: "generation" } });
    expect(data.outputs.map((file) => file.id).sort()).toEqual([...image.fileIds].sort());
    expect((await views(image.id)).length).toBe(1);
    expect((await view(admin.cookie, image.id)).status).toBe(200);
    const events = await views(image.id);
    expect(events.length).toBe(2);
    expect(events.map((event) => event.actorId)).toEqual([support.user.id, admin.user.id]);
    expect(events[0]).toMatchObject({
      targetType: "generation",
      targetId: image.id,
      after: { grantId: grant!.id, memberId: owner.user.id },
    });

    const file = await staffFile(admin.cookie, image.fileIds[0]!);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toMatch(/^image\//);
    expect(file.headers.get("cache-control")).toBe("private, no-store");
    const fileEvents = await supportEvents({ action: "support.file_view", targetId: image.fileIds[0]! });
    expect(fileEvents).toEqual([
      expect.objectContaining({
        actorId: admin.user.id,
        after: { grantId: grant!.id, generationId: image.id, memberId: owner.user.id },
      }),
    ]);
    // The rest of a file fetched in byte ranges is the same view: not audited again.
    const rest = await staffFile(admin.cookie, image.fileIds[0]!, { range: "bytes=10-" });
    expect(rest.status).toBe(206);
    expect((await supportEvents({ action: "support.file_view", targetId: image.fileIds[0]! })).length).toBe(1);
    // /files/:id stays the owner's.
    expect((await ownerFile(admin.cookie, image.fileIds[0]!)).status).toBe(404);

    // Only that generation: the member's other one stays closed.
    expect((await view(admin.cookie, text.id)).status).toBe(404);
    expect((await browse(admin.cookie, owner.user.id)).status).toBe(404);

    // The staff list shows who, what and until when, and links to it.
    const list = (await staffList(support.cookie)).data as ListData;
    expect(list.grants).toContainEqual(
      expect.objectContaining({
        id: grant!.id,
        member: expect.objectContaining({ id: owner.user.id }),
        href: `/admin/support/${image.id}`,
        expiresIso: grant!.expiresAt.toISOString(),
      }),
    );

    // No audit event carries any of the content.
    const all = JSON.stringify(await supportEvents({ OR: [{ actorId: owner.user.id }, { targetId: image.id }] }));
    expect(all).not.toContain("lighthouse");
    expect(JSON.stringify(await supportEvents({ action: "support.file_view" }))).not.toContain("lighthouse");
  });

  it("cannot be given on another member's generation, or a deleted one", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const intruder = await signedIn("member");
    const admin = await signedIn("admin");
    const row = await runText(owner.user.id, "mine alone");

    expect((await grantItem(intruder.cookie, row.id)).status).toBe(404);
    expect(await grantSupportAccess(intruder.user.id, { generationId: row.id, duration: "1h" })).toEqual({
      ok: false,
      reason: "not_found",
    });
    expect((await grantItem(intruder.cookie, "no-such-id")).status).toBe(404);
    expect(await prisma.supportGrant.count({ where: { generationId: row.id } })).toBe(0);
    expect(await prisma.supportGrant.count({ where: { userId: intruder.user.id } })).toBe(0);
    expect((await view(admin.cookie, row.id)).status).toBe(404);

    expect((await deleteGeneration(owner.user.id, row.id)).status).toBe("deleted");
    expect((await grantItem(owner.cookie, row.id)).status).toBe(404);
    expect(await prisma.supportGrant.count({ where: { generationId: row.id } })).toBe(0);
  });

  it("ends by itself: an expired grant is a 404 and is no longer listed", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const admin = await signedIn("admin");
    const image = await runImage(owner.user.id, "an expiring view");
    expect((await grantItem(owner.cookie, image.id, "1h")).status).toBe(302);
    expect((await view(admin.cookie, image.id)).status).toBe(200);

    await prisma.supportGrant.updateMany({
      where: { userId: owner.user.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await view(admin.cookie, image.id)).status).toBe(404);
    expect((await staffFile(admin.cookie, image.fileIds[0]!)).status).toBe(404);
    expect(await listActiveGrants(owner.user.id)).toEqual([]);
    const list = (await staffList(admin.cookie)).data as ListData;
    expect(list.grants.map((grant) => grant.member.id)).not.toContain(owner.user.id);
    expect((await views(image.id)).length).toBe(1);
  });

  it("ends when the member revokes it from the item", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const support = await signedIn("support");
    const image = await runImage(owner.user.id, "revocable");
    expect((await grantItem(owner.cookie, image.id, "7d")).status).toBe(302);
    const grant = await prisma.supportGrant.findFirstOrThrow({ where: { userId: owner.user.id } });
    expect(grant.expiresAt.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR_MS);
    expect((await view(support.cookie, image.id)).status).toBe(200);

    const revoked = await onItem(owner.cookie, image.id, { intent: "support-revoke", grantId: grant.id });
    expect(revoked.status).toBe(302);
    expect(revoked.location).toBe(`/history/${image.id}?support=revoked`);
    expect((await prisma.supportGrant.findUniqueOrThrow({ where: { id: grant.id } })).revokedAt).not.toBeNull();
    expect(await supportEvents({ action: "support.revoke", actorId: owner.user.id })).toEqual([
      expect.objectContaining({ targetType: "generation", targetId: image.id }),
    ]);
    expect((await view(support.cookie, image.id)).status).toBe(404);
    expect((await staffFile(support.cookie, image.fileIds[1]!)).status).toBe(404);
    // Revoking again is harmless.
    expect((await onItem(owner.cookie, image.id, { intent: "support-revoke", grantId: grant.id })).status).toBe(302);
    expect((await supportEvents({ action: "support.revoke", actorId: owner.user.id })).length).toBe(1);
  });

  it("granting again replaces the running grant: one active grant per scope", async () => {
    const owner = await signedIn("member");
    const row = await insert(owner.user.id);
    expect((await grantItem(owner.cookie, row.id, "7d")).status).toBe(302);
    expect((await grantItem(owner.cookie, row.id, "1h")).status).toBe(302);
    const active = await listActiveGrants(owner.user.id, row.id);
    expect(active.length).toBe(1);
    expect(active[0]!.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + HOUR_MS + 1000);
    expect(await prisma.supportGrant.count({ where: { userId: owner.user.id, revokedAt: { not: null } } })).toBe(1);
  });

  it("dies with the generation: a deleted generation is never viewable", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const admin = await signedIn("admin");
    const image = await runImage(owner.user.id, "to be deleted");
    expect((await grantItem(owner.cookie, image.id, "24h")).status).toBe(302);
    expect((await onPrivacy(owner.cookie, { intent: "support-grant", duration: "24h" })).status).toBe(302);
    expect((await view(admin.cookie, image.id)).status).toBe(200);

    expect((await onItem(owner.cookie, image.id, { intent: "delete" })).status).toBe(302);
    expect((await view(admin.cookie, image.id)).status).toBe(404);
    for (const fileId of image.fileIds) expect((await staffFile(admin.cookie, fileId)).status).toBe(404);
    // The member's own list of grants no longer shows it; the whole-history one stays.
    expect((await listActiveGrants(owner.user.id)).map((grant) => grant.generation)).toEqual([null]);
    expect((await staffList(admin.cookie)).data as ListData).toMatchObject({
      grants: expect.not.arrayContaining([expect.objectContaining({ href: `/admin/support/${image.id}` })]),
    });
  });
});

describe("a grant on the whole history", () => {
  it("covers every live generation of that member, and only that member", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const other = await signedIn("member", 5n * DOLLAR);
    const support = await signedIn("support");
    const first = await runText(owner.user.id, "first question");
    const image = await runImage(owner.user.id, "second, a picture");
    const gone = await insert(owner.user.id, { prompt: "deleted one" });
    expect((await deleteGeneration(owner.user.id, gone.id)).status).toBe("deleted");
    const theirs = await runText(other.user.id, "someone else's question");
    const theirImage = await runImage(other.user.id, "someone else's picture");

    const granted = await onPrivacy(owner.cookie, { intent: "support-grant", duration: "24h" });
    expect(granted.status).toBe(302);
    expect(granted.location).toBe("/settings/privacy?support=granted");
    const grant = await prisma.supportGrant.findFirstOrThrow({ where: { userId: owner.user.id } });
    expect(grant.generationId).toBeNull();
    expect(await supportEvents({ action: "support.grant", actorId: owner.user.id })).toEqual([
      expect.objectContaining({ targetType: "user", targetId: owner.user.id }),
    ]);

    expect((await view(support.cookie, first.id)).status).toBe(200);
    const seen = await view(support.cookie, image.id);
    expect(seen.status).toBe(200);
    expect((seen.data as ViewData).grant.scope).toBe("history");
    expect((await staffFile(support.cookie, image.fileIds[0]!)).status).toBe(200);
    expect((await view(support.cookie, gone.id)).status).toBe(404);
    expect((await view(support.cookie, theirs.id)).status).toBe(404);
    expect((await staffFile(support.cookie, theirImage.fileIds[0]!)).status).toBe(404);

    // Staff can browse the member's list (no content there), audited; not another member's.
    const listed = await browse(support.cookie, owner.user.id);
    expect(listed.status).toBe(200);
    const listData = listed.data as MemberData;
    expect(listData.items.map((item) => item.id).sort()).toEqual([first.id, image.id].sort());
    expect(JSON.stringify(listData)).not.toContain("first question");
    expect(await supportEvents({ action: "support.browse", targetId: owner.user.id })).toEqual([
      expect.objectContaining({ actorId: support.user.id, after: { grantId: grant.id, page: 1 } }),
    ]);
    expect((await browse(support.cookie, other.user.id)).status).toBe(404);
    const list = (await staffList(support.cookie)).data as ListData;
    expect(list.grants).toContainEqual(
      expect.objectContaining({ id: grant.id, href: `/admin/support/members/${owner.user.id}` }),
    );

    // The member sees it in Settings → Privacy, and on each item it covers.
    const privacy = (await call(privacyLoader, getRequest("/settings/privacy", { cookie: owner.cookie })))
      .data as PrivacyData;
    expect(privacy.supportGrants).toEqual([expect.objectContaining({ id: grant.id, scope: "history" })]);
    const item = (
      await call(historyLoader, getRequest(`/history/${first.id}`, { cookie: owner.cookie }), { id: first.id })
    ).data as HistoryData;
    expect(item.support.grants).toEqual([expect.objectContaining({ id: grant.id, scope: "history" })]);

    // Revoked from Settings → Privacy: everything is closed again.
    const revoked = await onPrivacy(owner.cookie, { intent: "support-revoke", grantId: grant.id });
    expect(revoked.location).toBe("/settings/privacy?support=revoked");
    expect((await view(support.cookie, first.id)).status).toBe(404);
    expect((await browse(support.cookie, owner.user.id)).status).toBe(404);
  });
});

describe("revoking", () => {
  it("a member revokes only their own grants: another member's grant id is a 404 and stays as it was", async () => {
    const owner = await signedIn("member");
    const intruder = await signedIn("member");
    const admin = await signedIn("admin");
    const row = await insert(owner.user.id);
    expect((await grantItem(owner.cookie, row.id)).status).toBe(302);
    expect((await onPrivacy(owner.cookie, { intent: "support-grant", duration: "7d" })).status).toBe(302);
    const grants = await prisma.supportGrant.findMany({ where: { userId: owner.user.id }, orderBy: { id: "asc" } });
    expect(grants.length).toBe(2);

    for (const grant of grants) {
      expect((await onPrivacy(intruder.cookie, { intent: "support-revoke", grantId: grant.id })).status).toBe(404);
      // Through the intruder's own item page too.
      const mine = await insert(intruder.user.id);
      expect((await onItem(intruder.cookie, mine.id, { intent: "support-revoke", grantId: grant.id })).status).toBe(
        404,
      );
      expect(await revokeSupportAccess(intruder.user.id, grant.id)).toEqual({ ok: false, reason: "not_found" });
    }
    expect(await prisma.supportGrant.findMany({ where: { userId: owner.user.id }, orderBy: { id: "asc" } })).toEqual(
      grants,
    );
    expect(await supportEvents({ action: "support.revoke", actorId: intruder.user.id })).toEqual([]);
    expect((await view(admin.cookie, row.id)).status).toBe(200);
  });
});

describe("forms", () => {
  it("an unknown or missing duration re-renders with an error on the field and changes nothing", async () => {
    const owner = await signedIn("member");
    const row = await insert(owner.user.id);
    for (const form of <Record<string, string>[]>[
      { intent: "support-grant", duration: "forever" },
      { intent: "support-grant", duration: "" },
      { intent: "support-grant" },
    ]) {
      const onPage = await onItem(owner.cookie, row.id, form);
      expect(onPage.status).toBe(400);
      const reply = (onPage.data as { grant: { error: Record<string, string[]> } }).grant;
      expect(reply.error.duration?.[0]).toMatch(/1 hour, 24 hours or 7 days/);

      const onSettings = await onPrivacy(owner.cookie, form);
      expect(onSettings.status).toBe(400);
      const settingsReply = (onSettings.data as { support: { error: Record<string, string[]> } }).support;
      expect(settingsReply.error.duration?.[0]).toMatch(/1 hour, 24 hours or 7 days/);
    }
    // The model refuses any other duration too.
    expect(await grantSupportAccess(owner.user.id, { wholeHistory: true, duration: "30d" })).toEqual({
      ok: false,
      reason: "invalid_duration",
    });
    // A revoke without a grant id is not understood.
    expect((await onItem(owner.cookie, row.id, { intent: "support-revoke" })).status).toBe(400);
    expect((await onPrivacy(owner.cookie, { intent: "support-revoke", grantId: "../x" })).status).toBe(400);
    expect(await prisma.supportGrant.count({ where: { userId: owner.user.id } })).toBe(0);
    expect(await supportEvents({ actorId: owner.user.id })).toEqual([]);
  });

  it("a cross-origin POST to the grant and revoke forms is refused (403) before it reaches them", () => {
    const allowed = [BASE_URL];
    for (const path of ["/history/abc123", "/settings/privacy"]) {
      expect(isForbiddenCrossOrigin({ method: "POST", path, origin: "https://evil.example" }, allowed)).toBe(true);
      expect(isForbiddenCrossOrigin({ method: "POST", path, secFetchSite: "cross-site" }, allowed)).toBe(true);
      expect(isForbiddenCrossOrigin({ method: "POST", path, origin: BASE_URL }, allowed)).toBe(false);
    }
  });
});

describe("account deletion", () => {
  it("revokes every grant: staff can see nothing of a deleted account", async () => {
    const owner = await signedIn("member", 5n * DOLLAR);
    const admin = await signedIn("admin");
    const image = await runImage(owner.user.id, "deleted with the account");
    expect((await grantItem(owner.cookie, image.id, "7d")).status).toBe(302);
    expect((await onPrivacy(owner.cookie, { intent: "support-grant", duration: "7d" })).status).toBe(302);
    expect((await view(admin.cookie, image.id)).status).toBe(200);

    const deleted = await onPrivacy(owner.cookie, { intent: "delete", password: TEST_PASSWORD, confirm: "on" });
    expect(deleted.status).toBe(302);
    const grants = await prisma.supportGrant.findMany({ where: { userId: owner.user.id } });
    expect(grants.length).toBe(2);
    for (const grant of grants) expect(grant.revokedAt).not.toBeNull();
    expect((await view(admin.cookie, image.id)).status).toBe(404);
    expect((await browse(admin.cookie, owner.user.id)).status).toBe(404);
    const list = (await staffList(admin.cookie)).data as ListData;
    expect(list.grants.map((grant) => grant.member.id)).not.toContain(owner.user.id);
    const event = await prisma.auditEvent.findFirstOrThrow({
      where: { action: "account.deleted", targetId: owner.user.id },
    });
    expect(event.after).toMatchObject({ grantsRevoked: 2 });
  });
});
