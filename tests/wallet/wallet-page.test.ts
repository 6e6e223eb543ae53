import { afterEach, describe, expect, it } from "vitest";
import {
  checkInvariants,
  ensureWallet,
  getWalletBalance,
  hold,
  PLATFORM_ACCOUNTS,
  postHold,
  transfer,
  walletAccountId,
} from "#app/models/ledger.server";
import {
  checkLowBalance,
  csvCell,
  describeMovement,
  getSpendByDay,
  getSpendByModel,
  getStatement,
  setLowBalanceThreshold,
  statementCsv,
} from "#app/models/wallet.server";
import { action as walletAction, loader as walletLoader } from "#app/routes/wallet._index";
import { loader as csvLoader } from "#app/routes/wallet.statement[.]csv";
import { prisma } from "#app/utils/db.server";
import { formatReport, main as ledgerCheckMain, runLedgerCheck } from "../../scripts/ledger-check";
import { grantCredit, main as grantMain, validateGrant } from "../../scripts/wallet-grant";
import { call, createUser, deliverQueuedEmails, getRequest, postRequest, signedInCookie } from "#tests/helpers";

const USD = (units: string) => {
  const [whole, fraction = ""] = units.split(".");
  return BigInt(whole!) * 1_000_000n + BigInt(fraction.padEnd(6, "0"));
};
let sequence = 0;
const key = (label: string) => `test:wallet:${label}:${process.pid}:${(sequence += 1)}`;
const inAnHour = () => new Date(Date.now() + 3_600_000);
const DAY = 86_400_000;
const utcDay = (date: Date) => date.toISOString().slice(0, 10);

async function move(
  userId: string,
  amount: bigint,
  { kind = "grant", description = "Test movement", metadata = {} as Record<string, unknown>, from = "" } = {},
) {
  const wallet = await ensureWallet(userId);
  const other = from || (kind === "grant" ? PLATFORM_ACCOUNTS.promotions : PLATFORM_ACCOUNTS.adjustments);
  const { transferId } = await transfer({
    key: key(kind),
    kind,
    description,
    metadata,
    postings: [
      { accountId: other, amount: -amount },
      { accountId: wallet, amount },
    ],
  });
  return transferId;
}

/** A generation charge the way the generation path makes it: hold the estimate, post the actual cost. */
async function charge(userId: string, amount: bigint, model?: string) {
  const { holdId } = await hold({ key: key("hold"), userId, amount, expiresAt: inAnHour() });
  const { transferId } = await postHold({
    holdId,
    amount,
    kind: "generation",
    description: "Generation",
    metadata: model ? { model } : {},
  });
  return transferId!;
}

/**
 * Test-only: moves a transfer's timestamp into the past to simulate activity on earlier days. The
 * append-only triggers are paused inside this one transaction only (DDL is transactional in Postgres),
 * and no amount changes, so every ledger invariant still holds.
 */
async function backdate(transferId: string, at: Date) {
  await prisma.$transaction([
    prisma.$executeRaw`ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only`,
    prisma.$executeRaw`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only`,
    prisma.$executeRaw`UPDATE ledger_transfers SET created_at = ${at} WHERE id = ${transferId}`,
    prisma.$executeRaw`UPDATE ledger_entries SET created_at = ${at} WHERE transfer_id = ${transferId}`,
    prisma.$executeRaw`ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only`,
    prisma.$executeRaw`ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_append_only`,
  ]);
}

/** The body exactly as sent, byte-order mark included (Response.text() would drop it). */
async function csvText(response: Response) {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(await response.arrayBuffer());
}

type WalletData = Exclude<Awaited<ReturnType<typeof walletLoader>>, Response>;

async function loadWallet(cookie: string, search = "") {
  const result = await call(walletLoader, getRequest(`/wallet${search}`, { cookie }));
  expect(result.status).toBe(200);
  return result.data as WalletData;
}

async function memberWithCookie(options: { verified?: boolean } = {}) {
  const user = await createUser(options);
  const { cookie } = await signedInCookie(user.id);
  return { user, cookie };
}

