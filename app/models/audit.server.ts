import type { Prisma } from "@prisma/client";
import { prisma } from "#app/utils/db.server";

// The append-only audit log of sensitive actions (who, what, when, from where, before/after).
// Never put secrets or generation content in before/after.

export type AuditInput = {
  actorId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  ip?: string | null;
  before?: Prisma.InputJsonValue;
  after?: Prisma.InputJsonValue;
};

export async function audit(input: AuditInput, tx: Prisma.TransactionClient = prisma) {
  await tx.auditEvent.create({
    data: {
      actorId: input.actorId,
      action: input.action,
      targetType: input.targetType ?? null,
      targetId: input.targetId ?? null,
      ip: input.ip ?? null,
      before: input.before,
      after: input.after,
    },
  });
}
