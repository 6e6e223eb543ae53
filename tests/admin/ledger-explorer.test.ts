import { beforeAll, describe, expect, it, vi } from "vitest";

// The admin ledger explorer: accounts with balances that match the ledger, an account's entries newest
// first with keyset pages, a transfer's entries (summing to zero) and its reversal links, 404s, roles,
// and the invariant check on demand, healthy and (after a raw UPDATE in this file's own database) broken.
vi.hoisted(() => {
  process.env.WALLET_CURRENCY = "USD";
});

import { LEDGER_ENTRIES_PAGE_SIZE } from "#app/models/admin-reports.server";
import { PLATFORM_ACCOUNTS, transfer, walletAccountId } from "#app/models/ledger.server";
import { loader as accountLoader } from "#app/routes/admin.ledger.$id";
import { loader as listLoader } from "#app/routes/admin.ledger._index";
import { loader as transferLoader } from "#app/routes/admin.ledger.transfers.$id";
import { prisma } from "#app/utils/db.server";
import { formatMoney } from "#app/utils/money";
import { call, createUser, fundWallet, getRequest, signedInCookie, uniqueEmail } from "#tests/helpers";

type Fn = Parameters<typeof call>[0];
type ListData = Awaited<ReturnType<typeof listLoader>>;
type AccountData = Awaited<ReturnType<typeof accountLoader>>;
type TransferData = Awaited<ReturnType<typeof transferLoader>>;

const USD = (micros: bigint) => formatMoney(micros, "USD");
const cookies = { admin: "", support: "", member: "" };
let member: { id: string; email: string; displayName: string };
let originalId = "";
let reversalId = "";
/** Entries on the member's wallet, oldest first: 2 × page size + 3, so three pages. */
const ENTRY_COUNT = LEDGER_ENTRIES_PAGE_SIZE * 2 + 3;

async function get<T>(fn: unknown, path: string, cookie: string, params: Record<string, string> = {}) {
  const result = await call(fn as Fn, getRequest(path, { cookie }), params);
  return { status: result.status, data: result.data as T };
}

/** A balance straight from the entries, the ledger's ground truth. */
async function sumOfEntries(accountId: string) {
  const [row] = await prisma.$queryRaw<{ total: string }[]>`
    SELECT coalesce(sum(amount), 0)::text AS total FROM ledger_entries WHERE account_id = ${accountId}`;
  return BigInt(row!.total);
}

beforeAll(async () => {
  for (const role of ["admin", "support", "member"] as const) {
    const user = await createUser({ role });
    cookies[role] = (await signedInCookie(user.id)).cookie;
  }
  member = await createUser({ email: uniqueEmail("ledger-explorer"), displayName: "Ledger Person" });
  // Credits of 1, 2, 3… dollars; the last two are a transfer and the reversal that undoes it.
  for (let index = 1; index <= ENTRY_COUNT - 2; index += 1) await fundWallet(member.id, BigInt(index) * 1_000_000n);
  const original = await transfer({
    key: `explorer-original:${member.id}`,
    kind: "adjustment",
    description: "Adjustment (credit)",
    metadata: { reason: "explorer test", source: "test" },
    postings: [
      { accountId: PLATFORM_ACCOUNTS.adjustments, amount: -2_500_000n },
      { accountId: walletAccountId(member.id), amount: 2_500_000n },
    ],
  });
  const reversal = await transfer({
    key: `explorer-reversal:${member.id}`,
    kind: "adjustment",
    description: "Adjustment reversed",
    reversesId: original.transferId,
    postings: [
      { accountId: walletAccountId(member.id), amount: -2_500_000n },
      { accountId: PLATFORM_ACCOUNTS.adjustments, amount: 2_500_000n },
    ],
  });
  originalId = original.transferId;
  reversalId = reversal.transferId;
});