async function lowBalanceEmails(to: string) {
  await deliverQueuedEmails();
  return prisma.outboxEmail.findMany({ where: { to, tag: "low-balance" }, orderBy: { createdAt: "asc" } });
}

// Every scenario must leave the ledger consistent.
afterEach(async () => {
  const report = await checkInvariants();
  expect(report.problems).toEqual([]);
});

describe("statement", () => {
  it("shows only the member's own movements, newest first, in words, with the balance after each", async () => {
    const { user, cookie } = await memberWithCookie();
    const other = await createUser();
    await move(user.id, USD("5"), {
      kind: "topup",
      description: "x",
      metadata: { source: "stripe" },
      from: PLATFORM_ACCOUNTS.stripeClearing,
    });
    await move(other.id, USD("7"), { kind: "grant" });
    await charge(other.id, USD("1"), "secret:model");
    await move(user.id, USD("2"), { kind: "grant" });
    await charge(user.id, USD("0.001234"), "openai:gpt-4o");

    const page = await loadWallet(cookie);
    expect(page.statement.total).toBe(3);
    expect(page.statement.items.map((item) => [item.description, item.amount, item.balanceAfter])).toEqual([
      ["Generation · openai:gpt-4o", "−$0.001234", "$6.998766"],
      ["Promotional credit", "+$2.00", "$7.00"],
      ["Card top-up", "+$5.00", "$5.00"],
    ]);
    expect(page.balance).toEqual({ available: "$6.998766", held: "$0.00", hasHeld: false });
    expect(JSON.stringify(page)).not.toContain("secret:model");

    const theirs = await getStatement(other.id);
    expect(theirs.items.map((item) => item.description)).toEqual(["Generation · secret:model", "Promotional credit"]);
    expect(theirs.items.every((item) => !item.description.includes("gpt-4o"))).toBe(true);
  });

  it("a member with no wallet yet sees an empty statement and no chart", async () => {
    const { cookie } = await memberWithCookie();
    const page = await loadWallet(cookie);
    expect(page.statement).toMatchObject({ total: 0, items: [], page: 1, pageCount: 1 });
    expect(page.spend).toBeNull();
    expect(page.balance.available).toBe("$0.00");
  });

  it("paginates 25 per page without gaps or repeats; a page past the end shows the last page", async () => {
    const { user, cookie } = await memberWithCookie();
    for (let index = 1; index <= 30; index += 1) await move(user.id, BigInt(index) * 10_000n);
    const first = await loadWallet(cookie);
    const second = await loadWallet(cookie, "?page=2");
    expect(first.statement).toMatchObject({ page: 1, pageCount: 2, total: 30 });
    expect(first.statement.items).toHaveLength(25);
    expect(second.statement.items).toHaveLength(5);
    expect(first.statement.items[0]!.amount).toBe("+$0.30");
    expect(second.statement.items.at(-1)!.amount).toBe("+$0.01");
    const ids = [...first.statement.items, ...second.statement.items].map((item) => Number(item.id));
    expect(new Set(ids).size).toBe(30);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect((await loadWallet(cookie, "?page=99")).statement.page).toBe(2);
    expect((await loadWallet(cookie, "?page=abc")).statement.page).toBe(1);
    expect((await loadWallet(cookie, "?page=-3")).statement.page).toBe(1);
  });

  it("names every kind of movement in plain words", () => {
    const d = (kind: string, metadata: Record<string, unknown> = {}, amount = 1n, description = "Stored text") =>
      describeMovement({ kind, description, metadata }, amount);
    expect(d("generation", { model: "anthropic:claude-sonnet" }, -1n)).toBe("Generation · anthropic:claude-sonnet");
    expect(d("generation", {}, -1n)).toBe("Generation");
    expect(d("topup", { source: "stripe" })).toBe("Card top-up");
    // The kinds the top-up paths write (app/models/stripe-topups.server.ts, manual-topups.server.ts).
    expect(d("topup_card", {}, 5n, "Card top-up")).toBe("Card top-up");
    expect(d("topup_card_refund", {}, -5n)).toBe("Refund to your card");
    expect(d("topup_card_dispute", {}, -5n)).toBe("Card payment disputed");
    expect(d("topup_card_dispute_won", {}, 5n)).toBe("Card dispute won");
    expect(d("topup_manual", {}, 5n, "Top-up by Orange Money")).toBe("Top-up by Orange Money");
    expect(d("topup_manual", { methodName: "MTN MoMo" })).toBe("Top-up by MTN MoMo");
    expect(d("topup_manual", {}, 5n, "  ")).toBe("Mobile money top-up");
    expect(d("grant")).toBe("Promotional credit");
    expect(d("refund", {}, 5n)).toBe("Refund");
    expect(d("adjustment", {}, -5n)).toBe("Adjustment (debit)");
    expect(d("account_closed", {}, -5n)).toBe("Account closed (remaining balance)");
    expect(d("something-new")).toBe("Stored text");
  });

  it("requires a session", async () => {
    const result = await call(walletLoader, getRequest("/wallet"));
    expect(result.status).toBe(302);
    expect(result.location).toBe("/login?redirectTo=%2Fwallet");
  });
});

