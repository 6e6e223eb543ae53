import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

// Fixture files (the support-access file route) go to a throw-away folder.
const storageDir = vi.hoisted(() => {
  const dir = `${process.env.TMPDIR ?? "/tmp"}/ai-wallet-roles-${process.pid}-${Date.now()}`;
  process.env.STORAGE_DIR = dir;
  return dir;
});

import { listCatalogForAdmin } from "#app/models/catalog.server";
import { addMethod } from "#app/models/payment-methods.server";
import { grantSupportAccess } from "#app/models/support-access.server";
import { prisma } from "#app/utils/db.server";
import { saveFile } from "#app/utils/storage.server";
import { call, createUser, getRequest, postRequest, signedInCookie } from "#tests/helpers";

// Every admin route, found on disk: a new `admin.*` file is checked for roles without anyone having to
// remember to add it here. Anonymous → sign-in; member → 404; support → reads (except admin-only
// pages) but never acts; admin → allowed.

const ROUTES_DIR = path.resolve("app/routes");
const ADMIN_FILES = readdirSync(ROUTES_DIR)
  .filter((file) => /^admin[.]/.test(file) && /\.tsx?$/.test(file))
  .sort();

/** Pages support must not even see (a 404 for them, as for members). Adding to this list is a decision. */
const ADMIN_ONLY = new Set(["admin.models._index.tsx", "admin.models.$id.tsx"]);
/**
 * Actions support may take: nothing that moves money, changes an account or sets a price (marking a
 * contact message handled). Every other admin action refuses support; adding here is a decision too.
 */
const SUPPORT_MAY_ACT = new Set(["admin.contact.tsx"]);

type RouteModule = {
  default?: unknown;
  loader?: (...args: never[]) => unknown;
  action?: (...args: never[]) => unknown;
  ErrorBoundary?: unknown;
};

const fixtures: Record<string, string> = {};

/** A member's generation that the member lets support see (one generation, for a day). */
async function grantedGeneration() {
  const owner = await createUser({ displayName: "Fixture Granting Member" });
  const generation = await prisma.generation.create({
    data: {
      userId: owner.id,
      requestId: `fixture-${process.pid}-${Math.random().toString(36).slice(2)}`,
      modelId: "demo:chat",
      modelLabel: "Demo chat",
      modality: "text",
      status: "succeeded",
      prompt: "Fixture prompt",
      outputText: "Fixture answer",
    },
  });
  const granted = await grantSupportAccess(owner.id, { generationId: generation.id, duration: "24h" });
  if (!granted.ok) throw new Error("fixture grant refused");
  return { owner, generation };
}

/** A real id for each `$id` route: add one here when a new admin route takes an id. */
const FIXTURES: Record<string, () => Promise<string>> = {
  "admin.members.$id.tsx": async () => (await createUser({ displayName: "Fixture Member" })).id,
  "admin.top-ups.$id.tsx": async () => {
    const method = await addMethod(
      {
        name: "Fixture MoMo",
        instructions: "Send it to the number below.",
        accountNumber: "+237 670 000 000",
        accountName: null,
        currencyNote: null,
      },
      { actorId: null, via: "cli" },
    );
    const owner = await createUser();
    const row = await prisma.manualTopUp.create({
      data: {
        userId: owner.id,
        methodId: method.id,
        claimedAmount: 10_000_000n,
        senderNumber: "+237670123456",
        reference: `FIX-${process.pid}`,
        referenceKey: `FIX${process.pid}`,
      },
    });
    return row.id;
  },
  "admin.models.$id.tsx": async () => (await listCatalogForAdmin())[0]!.id,
  "admin.support.$id.tsx": async () => (await grantedGeneration()).generation.id,
  "admin.support.members.$id.tsx": async () => {
    const owner = await createUser({ displayName: "Fixture History Member" });
    const granted = await grantSupportAccess(owner.id, { wholeHistory: true, duration: "1h" });
    if (!granted.ok) throw new Error("fixture grant refused");
    return owner.id;
  },
  "admin.support.files.$id.tsx": async () => {
    const { owner, generation } = await grantedGeneration();
    const file = await saveFile({
      ownerId: owner.id,
      purpose: "generation-input",
      bytes: new TextEncoder().encode("fixture file"),
      mediaType: "text/plain",
    });
    await prisma.generationFile.create({ data: { generationId: generation.id, fileId: file.id, role: "input" } });
    return file.id;
  },
  "admin.ledger.$id.tsx": async () => {
    const [{ fundWallet }, { walletAccountId }] = await Promise.all([
      import("#tests/helpers"),
      import("#app/models/ledger.server"),
    ]);
    const owner = await createUser({ displayName: "Fixture Ledger Member" });
    await fundWallet(owner.id, 1_000_000n);
    return walletAccountId(owner.id);
  },
  "admin.ledger.transfers.$id.tsx": async () => {
    const { fundWallet } = await import("#tests/helpers");
    const owner = await createUser({ displayName: "Fixture Transfer Member" });
    await fundWallet(owner.id, 1_000_000n);
    const entry = await prisma.ledgerEntry.findFirstOrThrow({ where: { account: { userId: owner.id } } });
    return entry.transferId;
  },
};

