import { afterAll, describe, expect, it } from "vitest";
import { JOBS, startBackgroundJobs } from "#app/jobs/index.server";
import { purgeExpiredJob, voidExpiredHoldsJob } from "#app/jobs/maintenance.server";
import {
  checkInvariants,
  ensureWallet,
  hold,
  PLATFORM_ACCOUNTS,
  transfer,
  walletAccountId,
} from "#app/models/ledger.server";
import { prisma } from "#app/utils/db.server";
import { getBoss, stopBoss } from "#app/utils/jobs.server";
import { createUser, signedInCookie } from "#tests/helpers";

afterAll(() => stopBoss());

async function fundedUser() {
  const user = await createUser();
  await ensureWallet(user.id);
  await transfer({
    key: `jobs-test-grant:${user.id}`,
    kind: "grant",
    description: "Test credit",
    postings: [
      { accountId: PLATFORM_ACCOUNTS.promotions, amount: -1_000_000n },
      { accountId: walletAccountId(user.id), amount: 1_000_000n },
    ],
  });
  return user;
}

describe("background jobs", () => {
  it("the hold sweeper releases every expired hold, in batches", async () => {
    const user = await fundedUser();
    const past = new Date(Date.now() - 60_000);
    for (let i = 0; i < 3; i += 1)
      await hold({ key: `sweep:${user.id}:${i}`, userId: user.id, amount: 1_000n, expiresAt: past });
    expect(await voidExpiredHoldsJob()).toBeGreaterThanOrEqual(3);
    expect((await prisma.ledgerAccount.findUniqueOrThrow({ where: { id: walletAccountId(user.id) } })).held).toBe(0n);
    expect((await checkInvariants()).problems).toEqual([]);
  });

  it("retention deletes expired sessions, codes and reset tokens, and keeps live ones", async () => {
    const user = await createUser();
    const live = await signedInCookie(user.id);
    const dead = await signedInCookie(user.id);
    await prisma.session.update({ where: { id: dead.sessionId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await prisma.passwordReset.create({
      data: { tokenHash: `old-${user.id}`, userId: user.id, expiresAt: new Date(Date.now() - 2 * 86_400_000) },
    });
    await purgeExpiredJob();
    expect(await prisma.session.findUnique({ where: { id: live.sessionId } })).not.toBeNull();
    expect(await prisma.session.findUnique({ where: { id: dead.sessionId } })).toBeNull();
    expect(await prisma.passwordReset.count({ where: { userId: user.id } })).toBe(0);
  });

  it("pg-boss runs the sweeper job from the queue", async () => {
    const user = await fundedUser();
    const { holdId } = await hold({
      key: `queued:${user.id}`,
      userId: user.id,
      amount: 5_000n,
      expiresAt: new Date(Date.now() - 1000),
    });
    await startBackgroundJobs();
    const boss = getBoss();
    const jobId = await boss.send(JOBS.voidExpiredHolds.name, {});
    // Wait for the worker to finish the job we queued (bounded; not a timing assertion).
    const deadline = Date.now() + 20_000;
    let state: string | undefined;
    while (Date.now() < deadline) {
      state = (await boss.getJobById(JOBS.voidExpiredHolds.name, jobId!))?.state;
      if (state === "completed" || state === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(state).toBe("completed");
    expect((await prisma.ledgerHold.findUniqueOrThrow({ where: { id: holdId } })).status).toBe("voided");
  });
});