describe("statement CSV", () => {
  it("is exact: header, newest first, RFC 4180 quoting, formula guard, exact decimal amounts", async () => {
    const { user, cookie } = await memberWithCookie();
    const other = await createUser();
    await move(other.id, USD("9"));
    const t1 = await move(user.id, USD("5"));
    const t2 = await charge(user.id, USD("0.001234"), "openai:gpt-4o");
    const t3 = await move(user.id, -USD("0.5"), {
      kind: "misc",
      description: '=HYPERLINK("http://evil.example","click")',
    });
    const t4 = await move(user.id, USD("0.25"), { kind: "misc", description: "@SUM(1,2)" });
    const t5 = await move(user.id, USD("1"), { kind: "misc", description: 'Line one\nline "two", end' });
    const t6 = await move(user.id, -USD("0.000001"), { kind: "misc", description: "-2+3" });

    const response = await csvLoader({
      request: getRequest("/wallet/statement.csv", { cookie }),
      params: {},
      context: {},
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="wallet-statement-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    const body = await csvText(response);

    const dates = new Map(
      (await prisma.ledgerEntry.findMany({ where: { accountId: walletAccountId(user.id) } })).map((entry) => [
        entry.transferId,
        entry.createdAt.toISOString().slice(0, 19).replace("T", " "),
      ]),
    );
    const row = (transferId: string, rest: string) => `${dates.get(transferId)},${rest},USD,${transferId}\r\n`;
    expect(body).toBe(
      "\uFEFFDate (UTC),Type,Description,Amount,Balance after,Currency,Transfer ID\r\n" +
        row(t6, "misc,'-2+3,-0.000001,5.748765") +
        row(t5, 'misc,"Line one\nline ""two"", end",1,5.748766') +
        row(t4, `misc,"'@SUM(1,2)",0.25,4.748766`) +
        row(t3, `misc,"'=HYPERLINK(""http://evil.example"",""click"")",-0.5,4.498766`) +
        row(t2, "generation,Generation · openai:gpt-4o,-0.001234,4.998766") +
        row(t1, "grant,Promotional credit,5,5"),
    );
    // Read in small batches, the stream gives the very same text.
    expect(await csvText(new Response(statementCsv(user.id, { batchSize: 2 })))).toBe(body);
  });

  it("quotes and guards single cells", () => {
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell("two\r\nlines")).toBe('"two\r\nlines"');
    expect(csvCell("=1+1")).toBe("'=1+1");
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("-1+1")).toBe("'-1+1");
    expect(csvCell("@cmd")).toBe("'@cmd");
    expect(csvCell("\tx")).toBe("'\tx");
    expect(csvCell("=a,b")).toBe(`"'=a,b"`);
    // Numbers are data, never formulas: a negative amount stays a number.
    expect(csvCell("-1.25")).toBe("-1.25");
    expect(csvCell("-3")).toBe("-3");
  });

  it("is only for a signed-in member, and only their own", async () => {
    const result = await call(csvLoader, getRequest("/wallet/statement.csv"));
    expect(result.status).toBe(302);
    const { cookie } = await memberWithCookie();
    const stranger = await createUser();
    await move(stranger.id, USD("3"));
    const response = await csvLoader({
      request: getRequest("/wallet/statement.csv", { cookie }),
      params: {},
      context: {},
    });
    expect(await csvText(response)).toBe(
      "\uFEFFDate (UTC),Type,Description,Amount,Balance after,Currency,Transfer ID\r\n",
    );
  });
});