/** "admin.members.$id.tsx" → "/admin/members/<id>". */
function urlFor(file: string) {
  const segments = file
    .replace(/\.tsx?$/, "")
    .split(".")
    .filter((segment) => segment !== "_index")
    .map((segment) => (segment.startsWith("$") ? encodeURIComponent(fixtures[file]!) : segment));
  return `/${segments.join("/")}`;
}

const paramsFor = (file: string): Record<string, string> => (file.includes("$id") ? { id: fixtures[file]! } : {});

const cookies: Record<"member" | "support" | "admin", string> = { member: "", support: "", admin: "" };

beforeAll(async () => {
  for (const role of ["member", "support", "admin"] as const) {
    const user = await createUser({ role });
    cookies[role] = (await signedInCookie(user.id)).cookie;
  }
  for (const file of ADMIN_FILES) {
    if (!file.includes("$")) continue;
    const make = FIXTURES[file];
    if (!make)
      throw new Error(`${file} takes a parameter: add a fixture for it to FIXTURES in ${import.meta.filename}`);
    fixtures[file] = await make();
  }
});

afterAll(async () => {
  await rm(storageDir, { recursive: true, force: true });
});

const isLoginRedirect = (result: { status: number; location: string | null }) =>
  result.status === 302 && (result.location ?? "").startsWith("/login");

describe("admin routes: roles, table-driven over app/routes/admin.*", () => {
  it("finds the admin routes on disk (including this slice's)", () => {
    expect(ADMIN_FILES).toEqual(
      expect.arrayContaining([
        "admin._index.tsx",
        "admin.audit.tsx",
        "admin.members._index.tsx",
        "admin.members.$id.tsx",
        "admin.top-ups._index.tsx",
        "admin.top-ups.$id.tsx",
      ]),
    );
  });

  describe.each(ADMIN_FILES)("%s", (file) => {
    const load = async () => (await import(/* @vite-ignore */ path.join(ROUTES_DIR, file))) as RouteModule;
    type Fn = Parameters<typeof call>[0];

    it("exports a loader and the GeneralErrorBoundary (a resource route, with no component, has none)", async () => {
      const mod = await load();
      expect(typeof mod.loader).toBe("function");
      // With an ErrorBoundary, Remix treats a module without a component as a page, not a resource route
      // (it would render a file's bytes as loader data), so a resource route must not export one.
      if (mod.default === undefined) expect(mod.ErrorBoundary).toBeUndefined();
      else expect(typeof mod.ErrorBoundary).toBe("function");
    });

    it("loader: anonymous → sign-in, member → 404, support → 200 (404 if admin-only), admin → 200", async () => {
      const loader = (await load()).loader as Fn;
      const url = urlFor(file);
      const params = paramsFor(file);
      expect(isLoginRedirect(await call(loader, getRequest(url), params))).toBe(true);
      expect((await call(loader, getRequest(url, { cookie: cookies.member }), params)).status).toBe(404);
      expect((await call(loader, getRequest(url, { cookie: cookies.support }), params)).status).toBe(
        ADMIN_ONLY.has(file) ? 404 : 200,
      );
      expect((await call(loader, getRequest(url, { cookie: cookies.admin }), params)).status).toBe(200);
    });

    it("action (if any): anonymous → sign-in, member → 404, support → 403/404 (unless listed), admin → allowed", async () => {
      const action = (await load()).action as Fn | undefined;
      if (!action) return;
      const url = urlFor(file);
      const params = paramsFor(file);
      // An empty form: it must be refused on role before anything is read, and change nothing for an admin.
      expect(isLoginRedirect(await call(action, postRequest(url, {}), params))).toBe(true);
      expect((await call(action, postRequest(url, {}, { cookie: cookies.member }), params)).status).toBe(404);
      const asSupport = await call(action, postRequest(url, {}, { cookie: cookies.support }), params);
      if (SUPPORT_MAY_ACT.has(file)) expect([403, 404]).not.toContain(asSupport.status);
      else expect([403, 404]).toContain(asSupport.status);
      const asAdmin = await call(action, postRequest(url, {}, { cookie: cookies.admin }), params);
      expect([403, 404]).not.toContain(asAdmin.status);
      expect(isLoginRedirect(asAdmin)).toBe(false);
    });
  });
});