describe("ledger explorer: accounts", () => {
  it("lists platform accounts first, then wallets, each balance matching the sum of its entries", async () => {
    const { status, data } = await get<ListData>(listLoader, "/admin/ledger", cookies.admin);
    expect(status).toBe(200);
    expect(data.check).toBeNull(); // the check runs only when asked
    expect(data.accounts.length).toBeGreaterThan(0);
    const kinds = data.accounts.map((account) => account.kind);
    expect(kinds.indexOf("wallet") === -1 || kinds.lastIndexOf("platform") < kinds.indexOf("wallet")).toBe(true);
    expect(data.accounts.find((account) => account.id === PLATFORM_ACCOUNTS.promotions)?.label).toBe(
      "Promotions and grants",
    );
    for (const account of data.accounts) expect(account.balance).toBe(USD(await sumOfEntries(account.id)));
    expect(data.sums.balanced).toBe(true);
    expect(data.sums.together).toBe("$0.00");
  });

  it("filters by kind and finds a member's wallet by email, with its owner", async () => {
    const platform = await get<ListData>(listLoader, "/admin/ledger?kind=platform", cookies.admin);
    expect(platform.data.kind).toBe("platform");
    expect(platform.data.accounts.every((account) => account.kind === "platform")).toBe(true);

    const search = await get<ListData>(
      listLoader,
      `/admin/ledger?kind=wallet&q=${encodeURIComponent(member.email.toUpperCase())}`,
      cookies.support,
    );
    expect(search.status).toBe(200);
    expect(search.data.total).toBe(1);
    const [wallet] = search.data.accounts;
    expect(wallet).toMatchObject({
      id: walletAccountId(member.id),
      kind: "wallet",
      owner: { id: member.id, email: member.email, displayName: "Ledger Person" },
      held: null,
    });
    const expected = (BigInt(ENTRY_COUNT - 2) * BigInt(ENTRY_COUNT - 1) * 1_000_000n) / 2n;
    expect(await sumOfEntries(walletAccountId(member.id))).toBe(expected);
    expect(wallet!.balance).toBe(USD(expected));

    // Nonsense filters are dropped, not errors.
    const junk = await get<ListData>(listLoader, "/admin/ledger?kind=bogus&page=-3", cookies.admin);
    expect(junk.status).toBe(200);
    expect(junk.data.kind).toBeNull();
    expect(junk.data.page).toBe(1);
  });

  it("shows one account's entries newest first, in keyset pages, each linking to its transfer", async () => {
    const id = walletAccountId(member.id);
    const base = `/admin/ledger/${encodeURIComponent(id)}`;
    const first = await get<AccountData>(accountLoader, base, cookies.admin, { id });
    expect(first.status).toBe(200);
    expect(first.data.account).toMatchObject({ id, kind: "wallet", owner: { id: member.id }, held: "$0.00" });
    expect(first.data.account.balance).toBe(USD(await sumOfEntries(id)));
    expect(first.data.totalEntries).toBe(ENTRY_COUNT);
    expect(first.data.entries).toHaveLength(LEDGER_ENTRIES_PAGE_SIZE);
    expect(first.data.newer).toBeNull();
    expect(first.data.older).not.toBeNull();

    // Newest first: the reversal, then the adjustment it reverses, then the biggest credit.
    const [newest, second, third] = first.data.entries;
    expect(newest).toMatchObject({ transferId: reversalId, kind: "adjustment", amount: "−$2.50" });
    expect(second).toMatchObject({ transferId: originalId, amount: "+$2.50" });
    expect(third).toMatchObject({
      kind: "grant",
      description: "Test credit",
      amount: `+${USD(BigInt(ENTRY_COUNT - 2) * 1_000_000n)}`,
    });
    expect(newest!.balanceAfter).toBe(first.data.account.balance);
    const ids = first.data.entries.map((entry) => BigInt(entry.id));
    expect([...ids].sort((x, y) => (x > y ? -1 : 1))).toEqual(ids);

    // Older pages, then the last one (3 entries), which has nothing older.
    const page2 = await get<AccountData>(accountLoader, `${base}?before=${first.data.older}`, cookies.support, { id });
    expect(page2.data.entries).toHaveLength(LEDGER_ENTRIES_PAGE_SIZE);
    expect(BigInt(page2.data.entries[0]!.id) < BigInt(first.data.entries.at(-1)!.id)).toBe(true);
    expect(page2.data.newer).toBe(page2.data.entries[0]!.id);
    const page3 = await get<AccountData>(accountLoader, `${base}?before=${page2.data.older}`, cookies.admin, { id });
    expect(page3.data.entries).toHaveLength(3);
    expect(page3.data.older).toBeNull();
    expect(page3.data.entries.at(-1)).toMatchObject({ amount: "+$1.00", balanceAfter: "$1.00" });

    // And back: newer than page 3 is page 2 again.
    const back = await get<AccountData>(accountLoader, `${base}?after=${page3.data.newer}`, cookies.admin, { id });
    expect(back.data.entries.map((entry) => entry.id)).toEqual(page2.data.entries.map((entry) => entry.id));
    expect(back.data.older).toBe(page2.data.older);
    expect(back.data.newer).toBe(page2.data.newer);

    // Every entry over the three pages, once.
    const all = [...first.data.entries, ...page2.data.entries, ...page3.data.entries].map((entry) => entry.id);
    expect(new Set(all).size).toBe(ENTRY_COUNT);

    // A junk cursor shows the newest page.
    const junk = await get<AccountData>(accountLoader, `${base}?before=abc`, cookies.admin, { id });
    expect(junk.data.entries[0]!.id).toBe(newest!.id);
  });

  it("shows a platform account with its label", async () => {
    const id = PLATFORM_ACCOUNTS.adjustments;
    const { status, data } = await get<AccountData>(
      accountLoader,
      `/admin/ledger/${encodeURIComponent(id)}`,
      cookies.admin,
      { id },
    );
    expect(status).toBe(200);
    expect(data.account).toMatchObject({ id, kind: "platform", label: "Admin adjustments", allowNegative: true });
    expect(data.account.balance).toBe(USD(await sumOfEntries(id)));
  });
});