describe("spend", () => {
  it("by day: the last 30 UTC days, oldest first, zero-filled, generation charges only", async () => {
    const { user, cookie } = await memberWithCookie();
    const other = await createUser();
    await move(user.id, USD("20"));
    await move(other.id, USD("20"));
    const now = new Date();
    await charge(user.id, USD("1"), "a");
    await charge(user.id, USD("0.5"), "b");
    await backdate(await charge(user.id, USD("0.25"), "a"), new Date(now.getTime() - 3 * DAY));
    await backdate(await charge(user.id, USD("0.125"), "a"), new Date(now.getTime() - 29 * DAY));
    await backdate(await charge(user.id, USD("4"), "a"), new Date(now.getTime() - 30 * DAY)); // outside
    await charge(other.id, USD("3"), "a"); // someone else's
    await move(user.id, -USD("2"), { kind: "refund", from: PLATFORM_ACCOUNTS.refunds }); // not a generation
    await move(user.id, USD("1"), {
      kind: "topup",
      metadata: { source: "stripe" },
      from: PLATFORM_ACCOUNTS.stripeClearing,
    });

    const days = await getSpendByDay(user.id, 30, now);
    expect(days).toHaveLength(30);
    expect(days[0]!.day).toBe(utcDay(new Date(now.getTime() - 29 * DAY)));
    expect(days[29]!.day).toBe(utcDay(now));
    const nonZero = Object.fromEntries(days.filter((point) => point.amount !== 0n).map((p) => [p.day, p.amount]));
    expect(nonZero).toEqual({
      [utcDay(now)]: USD("1.5"),
      [utcDay(new Date(now.getTime() - 3 * DAY))]: USD("0.25"),
      [utcDay(new Date(now.getTime() - 29 * DAY))]: USD("0.125"),
    });
    // Consecutive days, none missing.
    days.forEach((point, index) => expect(point.day).toBe(utcDay(new Date(Date.parse(days[0]!.day) + index * DAY))));
    // A week from now, today's spend is 7 days back and the oldest ones have left the window.
    const later = await getSpendByDay(user.id, 30, new Date(now.getTime() + 7 * DAY));
    expect(later[22]).toEqual({ day: utcDay(now), amount: USD("1.5") });
    expect(later.reduce((sum, point) => sum + point.amount, 0n)).toBe(USD("1.75"));

    const page = await loadWallet(cookie);
    expect(page.spend?.total).toBe("$1.875");
    expect(page.spend?.byDay.rows).toHaveLength(30);
    expect(page.spend?.byDay.rows.at(-1)?.[1]).toBe("$1.50");
    expect(page.spend?.byDay.summary).toContain("$1.875 in the last 30 days (UTC)");
  });

  it("by model: groups generation charges by metadata.model, biggest first", async () => {
    const { user, cookie } = await memberWithCookie();
    await move(user.id, USD("20"));
    await charge(user.id, USD("1"), "openai:gpt-4o");
    await charge(user.id, USD("0.5"), "demo:text");
    await charge(user.id, USD("2"), "openai:gpt-4o");
    await charge(user.id, USD("0.25"));
    await charge(user.id, USD("0.5"), "<script>alert(1)</script>");
    await move(user.id, -USD("1"), { kind: "adjustment", metadata: { model: "not-a-charge" } });

    expect(await getSpendByModel(user.id)).toEqual([
      { model: "openai:gpt-4o", amount: USD("3"), count: 2 },
      { model: "<script>alert(1)</script>", amount: USD("0.5"), count: 1 },
      { model: "demo:text", amount: USD("0.5"), count: 1 },
      { model: "unknown", amount: USD("0.25"), count: 1 },
    ]);

    const page = await loadWallet(cookie);
    expect(page.spend?.byModel.rows).toEqual([
      ["openai:gpt-4o", "$3.00", "2"],
      ["<script>alert(1)</script>", "$0.50", "1"],
      ["demo:text", "$0.50", "1"],
      ["Unknown model", "$0.25", "1"],
    ]);
    // Drawn on the server as SVG, two sizes; labels are escaped text, never markup.
    for (const svg of [page.spend!.byDay.svgs.wide, page.spend!.byDay.svgs.narrow, page.spend!.byModel.svgs.wide]) {
      expect(svg).toMatch(/^<svg [^>]*viewBox="0 0 \d+ \d+"/);
      expect(svg).toContain("<path");
      expect(svg).not.toMatch(/<script/i);
    }
    expect(page.spend!.byModel.svgs.wide).toContain("$3.00");
    expect(page.spend!.byModel.svgs.wide).toContain("openai:gpt-4o");
  });
});

