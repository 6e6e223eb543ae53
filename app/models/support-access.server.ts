import type { Modality, GenerationStatus, Prisma, Role } from "@prisma/client";
import { prisma } from "#app/utils/db.server";
import { logger } from "#app/utils/logger.server";
import { audit } from "./audit.server";
import { getGenerationDetail, type GenerationDetail } from "./history.server";

// Support access only with the member's permission (see docs/decisions/0007-support-access.md).
// Staff (admin and support roles) cannot open a member's prompts, outputs or files. A member grants
// access to one generation, or to their whole history, for one of a few fixed durations; the grant ends
// by itself at expiresAt, when the member revokes it, or when the account is deleted. Every staff view
// of content (a generation, a file, a whole-history listing) is written to the audit log, by id only:
// never any content in before/after. Member-side queries always put the member's id in the `where`.

const HOUR_MS = 3_600_000;

/** The durations a member can choose from; anything else is refused. */
export const SUPPORT_GRANT_DURATION_MS = {
  "1h": HOUR_MS,
  "24h": 24 * HOUR_MS,
  "7d": 7 * 24 * HOUR_MS,
} as const;
export type SupportGrantDuration = keyof typeof SUPPORT_GRANT_DURATION_MS;

export const isSupportGrantDuration = (value: string): value is SupportGrantDuration =>
  Object.hasOwn(SUPPORT_GRANT_DURATION_MS, value);

const STAFF_ROLES: readonly Role[] = ["admin", "support"];
export type StaffUser = { id: string; role: Role };

/** A grant that is still running: not revoked, not expired. */
const activeWhere = (now: Date) =>
  ({ revokedAt: null, expiresAt: { gt: now } }) satisfies Prisma.SupportGrantWhereInput;

/** Grants on a deleted generation are dead even before they expire. */
const liveScope = {
  OR: [{ generationId: null }, { generation: { deletedAt: null } }],
} satisfies Prisma.SupportGrantWhereInput;

// ---------------------------------------------------------------------------------------------
// Member side

export type GrantScope = { generationId: string } | { wholeHistory: true };

export type GrantResult =
  | { ok: true; grant: { id: string; generationId: string | null; expiresAt: Date }; replaced: number }
  | { ok: false; reason: "not_found" | "invalid_duration" };

/**
 * Lets support view one of the member's generations (or all of them) until now + duration. A generation
 * that is not the member's, or is deleted, is "not found". Granting again for the same scope replaces the
 * running grant (revoked, and a new one starts now), so there is at most one active grant per scope.
 */
