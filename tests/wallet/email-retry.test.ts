import { afterAll, describe, expect, it, vi } from "vitest";

// A money email the provider refused at the time (Resend down) is queued and sent later by the retry job,
// with what the database says then. The fake Resend speaks Resend's API; pg-boss runs on the test database.
const setup = await vi.hoisted(async () => {
  const { startFakeResend } = await import("../fakes/resend-server");
  const resend = await startFakeResend();
  process.env.RESEND_API_KEY = "re_test_retry";
  process.env.RESEND_BASE_URL = resend.url;
  process.env.WALLET_CURRENCY = "USD";
  return { resend };
});

import { EMAIL_RETRY_QUEUE, runEmailRetry, type EmailRetry } from "#app/jobs/emails.server";
import { checkInvariants, getWalletBalance } from "#app/models/ledger.server";
import { approveManualTopUp, requestManualTopUp } from "#app/models/manual-topups.server";
import { addMethod } from "#app/models/payment-methods.server";
import { prisma } from "#app/utils/db.server";
import { stopBoss } from "#app/utils/jobs.server";
import { createUser } from "#tests/helpers";

const { resend } = setup;

afterAll(async () => {
  await stopBoss();
  await resend.close();
});

const sentTo = (address: string) =>
  resend.requests.filter((request) => request.path === "/emails" && [request.body?.to].flat().includes(address));

describe("email retries", () => {
  it("queues the approval email when Resend fails, and the job sends it later", async () => {
    const method = await addMethod(
      { name: "MTN MoMo", instructions: "Send to the number below.", accountNumber: "+237 670 000 000" },
      { actorId: null, via: "cli" },
    );
    const member = await createUser();
    const admin = await createUser({ role: "admin" });
    const requested = await requestManualTopUp({
      userId: member.id,
      methodId: method.id,
      amount: 5_000_000n,
      senderNumber: "670123456",
      reference: `RETRY${Date.now()}`,
    });
    if (!requested.ok) throw new Error(requested.error);

    resend.failNext(500);
    const approved = await approveManualTopUp({ id: requested.topUp.id, actorId: admin.id, ip: null });
    expect(approved.ok).toBe(true);
    expect((await getWalletBalance(member.id)).balance).toBe(5_000_000n); // the credit never waits for email
    expect(sentTo(member.email)).toHaveLength(1); // the refused attempt

    const [job] = await prisma.$queryRaw<Array<{ data: EmailRetry; state: string }>>`
      SELECT data, state::text AS state FROM pgboss.job WHERE name = ${EMAIL_RETRY_QUEUE}`;
    expect(job).toMatchObject({
      data: { kind: "manual-topup-decision", topUpId: requested.topUp.id },
      state: "created",
    });
    expect(JSON.stringify(job!.data)).not.toContain(member.email); // ids only

    await runEmailRetry(job!.data);
    const attempts = sentTo(member.email);
    expect(attempts).toHaveLength(2);
    expect(String(attempts[1]!.body.subject)).toMatch(/approved|added|credited/i);
    expect(String(attempts[1]!.body.text ?? attempts[1]!.body.html)).toContain("$5.00");
    expect((await checkInvariants()).problems).toEqual([]);
  });

  it("a retry that fails again throws, so pg-boss tries later", async () => {
    resend.failNext(503);
    const method = await addMethod(
      { name: "Orange Money", instructions: "Send to the number below.", accountNumber: "+237 690 000 000" },
      { actorId: null, via: "cli" },
    );
    const member = await createUser();
    const requested = await requestManualTopUp({
      userId: member.id,
      methodId: method.id,
      amount: 2_000_000n,
      senderNumber: "690123456",
      reference: `AGAIN${Date.now()}`,
    });
    if (!requested.ok) throw new Error(requested.error);
    await prisma.manualTopUp.update({
      where: { id: requested.topUp.id },
      data: { status: "rejected", decisionNote: "Not received", decidedAt: new Date() },
    });
    await expect(runEmailRetry({ kind: "manual-topup-decision", topUpId: requested.topUp.id })).rejects.toThrow();
    await runEmailRetry({ kind: "manual-topup-decision", topUpId: requested.topUp.id });
    expect(sentTo(member.email).at(-1)!.body.subject).toMatch(/not|rejected|declined/i);
  });
});