describe("low-balance alert", () => {
  it("emails exactly once when 10 concurrent charges cross the threshold, and re-arms after a top-up", async () => {
    const user = await createUser({ displayName: "Low Balance Lou" });
    await move(user.id, USD("10"));
    expect(await setLowBalanceThreshold(user.id, USD("5"))).toBe("above");

    const statuses = await Promise.all(
      Array.from({ length: 10 }, async () => {
        await charge(user.id, USD("0.6"), "demo:text");
        return checkLowBalance(user.id);
      }),
    );
    expect((await getWalletBalance(user.id)).available).toBe(USD("4"));
    expect(statuses.filter((status) => status === "notified")).toHaveLength(1);
    expect(statuses.filter((status) => !["notified", "above", "already_notified"].includes(status))).toEqual([]);
    const emails = await lowBalanceEmails(user.email);
    expect(emails).toHaveLength(1);
    expect(emails[0]!.subject).toBe("Your AI Wallet balance is low");
    expect(emails[0]!.text).toContain("Hi Low Balance Lou,");
    // The balance at the moment of crossing (which of the concurrent charges got there first varies).
    expect(emails[0]!.text).toMatch(/Your available balance is \$4\.\d0, below the alert you set at \$5\.00\./);
    expect(emails[0]!.text).toContain("/wallet/top-up");
    expect(await checkLowBalance(user.id)).toBe("already_notified");

    // Back above: armed again (nothing sent), then the next crossing sends one more.
    await move(user.id, USD("3"), {
      kind: "topup",
      metadata: { source: "stripe" },
      from: PLATFORM_ACCOUNTS.stripeClearing,
    });
    expect(await checkLowBalance(user.id)).toBe("rearmed");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lowBalanceNotifiedAt).toBeNull();
    expect(await checkLowBalance(user.id)).toBe("above");
    await charge(user.id, USD("2.5"));
    expect(await Promise.all([checkLowBalance(user.id), checkLowBalance(user.id)])).toEqual(
      expect.arrayContaining(["notified", "already_notified"]),
    );
    expect(await lowBalanceEmails(user.email)).toHaveLength(2);
  });

  it("held money counts: a hold that takes available below the threshold alerts", async () => {
    const user = await createUser();
    await move(user.id, USD("3"));
    expect(await setLowBalanceThreshold(user.id, USD("2"))).toBe("above");
    await hold({ key: key("hold"), userId: user.id, amount: USD("1.5"), expiresAt: inAnHour() });
    expect(await checkLowBalance(user.id)).toBe("notified");
  });

  it("a new threshold is armed and checked at once; switched off, nothing is sent", async () => {
    const user = await createUser();
    expect(await checkLowBalance(user.id)).toBe("off");
    await move(user.id, USD("1"));
    expect(await setLowBalanceThreshold(user.id, USD("2"))).toBe("notified");
    expect(await setLowBalanceThreshold(user.id, USD("3"))).toBe("notified");
    expect(await lowBalanceEmails(user.email)).toHaveLength(2);
    expect(await setLowBalanceThreshold(user.id, null)).toBe("off");
    await charge(user.id, USD("0.5"));
    expect(await checkLowBalance(user.id)).toBe("off");
    expect(await lowBalanceEmails(user.email)).toHaveLength(2);
    await expect(setLowBalanceThreshold(user.id, 0n)).rejects.toThrow(RangeError);
  });

  it("the form saves an amount, empty switches it off, and bad input gets a field error", async () => {
    const { user, cookie } = await memberWithCookie();
    await move(user.id, USD("10"));
    const post = (threshold: string) => call(walletAction, postRequest("/wallet?index", { threshold }, { cookie }));

    const saved = await post("2.50");
    expect(saved.status).toBe(200);
    expect((saved.data as { message: string }).message).toMatch(/^Saved\. We will email you once/);
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lowBalanceThreshold).toBe(USD("2.5"));
    expect((await loadWallet(cookie)).alert).toEqual({ threshold: "2.5", label: "$2.50", below: false });

    for (const [input, message] of [
      ["abc", "Enter an amount, like 10 or 10.50 (digits, with a dot for decimals)"],
      ["1.234", "Use at most 2 decimals"],
      ["-5", "The amount must be positive, like 10 or 10.50"],
      ["0", "The amount must be more than zero"],
      ["2000000", "That is more than any alert needs: use a smaller amount"],
    ] as const) {
      const result = await post(input);
      expect(result.status, input).toBe(400);
      expect((result.data as { result: { error: Record<string, string[]> } }).result.error).toEqual({
        threshold: [message],
      });
    }
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lowBalanceThreshold).toBe(USD("2.5"));

    const off = await post("");
    expect((off.data as { message: string }).message).toBe("Low-balance alert switched off.");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lowBalanceThreshold).toBeNull();
  });

  it("only a verified member can set an alert", async () => {
    const { user, cookie } = await memberWithCookie({ verified: false });
    const result = await call(walletAction, postRequest("/wallet?index", { threshold: "5" }, { cookie }));
    expect(result.status).toBe(302);
    expect(result.location).toBe("/verify");
    expect((await prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lowBalanceThreshold).toBeNull();
    expect((await loadWallet(cookie)).verified).toBe(false);
  });
});