describe("ledger explorer: transfers", () => {
  it("shows a transfer's entries (summing to zero), metadata, and what reverses it", async () => {
    const { status, data } = await get<TransferData>(
      transferLoader,
      `/admin/ledger/transfers/${originalId}`,
      cookies.admin,
      { id: originalId },
    );
    expect(status).toBe(200);
    expect(data.transfer).toMatchObject({
      id: originalId,
      kind: "adjustment",
      idempotencyKey: `explorer-original:${member.id}`,
      description: "Adjustment (credit)",
    });
    expect(JSON.parse(data.transfer.metadata)).toEqual({ reason: "explorer test", source: "test" });
    expect(data.entries).toHaveLength(2);
    expect(data.entries.map((entry) => [entry.accountId, entry.amount])).toEqual(
      expect.arrayContaining([
        [PLATFORM_ACCOUNTS.adjustments, "−$2.50"],
        [walletAccountId(member.id), "+$2.50"],
      ]),
    );
    expect(data.entries.find((entry) => entry.accountKind === "wallet")?.owner?.email).toBe(member.email);
    expect(data.sum).toBe("$0.00");
    expect(data.balanced).toBe(true);
    expect(data.reverses).toBeNull();
    expect(data.reversals.map((item) => item.id)).toEqual([reversalId]);

    const reversal = await get<TransferData>(transferLoader, `/admin/ledger/transfers/${reversalId}`, cookies.support, {
      id: reversalId,
    });
    expect(reversal.data.reverses?.id).toBe(originalId);
    expect(reversal.data.reversals).toEqual([]);
    expect(reversal.data.balanced).toBe(true);
  });

  it("every transfer in the ledger sums to zero on its page", async () => {
    const transfers = await prisma.ledgerTransfer.findMany({ select: { id: true }, take: 20 });
    for (const { id } of transfers) {
      const { data } = await get<TransferData>(transferLoader, `/admin/ledger/transfers/${id}`, cookies.admin, { id });
      expect(data.sum).toBe("$0.00");
    }
  });
});

describe("ledger explorer: 404s and roles", () => {
  it("unknown account and transfer ids are 404", async () => {
    const account = await call(
      accountLoader as Fn,
      getRequest("/admin/ledger/wallet%3Anope", { cookie: cookies.admin }),
      {
        id: "wallet:nope",
      },
    );
    expect(account.status).toBe(404);
    const unknown = "00000000-0000-0000-0000-000000000000";
    const transferPage = await call(
      transferLoader as Fn,
      getRequest(`/admin/ledger/transfers/${unknown}`, { cookie: cookies.admin }),
      { id: unknown },
    );
    expect(transferPage.status).toBe(404);
  });

  it("a member gets 404 on every ledger page; anonymous is sent to sign in", async () => {
    const id = walletAccountId(member.id);
    for (const [fn, path, params] of [
      [listLoader, "/admin/ledger?check=1", {}],
      [accountLoader, `/admin/ledger/${encodeURIComponent(id)}`, { id }],
      [transferLoader, `/admin/ledger/transfers/${originalId}`, { id: originalId }],
    ] as const) {
      expect((await call(fn as Fn, getRequest(path, { cookie: cookies.member }), params)).status).toBe(404);
      const anonymous = await call(fn as Fn, getRequest(path), params);
      expect(anonymous.status).toBe(302);
      expect(anonymous.location).toMatch(/^\/login/);
    }
  });
});

describe("ledger explorer: invariant check on demand", () => {
  it("reports every check passing on a healthy ledger", async () => {
    const { data } = await get<ListData>(listLoader, "/admin/ledger?check=1", cookies.support);
    expect(data.check).not.toBeNull();
    expect(data.check!.ok).toBe(true);
    expect(data.check!.failed).toBe(0);
    expect(data.check!.results.length).toBeGreaterThanOrEqual(9);
    expect(data.check!.results.every((result) => result.ok && result.problems.length === 0)).toBe(true);
  });

  it("reports a broken invariant: a balance changed behind the ledger's back (this file's own database)", async () => {
    // Entries and transfers are append-only (triggers); account balances are not, so a raw UPDATE can
    // break "balance = sum of entries". Undone at the end.
    const id = walletAccountId(member.id);
    await expect(
      prisma.$executeRaw`UPDATE ledger_entries SET amount = amount + 1 WHERE account_id = ${id}`,
    ).rejects.toThrow(/append-only/);
    await prisma.$executeRaw`UPDATE ledger_accounts SET balance = balance + 1 WHERE id = ${id}`;
    try {
      const { data } = await get<ListData>(listLoader, "/admin/ledger?check=1", cookies.admin);
      expect(data.check!.ok).toBe(false);
      const failing = data.check!.results.filter((result) => !result.ok);
      expect(failing.map((result) => result.check)).toContain("each balance equals the sum of its entries");
      const broken = failing.find((result) => result.check === "each balance equals the sum of its entries")!;
      expect(broken.problems.some((problem) => problem.startsWith(`${id}: balance`))).toBe(true);
      expect(data.sums.balanced).toBe(false);
    } finally {
      await prisma.$executeRaw`UPDATE ledger_accounts SET balance = balance - 1 WHERE id = ${id}`;
    }
    const { data } = await get<ListData>(listLoader, "/admin/ledger?check=1", cookies.admin);
    expect(data.check!.ok).toBe(true);
  });
});
