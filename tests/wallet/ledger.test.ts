import { afterEach, describe, expect, it } from "vitest";
import {
  checkInvariants,
  getWalletBalance,
  hold,
  LedgerError,
  PLATFORM_ACCOUNTS,
  postHold,
  revenueAccountId,
  revenueShardFor,
  transfer,
  voidExpiredHolds,
  voidHold,
  walletAccountId,
  ensureWallet,
} from "#app/models/ledger.server";
import { pool, prisma } from "#app/utils/db.server";
import { createUser } from "#tests/helpers";

const USD = (dollars: number) => BigInt(Math.round(dollars * 100)) * 10_000n;
let sequence = 0;
const key = (label: string) => `test:${label}:${process.pid}:${(sequence += 1)}`;
const inAnHour = () => new Date(Date.now() + 3_600_000);

async function fundedMember(amount: bigint) {
  const user = await createUser();
  await ensureWallet(user.id);
  if (amount > 0n) {
    await transfer({
      key: key("grant"),
      kind: "grant",
      description: "Test credit",
      postings: [
        { accountId: PLATFORM_ACCOUNTS.promotions, amount: -amount },
        { accountId: walletAccountId(user.id), amount },
      ],
    });
  }
  return user;
}

// Every scenario must leave the ledger consistent.
afterEach(async () => {
  const report = await checkInvariants();
  expect(report.problems).toEqual([]);
});

describe("transfers", () => {
  it("moves money with entries that sum to zero and balance-after on each entry", async () => {
    const user = await fundedMember(USD(10));
    const entries = await prisma.ledgerEntry.findMany({ where: { accountId: walletAccountId(user.id) } });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ amount: USD(10), balanceAfter: USD(10) });
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: USD(10), held: 0n, available: USD(10) });
  });

  it("is idempotent: the same key credits once, even when replayed concurrently", async () => {
    const user = await fundedMember(0n);
    const input = {
      key: key("replay"),
      kind: "topup",
      description: "Top-up",
      postings: [
        { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: -USD(5) },
        { accountId: walletAccountId(user.id), amount: USD(5) },
      ],
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => transfer(input)));
    expect(new Set(results.map((result) => result.transferId)).size).toBe(1);
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect((await getWalletBalance(user.id)).balance).toBe(USD(5));
  });

  it.each([
    [[{ amount: -5n }, { amount: 4n }], "invalid_transfer"],
    [[{ amount: 5n }], "invalid_transfer"],
    [[{ amount: 0n }, { amount: 0n }], "invalid_transfer"],
  ])("refuses unbalanced or empty postings %#", async (amounts, code) => {
    const user = await fundedMember(0n);
    const accounts = [PLATFORM_ACCOUNTS.promotions, walletAccountId(user.id)];
    const postings = amounts.map((posting, index) => ({ accountId: accounts[index]!, amount: posting.amount }));
    await expect(transfer({ key: key("bad"), kind: "x", description: "x", postings })).rejects.toMatchObject({ code });
  });

  it("never takes a member wallet below zero, and a refused transfer leaves no trace", async () => {
    const user = await fundedMember(USD(3));
    const attempt = transfer({
      key: key("overdraft"),
      kind: "refund",
      description: "Refund clawback",
      postings: [
        { accountId: walletAccountId(user.id), amount: -USD(4) },
        { accountId: PLATFORM_ACCOUNTS.refunds, amount: USD(4) },
      ],
    });
    await expect(attempt).rejects.toBeInstanceOf(LedgerError);
    await expect(attempt).rejects.toMatchObject({ code: "insufficient_funds" });
    expect((await getWalletBalance(user.id)).balance).toBe(USD(3));
    expect(
      await prisma.ledgerTransfer.count({
        where: { kind: "refund", entries: { some: { accountId: walletAccountId(user.id) } } },
      }),
    ).toBe(0);
  });

  it("refuses unknown accounts", async () => {
    await expect(
      transfer({
        key: key("unknown"),
        kind: "x",
        description: "x",
        postings: [
          { accountId: PLATFORM_ACCOUNTS.promotions, amount: -1n },
          { accountId: "wallet:nobody", amount: 1n },
        ],
      }),
    ).rejects.toMatchObject({ code: "unknown_account" });
  });

  it("is append-only: entries and transfers cannot be edited or deleted", async () => {
    const user = await fundedMember(USD(1));
    await expect(
      prisma.$executeRaw`UPDATE ledger_entries SET amount = 1 WHERE account_id = ${walletAccountId(user.id)}`,
    ).rejects.toThrow(/append-only/);
    await expect(prisma.$executeRaw`DELETE FROM ledger_transfers`).rejects.toThrow(/append-only/);
  });

  it("a reversal is a new transfer pointing at the original", async () => {
    const user = await fundedMember(0n);
    const original = await transfer({
      key: key("orig"),
      kind: "topup",
      description: "Top-up",
      postings: [
        { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: -USD(2) },
        { accountId: walletAccountId(user.id), amount: USD(2) },
      ],
    });
    const reversal = await transfer({
      key: key("rev"),
      kind: "refund",
      description: "Refund",
      reversesId: original.transferId,
      postings: [
        { accountId: walletAccountId(user.id), amount: -USD(2) },
        { accountId: PLATFORM_ACCOUNTS.stripeClearing, amount: USD(2) },
      ],
    });
    const row = await prisma.ledgerTransfer.findUniqueOrThrow({ where: { id: reversal.transferId } });
    expect(row.reversesId).toBe(original.transferId);
    expect((await getWalletBalance(user.id)).balance).toBe(0n);
  });
});