describe("npm run wallet:grant", () => {
  it("validates every option with a clear message", () => {
    expect(validateGrant({}, "USD")).toEqual({
      ok: false,
      errors: [
        "--email is missing: the member's email address, e.g. --email member@example.com",
        "--amount is missing: how much to credit in USD, e.g. --amount 5",
        '--reason is missing: say why, e.g. --reason "Welcome credit"',
      ],
    });
    const bad = validateGrant({ email: "nope", amount: "1.234", reason: "x", key: "has space" }, "USD");
    expect(bad).toEqual({
      ok: false,
      errors: [
        '--email: "nope" is not an email address',
        '--amount: Use at most 2 decimals (got "1.234")',
        "--reason: use 3 to 200 characters",
        "--key: use 1 to 200 letters, digits or . _ : @ - (no spaces)",
      ],
    });
    expect(validateGrant({ email: "a@b.co", amount: "-1", reason: "why" }, "USD")).toMatchObject({
      errors: ['--amount: The amount must be positive, like 10 or 10.50 (got "-1")'],
    });
    expect(validateGrant({ email: "a@b.co", amount: "100001", reason: "why" }, "USD")).toMatchObject({
      errors: ["--amount: at most $100,000.00 per grant"],
    });
    expect(validateGrant({ email: " A@B.co ", amount: "5", reason: " Welcome  credit ", key: "k1" }, "USD")).toEqual({
      ok: true,
      value: { email: "a@b.co", amount: USD("5"), reason: "Welcome credit", key: "grant:k1" },
    });
  });

  it("credits from the promotions account, audited; with --key, at most once", async () => {
    const user = await createUser();
    const first = await grantCredit({
      email: user.email.toUpperCase(),
      amount: "2.50",
      reason: "Welcome credit",
      key: `w-${user.id}`,
    });
    expect(first).toMatchObject({ ok: true, replayed: false, amount: USD("2.5") });
    expect((await getWalletBalance(user.id)).available).toBe(USD("2.5"));
    const again = await grantCredit({
      email: user.email,
      amount: "2.50",
      reason: "Welcome credit",
      key: `w-${user.id}`,
    });
    expect(again).toMatchObject({ ok: true, replayed: true });
    expect((await getWalletBalance(user.id)).available).toBe(USD("2.5"));
    expect(await grantCredit({ email: user.email, amount: "3", reason: "Other", key: `w-${user.id}` })).toMatchObject({
      ok: false,
      errors: [expect.stringMatching(/^--key: w-.* was already used for another grant/)],
    });
    // Without a key, each run is a new grant.
    await grantCredit({ email: user.email, amount: "1", reason: "Sorry for the outage" });
    expect((await getWalletBalance(user.id)).available).toBe(USD("3.5"));

    const statement = await getStatement(user.id);
    expect(statement.items.map((item) => item.description)).toEqual(["Promotional credit", "Promotional credit"]);
    const promotions = await prisma.ledgerEntry.findMany({
      where: {
        accountId: PLATFORM_ACCOUNTS.promotions,
        transfer: { entries: { some: { accountId: walletAccountId(user.id) } } },
      },
    });
    expect(promotions.map((entry) => entry.amount).sort()).toEqual([-USD("2.5"), -USD("1")].sort());
    const events = await prisma.auditEvent.findMany({ where: { action: "wallet.grant", targetId: user.id } });
    expect(events).toHaveLength(2);
    expect(events[0]!.after).toMatchObject({ amount: "2.5", currency: "USD", reason: "Welcome credit" });

    expect(await grantCredit({ email: "nobody@example.com", amount: "1", reason: "why" })).toEqual({
      ok: false,
      errors: ["--email: no member has the address nobody@example.com"],
    });
  });

  it("the command prints the new balance and exits 0, or explains and exits non-zero", async () => {
    const user = await createUser();
    const out: string[] = [];
    const err: string[] = [];
    const run = (args: string[]) =>
      grantMain(
        args,
        (line) => out.push(line),
        (line) => err.push(line),
      );
    expect(await run(["--email", user.email, "--amount", "5", "--reason", "Demo"])).toBe(0);
    expect(out.join("\n")).toMatch(
      /^Credited \$5\.00 to .* \(transfer .+\)\.\nNew balance: \$5\.00 available, \$0\.00 held\.$/,
    );
    expect(await run(["--email", user.email, "--amount", "zero", "--reason", "Demo"])).toBe(1);
    expect(err.at(-1)).toBe(
      'error: --amount: Enter an amount, like 10 or 10.50 (digits, with a dot for decimals) (got "zero")',
    );
    expect(await run(["--emial", user.email])).toBe(2);
    expect(err.at(-1)).toContain("Usage: npm run wallet:grant");
    expect(await run(["--help"])).toBe(0);
  });
});

