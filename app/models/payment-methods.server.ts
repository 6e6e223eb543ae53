import type { ManualPaymentMethod } from "@prisma/client";
import { z } from "zod";
import { audit } from "#app/models/audit.server";
import { prisma } from "#app/utils/db.server";

// Ways to pay by hand (mobile money, bank transfer) that the operator configures: name, instructions,
// account number and name, and a note about the currency. Members see only enabled ones.
// Methods are never deleted (requests point at them); disabling hides them from new requests.

export type PaymentMethod = Pick<
  ManualPaymentMethod,
  "id" | "name" | "instructions" | "accountNumber" | "accountName" | "currencyNote" | "enabled" | "sortOrder"
>;

const select = {
  id: true,
  name: true,
  instructions: true,
  accountNumber: true,
  accountName: true,
  currencyNote: true,
  enabled: true,
  sortOrder: true,
} as const;

const order = [{ sortOrder: "asc" as const }, { name: "asc" as const }, { id: "asc" as const }];

export function listEnabledMethods(): Promise<PaymentMethod[]> {
  return prisma.manualPaymentMethod.findMany({ where: { enabled: true }, select, orderBy: order });
}

export function listAllMethods(): Promise<PaymentMethod[]> {
  return prisma.manualPaymentMethod.findMany({ select, orderBy: order });
}

/** An enabled method by id, or null (unknown and disabled look the same to a member). */
export function getEnabledMethod(id: string): Promise<PaymentMethod | null> {
  return prisma.manualPaymentMethod.findFirst({ where: { id, enabled: true }, select });
}

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .nullable()
    .transform((value) => (value ? value : null));

const fields = {
  name: z.string().trim().min(2, "Name: at least 2 characters").max(60, "Name: at most 60 characters"),
  instructions: z
    .string()
    .trim()
    .min(10, "Instructions: at least 10 characters")
    .max(2000, "Instructions: at most 2000 characters"),
  accountNumber: z.string().trim().min(3, "Account: at least 3 characters").max(80, "Account: at most 80 characters"),
  accountName: optionalText(120),
  currencyNote: optionalText(200),
  sortOrder: z.number().int().min(-1000).max(1000),
  enabled: z.boolean(),
};

export const PaymentMethodInputSchema = z.object({
  ...fields,
  sortOrder: fields.sortOrder.default(0),
  enabled: fields.enabled.default(true),
});
/** Only the fields given change (no defaults fill in the others). */
const PaymentMethodUpdateSchema = z.object(fields).partial();

export type PaymentMethodInput = z.input<typeof PaymentMethodInputSchema>;

/** Who changed a method: an admin (actorId) or an operator at the command line (actorId null). */
export type MethodActor = { actorId: string | null; ip?: string | null; via: "cli" | "admin" };

// Where members send money is as sensitive as a payout address: every change is audited, before and after.
export async function addMethod(input: PaymentMethodInput, actor: MethodActor): Promise<PaymentMethod> {
  const data = PaymentMethodInputSchema.parse(input);
  return prisma.$transaction(async (tx) => {
    const method = await tx.manualPaymentMethod.create({ data, select });
    await audit(
      {
        actorId: actor.actorId,
        action: "payment_method.add",
        targetType: "manual_payment_method",
        targetId: method.id,
        ip: actor.ip ?? null,
        after: { ...method, via: actor.via },
      },
      tx,
    );
    return method;
  });
}

export async function updateMethod(
  id: string,
  input: Partial<PaymentMethodInput>,
  actor: MethodActor,
): Promise<PaymentMethod | null> {
  const data = PaymentMethodUpdateSchema.parse(input);
  return prisma.$transaction(async (tx) => {
    const before = await tx.manualPaymentMethod.findUnique({ where: { id }, select });
    if (!before) return null;
    const after = await tx.manualPaymentMethod.update({ where: { id }, data, select });
    await audit(
      {
        actorId: actor.actorId,
        action:
          "enabled" in data && Object.keys(data).length === 1
            ? data.enabled
              ? "payment_method.enable"
              : "payment_method.disable"
            : "payment_method.update",
        targetType: "manual_payment_method",
        targetId: id,
        ip: actor.ip ?? null,
        before,
        after: { ...after, via: actor.via },
      },
      tx,
    );
    return after;
  });
}

export function setMethodEnabled(id: string, enabled: boolean, actor: MethodActor): Promise<PaymentMethod | null> {
  return updateMethod(id, { enabled }, actor);
}

/** Finds a method by exact id, or by name (case-insensitive) when exactly one has that name. */
export async function findMethod(idOrName: string): Promise<PaymentMethod | null> {
  const byId = await prisma.manualPaymentMethod.findUnique({ where: { id: idOrName }, select });
  if (byId) return byId;
  const byName = await prisma.manualPaymentMethod.findMany({
    where: { name: { equals: idOrName.trim(), mode: "insensitive" } },
    select,
    take: 2,
  });
  return byName.length === 1 ? byName[0]! : null;
}