export async function grantSupportAccess(
  userId: string,
  input: GrantScope & { duration: string },
  ip: string | null = null,
  now = new Date(),
): Promise<GrantResult> {
  if (!isSupportGrantDuration(input.duration)) return { ok: false, reason: "invalid_duration" };
  const generationId = "generationId" in input ? input.generationId : null;
  const expiresAt = new Date(now.getTime() + SUPPORT_GRANT_DURATION_MS[input.duration]);

  const result = await prisma.$transaction(async (tx) => {
    // One grant at a time per member: concurrent grants for the same scope cannot both stay active.
    await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId} FOR UPDATE`;
    if (generationId !== null) {
      const owned = await tx.generation.findFirst({
        where: { id: generationId, userId, deletedAt: null },
        select: { id: true },
      });
      if (!owned) return null;
    }
    const replaced = await tx.supportGrant.updateMany({
      where: { userId, generationId, ...activeWhere(now) },
      data: { revokedAt: now },
    });
    const grant = await tx.supportGrant.create({
      data: { userId, generationId, expiresAt },
      select: { id: true, generationId: true, expiresAt: true },
    });
    await audit(
      {
        actorId: userId,
        action: "support.grant",
        targetType: generationId ? "generation" : "user",
        targetId: generationId ?? userId,
        ip,
        after: {
          grantId: grant.id,
          scope: generationId ? "generation" : "history",
          duration: input.duration,
          expiresAt: expiresAt.toISOString(),
          replaced: replaced.count,
        },
      },
      tx,
    );
    return { grant, replaced: replaced.count };
  });
  if (!result) return { ok: false, reason: "not_found" };
  logger.info("support.grant", { userId, grantId: result.grant.id, generationId, duration: input.duration });
  return { ok: true, ...result };
}

export type RevokeResult = { ok: true; alreadyEnded: boolean } | { ok: false; reason: "not_found" };

/** Ends one of the member's grants now. Another member's grant id is "not found" and stays as it was. */
export async function revokeSupportAccess(
  userId: string,
  grantId: string,
  ip: string | null = null,
  now = new Date(),
): Promise<RevokeResult> {
  const grant = await prisma.supportGrant.findFirst({
    where: { id: grantId, userId },
    select: { id: true, generationId: true, expiresAt: true, revokedAt: true },
  });
  if (!grant) return { ok: false, reason: "not_found" };
  if (grant.revokedAt) return { ok: true, alreadyEnded: true };
  const { count } = await prisma.$transaction(async (tx) => {
    const updated = await tx.supportGrant.updateMany({
      where: { id: grantId, userId, revokedAt: null },
      data: { revokedAt: now },
    });
    if (updated.count > 0) {
      await audit(
        {
          actorId: userId,
          action: "support.revoke",
          targetType: grant.generationId ? "generation" : "user",
          targetId: grant.generationId ?? userId,
          ip,
          before: { grantId, expiresAt: grant.expiresAt.toISOString() },
          after: { grantId, revokedAt: now.toISOString() },
        },
        tx,
      );
    }
    return updated;
  });
  if (count > 0) logger.info("support.revoke", { userId, grantId });
  return { ok: true, alreadyEnded: count === 0 || grant.expiresAt <= now };
}

export type MemberGrant = {
  id: string;
  /** null: the whole history. */
  generation: { id: string; modelLabel: string; modality: Modality; createdAt: Date } | null;
  expiresAt: Date;
  createdAt: Date;
};

/**
 * The member's running grants, newest first. With a generation id: only those that cover it (its own
 * grants and whole-history grants).
 */
export async function listActiveGrants(
  userId: string,
  generationId?: string,
  now = new Date(),
): Promise<MemberGrant[]> {
  const rows = await prisma.supportGrant.findMany({
    where: {
      userId,
      ...activeWhere(now),
      AND: [liveScope, ...(generationId ? [{ OR: [{ generationId }, { generationId: null }] }] : [])],
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    select: {
      id: true,
      expiresAt: true,
      createdAt: true,
      generation: { select: { id: true, modelLabel: true, modality: true, createdAt: true } },
    },
  });
  return rows;
}

/** Account deletion: every grant of the member ends now (inside the deletion's transaction). */
export async function revokeAllGrants(tx: Prisma.TransactionClient, userId: string, now = new Date()) {
  const { count } = await tx.supportGrant.updateMany({
    where: { userId, revokedAt: null },
    data: { revokedAt: now },
  });
  return count;
}

// ---------------------------------------------------------------------------------------------
// Staff side

const isStaff = (user: StaffUser) => STAFF_ROLES.includes(user.role);

export type StaffGrant = {
  id: string;
  member: { id: string; displayName: string; email: string };
  /** null: the member's whole history. */
  generation: { id: string; modelLabel: string; modality: Modality; createdAt: Date } | null;
  expiresAt: Date;
  createdAt: Date;
};

/** Every running grant (no content: who, what scope, until when), the soonest to end first. */
export async function listActiveGrantsForStaff(now = new Date()): Promise<StaffGrant[]> {
  const rows = await prisma.supportGrant.findMany({
    where: { ...activeWhere(now), ...liveScope },
    orderBy: [{ expiresAt: "asc" }, { id: "asc" }],
    take: 200,
    select: {
      id: true,
      expiresAt: true,
      createdAt: true,
      user: { select: { id: true, displayName: true, email: true } },
      generation: { select: { id: true, modelLabel: true, modality: true, createdAt: true } },
    },
  });
  return rows.map(({ user, ...row }) => ({ ...row, member: user }));
}

/** The running grant of this member that covers this generation (its own first, then whole history). */
async function coveringGrant(userId: string, generationId: string, now: Date) {
  const grants = await prisma.supportGrant.findMany({
    where: { userId, ...activeWhere(now), OR: [{ generationId }, { generationId: null }] },
    select: { id: true, generationId: true, expiresAt: true },
  });
  return grants.find((grant) => grant.generationId === generationId) ?? grants[0] ?? null;
}

export type SupportGenerationView = {
  generation: GenerationDetail;
  member: { id: string; displayName: string };
  grant: { id: string; scope: "generation" | "history"; expiresAt: Date };
};

/**
 * One generation for a staff member, only while a running grant of its owner covers it and it is not
 * deleted; otherwise null (the route answers 404). Each successful view is audited (support.view).
 */
export async function getGenerationForSupport(
  staff: StaffUser,
  generationId: string,
  ip: string | null = null,
  now = new Date(),
): Promise<SupportGenerationView | null> {
  if (!isStaff(staff) || !generationId) return null;
  const owner = await prisma.generation.findFirst({
    where: { id: generationId, deletedAt: null },
    select: { userId: true },
  });
  if (!owner) return null;
  const grant = await coveringGrant(owner.userId, generationId, now);
  if (!grant) return null;
  // Read through the owner's own query (their id in the where, deleted generations excluded).
  const generation = await getGenerationDetail(owner.userId, generationId);
  if (!generation) return null;
  const member = await prisma.user.findUniqueOrThrow({
    where: { id: owner.userId },
    select: { id: true, displayName: true },
  });
  await audit({
    actorId: staff.id,
    action: "support.view",
    targetType: "generation",
    targetId: generationId,
    ip,
    after: { grantId: grant.id, memberId: owner.userId },
  });
  return {
    generation,
    member,
    grant: { id: grant.id, scope: grant.generationId ? "generation" : "history", expiresAt: grant.expiresAt },
  };
}

export type SupportFile = {
  id: string;
  mediaType: string;
  size: number;
  storageKey: string;
  purpose: string;
  grantId: string;
  generationId: string;
};

/**
 * A stored file for a staff member, only when it belongs to a live generation of its owner that a
 * running grant covers. The file must be the owner's own (as the member's history shows it). Audited
 * (support.file_view) unless `audited` is false (the rest of a video being streamed in byte ranges).
 */
export async function getFileForSupport(
  staff: StaffUser,
  fileId: string,
  { ip = null, audited = true, now = new Date() }: { ip?: string | null; audited?: boolean; now?: Date } = {},
): Promise<SupportFile | null> {
  if (!isStaff(staff) || !fileId) return null;
  const file = await prisma.storedFile.findUnique({
    where: { id: fileId },
    select: { id: true, ownerId: true, mediaType: true, size: true, storageKey: true, purpose: true },
  });
  if (!file?.ownerId) return null;
  const links = await prisma.generationFile.findMany({
    where: { fileId, generation: { userId: file.ownerId, deletedAt: null } },
    select: { generationId: true },
  });
  let found: { grantId: string; generationId: string } | null = null;
  for (const link of links) {
    const grant = await coveringGrant(file.ownerId, link.generationId, now);
    if (grant) {
      found = { grantId: grant.id, generationId: link.generationId };
      break;
    }
  }
  if (!found) return null;
  if (audited) {
    await audit({
      actorId: staff.id,
      action: "support.file_view",
      targetType: "stored_file",
      targetId: file.id,
      ip,
      after: { grantId: found.grantId, generationId: found.generationId, memberId: file.ownerId },
    });
  }
  return {
    id: file.id,
    mediaType: file.mediaType,
    size: file.size,
    storageKey: file.storageKey,
    purpose: file.purpose,
    ...found,
  };
}

export const SUPPORT_LIST_PAGE_SIZE = 30;

export type SupportHistoryItem = {
  id: string;
  modality: Modality;
  modelLabel: string;
  status: GenerationStatus;
  createdAt: Date;
};

export type SupportHistoryPage = {
  member: { id: string; displayName: string; email: string };
  grant: { id: string; expiresAt: Date };
  items: SupportHistoryItem[];
  total: number;
  page: number;
  pageCount: number;
};

/**
 * A member's live generations (no content: model, kind, status, date), only while a running
 * whole-history grant of theirs exists; otherwise null. Each listing is audited (support.browse).
 */
export async function listGenerationsForSupport(
  staff: StaffUser,
  memberId: string,
  { page = 1, ip = null, now = new Date() }: { page?: number; ip?: string | null; now?: Date } = {},
): Promise<SupportHistoryPage | null> {
  if (!isStaff(staff) || !memberId) return null;
  const grant = await prisma.supportGrant.findFirst({
    where: { userId: memberId, generationId: null, ...activeWhere(now) },
    orderBy: { expiresAt: "desc" },
    select: { id: true, expiresAt: true, user: { select: { id: true, displayName: true, email: true } } },
  });
  if (!grant) return null;
  const where = { userId: memberId, deletedAt: null } satisfies Prisma.GenerationWhereInput;
  const total = await prisma.generation.count({ where });
  const pageCount = Math.max(1, Math.ceil(total / SUPPORT_LIST_PAGE_SIZE));
  const current = Math.min(Math.max(Math.trunc(page) || 1, 1), pageCount);
  const items = await prisma.generation.findMany({
    where,
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    skip: (current - 1) * SUPPORT_LIST_PAGE_SIZE,
    take: SUPPORT_LIST_PAGE_SIZE,
    select: { id: true, modality: true, modelLabel: true, status: true, createdAt: true },
  });
  await audit({
    actorId: staff.id,
    action: "support.browse",
    targetType: "user",
    targetId: memberId,
    ip,
    after: { grantId: grant.id, page: current },
  });
  return {
    member: grant.user,
    grant: { id: grant.id, expiresAt: grant.expiresAt },
    items,
    total,
    page: current,
    pageCount,
  };
}