describe("npm run ledger:check", () => {
  it("prints OK for each check and exits 0 on a healthy ledger", async () => {
    const user = await createUser();
    await move(user.id, USD("1"));
    const { exitCode, lines } = await runLedgerCheck();
    expect(exitCode).toBe(0);
    const { checks } = await checkInvariants();
    expect(lines).toEqual([...checks.map((check) => `OK    ${check}`), `All ${checks.length} checks passed.`]);
    const out: string[] = [];
    expect(await ledgerCheckMain((line) => out.push(line))).toBe(0);
    expect(out[0]).toMatch(/^Ledger check on .+\/test_/);
  });

  it("prints FAIL with each problem and exits 1 when anything is wrong", () => {
    const report = {
      checks: ["each transfer's entries sum to zero", "no member wallet below zero"],
      problems: [
        { check: "no member wallet below zero", detail: "wallet:abc: balance -5, held 0" },
        { check: "no member wallet below zero", detail: "wallet:def: balance 0, held 3" },
      ],
    };
    expect(formatReport(report)).toEqual({
      exitCode: 1,
      lines: [
        "OK    each transfer's entries sum to zero",
        "FAIL  no member wallet below zero",
        "        - wallet:abc: balance -5, held 0",
        "        - wallet:def: balance 0, held 3",
        "1 of 2 checks failed (2 problems).",
      ],
    });
    // A problem under a check that was not listed still fails the run.
    expect(formatReport({ checks: [], problems: [{ check: "surprise", detail: "x" }] }).exitCode).toBe(1);
  });
});
