import { Prisma, type CatalogModel } from "@prisma/client";
import { capabilitiesSchema, privacyNoteFor, type CatalogEntry } from "#app/utils/catalog";
import { camelRow, columnsOf, prisma, sql } from "#app/utils/db.server";
import type { Modality, Price } from "#app/utils/pricing";
import { getRegistry } from "#app/utils/providers.server";
import { audit } from "./audit.server";
import { SEED_MODELS } from "./catalog-seed.server";

// The model catalog: seeded rows an admin can edit, joined with what this server can actually call.

let seeded: Promise<void> | null = null;

/** Adds seed models that are not in the table yet; never touches existing rows (admins edit those). */
export function ensureCatalogSeeded(): Promise<void> {
  seeded ??= (async () => {
    await prisma.catalogModel.createMany({
      data: SEED_MODELS.map((model, index) => ({
        id: model.id,
        provider: model.id.slice(0, model.id.indexOf(":")),
        label: model.label,
        modality: model.modality,
        description: model.description,
        capabilities: capabilitiesSchema.parse(model.capabilities),
        inputPerMillion: model.inputPerMillion ?? 0n,
        outputPerMillion: model.outputPerMillion ?? 0n,
        cachedInputPerMillion: model.cachedInputPerMillion ?? 0n,
        perImage: model.perImage ?? 0n,
        imagePrices: Object.fromEntries(
          Object.entries(model.imagePrices ?? {}).map(([key, value]) => [key, value.toString()]),
        ),
        perVideoSecond: model.perVideoSecond ?? 0n,
        perThousandCharacters: model.perThousandCharacters ?? 0n,
        markupBps: model.markupBps ?? 0,
        sortOrder: index * 10,
      })),
      skipDuplicates: true,
    });
  })().catch((error) => {
    seeded = null;
    throw error;
  });
  return seeded;
}

function bigintRecord(value: unknown): Record<string, bigint> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const result: Record<string, bigint> = {};
  for (const [key, amount] of Object.entries(value)) {
    if ((typeof amount === "string" && /^\d+$/.test(amount)) || (typeof amount === "number" && amount >= 0)) {
      result[key] = BigInt(amount);
    }
  }
  return result;
}

export function priceOfRow(row: CatalogModel): Price {
  return {
    inputPerMillion: row.inputPerMillion,
    outputPerMillion: row.outputPerMillion,
    cachedInputPerMillion: row.cachedInputPerMillion,
    perImage: row.perImage,
    imagePrices: bigintRecord(row.imagePrices),
    perVideoSecond: row.perVideoSecond,
    perThousandCharacters: row.perThousandCharacters,
    markupBps: row.markupBps,
  };
}

function toEntry(row: CatalogModel): CatalogEntry {
  const registry = getRegistry();
  const provider = registry.provider(row.provider);
  const modality = row.modality as Modality;
  let unavailableReason: string | null = null;
  if (!row.enabled) unavailableReason = "Switched off by the administrator.";
  else if (!provider) unavailableReason = "Not set up on this server.";
  else if (!provider.isConfigured) unavailableReason = "Unavailable: this server has no key for the provider.";
  else if (!registry.isAvailable(row.id, modality)) unavailableReason = "Not offered by the provider.";
  const capabilities = capabilitiesSchema.safeParse(row.capabilities);
  return {
    id: row.id,
    provider: row.provider,
    providerLabel: provider?.label ?? row.provider,
    label: row.label,
    modality,
    description: row.description,
    capabilities: capabilities.success ? capabilities.data : capabilitiesSchema.parse({}),
    price: priceOfRow(row),
    available: unavailableReason === null,
    unavailableReason,
    privacyNote: privacyNoteFor(row.provider),
  };
}

/** Every enabled model, in catalog order, each marked available or not on this server. */
export async function listCatalog(): Promise<CatalogEntry[]> {
  await ensureCatalogSeeded();
  const rows = await prisma.catalogModel.findMany({
    where: { enabled: true },
    orderBy: [{ sortOrder: "asc" }, { id: "asc" }],
  });
  return rows.map(toEntry);
}

const CATALOG_ROW = {
  name: "catalog_model_by_id",
  text: `SELECT ${columnsOf(Prisma.CatalogModelScalarFieldEnum)} FROM catalog_models WHERE id = $1`,
};

/** One model by its id, enabled or not (null when unknown). */
export async function getCatalogEntry(id: string): Promise<CatalogEntry | null> {
  await ensureCatalogSeeded();
  // Every generation starts here: a prepared statement on the pool rather than a Prisma query.
  const [row] = await sql(CATALOG_ROW, [id]);
  return row ? toEntry(camelRow<CatalogModel>(row)) : null;
}

// ---------------------------------------------------------------------------------------------
// Admin: the catalog as stored, and edits (each one written to the audit log with before and after).

export async function listCatalogForAdmin() {
  await ensureCatalogSeeded();
  const rows = await prisma.catalogModel.findMany({ orderBy: [{ sortOrder: "asc" }, { id: "asc" }] });
  return rows.map(toEntry).map((entry, index) => ({ ...entry, enabled: rows[index]!.enabled }));
}

export type CatalogEdit = {
  label: string;
  description: string;
  enabled: boolean;
  inputPerMillion: bigint;
  outputPerMillion: bigint;
  cachedInputPerMillion: bigint;
  perImage: bigint;
  imagePrices: Record<string, bigint>;
  perVideoSecond: bigint;
  perThousandCharacters: bigint;
  markupBps: number;
};

function auditable(row: CatalogModel) {
  return {
    label: row.label,
    description: row.description,
    enabled: row.enabled,
    inputPerMillion: row.inputPerMillion.toString(),
    outputPerMillion: row.outputPerMillion.toString(),
    cachedInputPerMillion: row.cachedInputPerMillion.toString(),
    perImage: row.perImage.toString(),
    imagePrices: row.imagePrices,
    perVideoSecond: row.perVideoSecond.toString(),
    perThousandCharacters: row.perThousandCharacters.toString(),
    markupBps: row.markupBps,
  };
}

/** Applies an admin's edit; null when the model does not exist. New prices apply to the next hold. */
export async function updateCatalogModel(id: string, edit: CatalogEdit, actor: { id: string; ip: string | null }) {
  return prisma.$transaction(async (tx) => {
    const before = await tx.catalogModel.findUnique({ where: { id } });
    if (!before) return null;
    const after = await tx.catalogModel.update({
      where: { id },
      data: {
        ...edit,
        imagePrices: Object.fromEntries(
          Object.entries(edit.imagePrices).map(([key, value]) => [key, value.toString()]),
        ),
      },
    });
    await audit(
      {
        actorId: actor.id,
        action: "catalog.update",
        targetType: "catalog_model",
        targetId: id,
        ip: actor.ip,
        before: auditable(before),
        after: auditable(after),
      },
      tx,
    );
    return toEntry(after);
  });
}