describe("holds", () => {
  it("hold → post charges the actual amount to revenue and releases the rest", async () => {
    const user = await fundedMember(USD(10));
    const { holdId } = await hold({ key: key("gen"), userId: user.id, amount: USD(2), expiresAt: inAnHour() });
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: USD(10), held: USD(2), available: USD(8) });
    const { transferId } = await postHold({ holdId, amount: 1_234n, kind: "generation", description: "Generation" });
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: USD(10) - 1_234n, held: 0n });
    const revenue = await prisma.ledgerEntry.findFirstOrThrow({
      where: { transferId: transferId!, amount: { gt: 0 } },
    });
    expect(revenue.accountId).toBe(revenueAccountId(revenueShardFor(holdId)));
  });

  it("resolves exactly once: posting twice is a replay, voiding after posting is refused", async () => {
    const user = await fundedMember(USD(1));
    const { holdId } = await hold({ key: key("once"), userId: user.id, amount: 500n, expiresAt: inAnHour() });
    const first = await postHold({ holdId, amount: 400n, kind: "generation", description: "x" });
    const again = await postHold({ holdId, amount: 400n, kind: "generation", description: "x" });
    expect(again).toEqual({ transferId: first.transferId, replayed: true });
    await expect(postHold({ holdId, amount: 300n, kind: "generation", description: "x" })).rejects.toMatchObject({
      code: "hold_resolved",
    });
    await expect(voidHold(holdId)).rejects.toMatchObject({ code: "hold_resolved" });
    expect((await getWalletBalance(user.id)).balance).toBe(USD(1) - 400n);
  });

  it("void releases everything and is harmless twice; posting a voided hold is refused", async () => {
    const user = await fundedMember(USD(1));
    const { holdId } = await hold({ key: key("void"), userId: user.id, amount: 500n, expiresAt: inAnHour() });
    expect(await voidHold(holdId)).toEqual({ voided: true });
    expect(await voidHold(holdId)).toEqual({ voided: false });
    await expect(postHold({ holdId, amount: 1n, kind: "generation", description: "x" })).rejects.toMatchObject({
      code: "hold_resolved",
    });
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: USD(1), held: 0n });
  });

  it("refuses a charge above the hold, a zero or negative hold, and a hold above the available balance", async () => {
    const user = await fundedMember(USD(1));
    const { holdId } = await hold({ key: key("cap"), userId: user.id, amount: 500n, expiresAt: inAnHour() });
    await expect(postHold({ holdId, amount: 501n, kind: "g", description: "x" })).rejects.toMatchObject({
      code: "invalid_hold",
    });
    await expect(hold({ key: key("zero"), userId: user.id, amount: 0n, expiresAt: inAnHour() })).rejects.toMatchObject({
      code: "invalid_hold",
    });
    await expect(
      hold({ key: key("big"), userId: user.id, amount: USD(1), expiresAt: inAnHour() }),
    ).rejects.toMatchObject({
      code: "insufficient_funds",
    });
    await voidHold(holdId);
  });

  it("a posted charge of zero moves no money and writes no transfer", async () => {
    const user = await fundedMember(USD(1));
    const { holdId } = await hold({ key: key("free"), userId: user.id, amount: 500n, expiresAt: inAnHour() });
    expect(await postHold({ holdId, amount: 0n, kind: "generation", description: "x" })).toEqual({
      transferId: null,
      replayed: false,
    });
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: USD(1), held: 0n });
  });

  it("the same hold key reserves once", async () => {
    const user = await fundedMember(USD(1));
    const holdKey = key("dup");
    const results = await Promise.all(
      Array.from({ length: 5 }, () => hold({ key: holdKey, userId: user.id, amount: 300n, expiresAt: inAnHour() })),
    );
    expect(new Set(results.map((result) => result.holdId)).size).toBe(1);
    expect((await getWalletBalance(user.id)).held).toBe(300n);
    await voidHold(results[0]!.holdId);
  });

  it("expired holds are voided by the sweeper; live ones stay", async () => {
    const user = await fundedMember(USD(1));
    const expired = await hold({
      key: key("old"),
      userId: user.id,
      amount: 100n,
      expiresAt: new Date(Date.now() - 1000),
    });
    const live = await hold({ key: key("new"), userId: user.id, amount: 200n, expiresAt: inAnHour() });
    expect(await voidExpiredHolds()).toBeGreaterThanOrEqual(1);
    expect((await prisma.ledgerHold.findUniqueOrThrow({ where: { id: expired.holdId } })).status).toBe("voided");
    expect((await prisma.ledgerHold.findUniqueOrThrow({ where: { id: live.holdId } })).status).toBe("pending");
    expect((await getWalletBalance(user.id)).held).toBe(200n);
    await voidHold(live.holdId);
  });

  it("checks a hold's account reference at commit, so waiting holds put no share lock on the busy wallet", async () => {
    const { rows } = await pool.query<{ condeferrable: boolean; condeferred: boolean }>(
      "SELECT condeferrable, condeferred FROM pg_constraint WHERE conname = 'ledger_holds_account_id_fkey'",
    );
    expect(rows).toEqual([{ condeferrable: true, condeferred: true }]);
  });

  it("a hold that passed the funds check but lost the money to a concurrent hold is refused and leaves no row", async () => {
    const user = await fundedMember(1_000n);
    const wallet = walletAccountId(user.id);
    const rival = await pool.connect();
    try {
      // The rival takes all the money inside an open transaction: its hold is not visible yet.
      await rival.query("BEGIN");
      await rival.query("SELECT * FROM ledger_hold($1, $2, 1000, now() + interval '1 hour', '{}')", [
        key("rival"),
        wallet,
      ]);
      const loserKey = key("loser");
      // Settled into a value at once: its refusal arrives while the test is still awaiting the COMMIT.
      const loser = hold({ key: loserKey, userId: user.id, amount: 600n, expiresAt: inAnHour() }).then(
        () => null,
        (error: unknown) => error,
      );
      // The loser saw 1,000 available, claimed its key and now waits for the wallet's row lock.
      for (;;) {
        const { rows } = await pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_hold%'",
        );
        if (rows.length > 0) break;
      }
      await rival.query("COMMIT");
      expect(await loser).toMatchObject({ code: "insufficient_funds" });
      expect(await prisma.ledgerHold.count({ where: { idempotencyKey: loserKey } })).toBe(0);
      expect(await getWalletBalance(user.id)).toMatchObject({ balance: 1_000n, held: 1_000n, available: 0n });
    } finally {
      await rival.query("ROLLBACK").catch(() => undefined);
      rival.release();
    }
  });

  it("200 concurrent holds against a wallet funded for exactly 50: exactly 50 succeed, no overdraft", async () => {
    const unit = 20_000n;
    const user = await fundedMember(unit * 50n);
    const attempts = await Promise.allSettled(
      Array.from({ length: 200 }, (_, index) =>
        hold({ key: key(`race-${index}`), userId: user.id, amount: unit, expiresAt: inAnHour() }),
      ),
    );
    const succeeded = attempts.filter((attempt) => attempt.status === "fulfilled");
    const refused = attempts.filter((attempt) => attempt.status === "rejected");
    expect(succeeded).toHaveLength(50);
    for (const attempt of refused)
      expect((attempt as PromiseRejectedResult).reason).toMatchObject({ code: "insufficient_funds" });
    // A refused hold leaves no row behind, even one refused after it had claimed its key.
    expect(await prisma.ledgerHold.count({ where: { accountId: walletAccountId(user.id) } })).toBe(50);
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: unit * 50n, held: unit * 50n, available: 0n });
    // Settle them all concurrently, half charged in full, half released.
    await Promise.all(
      succeeded.map((attempt, index) => {
        const { holdId } = (attempt as PromiseFulfilledResult<{ holdId: string }>).value;
        return index % 2 === 0
          ? postHold({ holdId, amount: unit, kind: "generation", description: "x" })
          : voidHold(holdId);
      }),
    );
    expect(await getWalletBalance(user.id)).toMatchObject({ balance: unit * 25n, held: 0n });
  });
});

describe("invariant check", () => {
  it("reports a corrupted balance (proved on a copy that bypasses the ledger functions)", async () => {
    const user = await fundedMember(USD(1));
    await prisma
      .$transaction(async (tx) => {
        await tx.$executeRaw`UPDATE ledger_accounts SET balance = balance + 1 WHERE id = ${walletAccountId(user.id)}`;
        const report = await tx.$queryRaw<{ detail: string }[]>`
        SELECT a.id AS detail FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
        GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0)`;
        expect(report.map((row) => row.detail)).toContain(walletAccountId(user.id));
        throw new Error("rollback");
      })
      .catch((error: Error) => expect(error.message).toBe("rollback"));
  });

  it("lists every invariant it checks", async () => {
    const report = await checkInvariants();
    expect(report.checks).toEqual(
      expect.arrayContaining([
        "each transfer's entries sum to zero",
        "all entries sum to zero",
        "each balance equals the sum of its entries",
        "no member wallet below zero",
        "held equals the sum of open holds",
        "each idempotency key used once",
      ]),
    );
  });
});
