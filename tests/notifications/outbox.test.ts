import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";

// The notifications outbox end to end: rows written in the change's transaction, sent later through the real
// Resend SDK to a local fake of Resend's API, retried with growing pauses, erased once sent or given up.
const setup = await vi.hoisted(async () => {
  const { startFakeResend } = await import("../fakes/resend-server");
  const resend = await startFakeResend();
  process.env.RESEND_API_KEY = "re_test_outbox";
  process.env.RESEND_BASE_URL = resend.url;
  return { resend };
});

import { purgeExpiredJob } from "#app/jobs/maintenance.server";
import { startNotificationWorker } from "#app/jobs/notifications.server";
import { deleteAccount } from "#app/models/data-rights.server";
import {
  deliverDueNotifications,
  deliverNotification,
  MAX_ATTEMPTS,
  NOTIFICATION_RETENTION_DAYS,
  RETRY_WINDOW_MS,
  retryDelayMs,
} from "#app/notifications/delivery.server";
import { NOTIFICATION_QUEUE, nudgeNotifications, queueNotification } from "#app/notifications/outbox.server";
import { prisma } from "#app/utils/db.server";
import { stopBoss } from "#app/utils/jobs.server";
import { setLogSink } from "#app/utils/logger.server";
import { createUser, deliverQueuedEmails, TEST_PASSWORD, uniqueEmail } from "#tests/helpers";

const { resend } = setup;

afterAll(async () => {
  await stopBoss();
  await resend.close();
});

beforeEach(async () => {
  // Each test starts with nothing due, so a sweep only sees what the test queued.
  await prisma.notification.deleteMany();
});

const sentTo = (address: string) =>
  resend.requests.filter((request) => request.path === "/emails" && [request.body?.to].flat().includes(address));

const MINUTE = 60_000;

function lowBalanceProps(name = "Ada") {
  return {
    displayName: name,
    available: "$1.20",
    threshold: "$2.00",
    topUpUrl: "http://localhost:3000/wallet/top-up",
    walletUrl: "http://localhost:3000/wallet",
  };
}

async function queued(to = uniqueEmail("outbox"), options: { userId?: string | null; dedupeKey?: string } = {}) {
  const id = await queueNotification(prisma, {
    kind: "low-balance",
    to,
    userId: options.userId ?? null,
    props: lowBalanceProps(),
    dedupeKey: options.dedupeKey,
  });
  return { id: id!, to };
}

describe("notifications outbox", () => {
  it("is written in the change's transaction: a rollback leaves no notification, a commit is sent later", async () => {
    const to = uniqueEmail("tx");
    await expect(
      prisma.$transaction(async (tx) => {
        await queueNotification(tx, { kind: "low-balance", to, userId: null, props: lowBalanceProps() });
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await prisma.notification.count({ where: { recipient: to } })).toBe(0);

    const id = await prisma.$transaction((tx) =>
      queueNotification(tx, { kind: "low-balance", to, userId: null, props: lowBalanceProps("Grace") }),
    );
    expect(sentTo(to)).toHaveLength(0); // queued, not sent
    expect(await deliverQueuedEmails()).toMatchObject({ sent: 1 });
    const [mail] = sentTo(to);
    expect(mail!.body).toMatchObject({
      subject: expect.stringMatching(/balance is low/),
      tags: [{ value: "low-balance" }],
    });
    expect(mail!.body.text).toContain("Grace");
    expect(mail!.headers["idempotency-key"]).toBe(id);
    // Sent: the address and the content are gone; the provider's id is kept.
    expect(await prisma.notification.findUniqueOrThrow({ where: { id: id! } })).toMatchObject({
      status: "sent",
      recipient: null,
      payload: null,
      attempts: 1,
      providerId: expect.any(String),
      finishedAt: expect.any(Date),
    });
    expect(await deliverQueuedEmails()).toMatchObject({ sent: 0 }); // sent once
  });

  it("retries with growing pauses for about a day, then gives up and erases the address and content", async () => {
    const { id, to } = await queued();
    const first = Date.now();
    let now = new Date(first);
    const pauses: number[] = [];
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      resend.failNext(503);
      expect(await deliverNotification(id, { now })).toBe(attempt < MAX_ATTEMPTS ? "retry" : "failed");
      const row = await prisma.notification.findUniqueOrThrow({ where: { id } });
      expect(row.attempts).toBe(attempt);
      if (attempt < MAX_ATTEMPTS) {
        // Not due a moment before its time, due at it.
        expect(await deliverNotification(id, { now: new Date(row.nextAttemptAt.getTime() - 1) })).toBe("skipped");
        pauses.push(row.nextAttemptAt.getTime() - now.getTime());
        now = row.nextAttemptAt;
      }
    }
    expect(pauses.slice(0, 4)).toEqual([1, 2, 4, 8].map((minutes) => minutes * MINUTE));
    expect(Math.max(...pauses)).toBe(4 * 60 * MINUTE);
    const span = now.getTime() - first;
    expect(span).toBeGreaterThan(20 * 60 * MINUTE);
    expect(span).toBeLessThan(26 * 60 * MINUTE);
    expect(span).toBe(RETRY_WINDOW_MS); // what the privacy page states
    expect(sentTo(to)).toHaveLength(MAX_ATTEMPTS);
    expect(await prisma.notification.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: "failed",
      recipient: null,
      payload: null,
      lastError: "status 503 internal_server_error",
    });
    expect(retryDelayMs(1)).toBe(MINUTE);
  });

  it("does not retry an email the provider refuses for good (422)", async () => {
    const { id } = await queued();
    resend.failNext(422);
    expect(await deliverNotification(id)).toBe("failed");
    expect(await prisma.notification.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: "failed",
      lastError: "status 422 validation_error",
      recipient: null,
    });
  });

  it("a change that runs twice with the same dedupe key writes one notification", async () => {
    const to = uniqueEmail("dedupe");
    const key = `test-dedupe:${to}`;
    const ids = await Promise.all([queued(to, { dedupeKey: key }), queued(to, { dedupeKey: key })]);
    expect(ids.filter((row) => row.id !== undefined && row.id !== null)).toHaveLength(1);
    await deliverQueuedEmails();
    expect(sentTo(to)).toHaveLength(1);
  });

  it("two workers on one notification send it once; a crashed attempt is taken up again after its lease", async () => {
    const { id, to } = await queued();
    const outcomes = await Promise.all([deliverNotification(id), deliverNotification(id)]);
    expect(outcomes.sort()).toEqual(["sent", "skipped"]);
    expect(sentTo(to)).toHaveLength(1);

    // A worker that claimed a row and died: the row is left alone until its lease runs out.
    const crashed = await queued();
    await prisma.notification.update({
      where: { id: crashed.id },
      data: { attempts: 1, lockedUntil: new Date(Date.now() + 2 * MINUTE) },
    });
    expect(await deliverDueNotifications()).toMatchObject({ sent: 0 });
    expect(await deliverDueNotifications({ now: new Date(Date.now() + 3 * MINUTE) })).toMatchObject({ sent: 1 });
    expect(sentTo(crashed.to)).toHaveLength(1);
  });

  it("a sweep stops at the first failure (the provider is down) and leaves the rest for the next one", async () => {
    const rows = [await queued(), await queued(), await queued()];
    resend.failNext(500);
    expect(await deliverDueNotifications()).toEqual({ sent: 0, retry: 1, failed: 0, skipped: 0 });
    expect(await deliverDueNotifications()).toEqual({ sent: 2, retry: 0, failed: 0, skipped: 0 });
    expect(await deliverDueNotifications({ now: new Date(Date.now() + 2 * MINUTE) })).toMatchObject({ sent: 1 });
    for (const row of rows) expect(sentTo(row.to)).toHaveLength(row === rows[0] ? 2 : 1);
  });

  it("a kind this version does not know waits for one that does, instead of being lost", async () => {
    const { id } = await queued();
    await prisma.notification.update({ where: { id }, data: { kind: "from-a-newer-version" } });
    expect(await deliverNotification(id)).toBe("retry");
    expect(await prisma.notification.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: "pending",
      lastError: "unknown_kind",
      recipient: expect.any(String),
    });
  });

  it("logs ids, kinds and statuses, never the address or the content", async () => {
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const to = uniqueEmail("logs");
      const id = await queueNotification(prisma, {
        kind: "password-reset",
        to,
        userId: null,
        props: {
          displayName: "Secret Name",
          link: "http://localhost:3000/reset?token=very-secret",
          expiresInMinutes: 30,
        },
      });
      resend.failNext(500);
      await deliverNotification(id!);
      await deliverNotification(id!, { now: new Date(Date.now() + 2 * MINUTE) });
      expect(sentTo(to)).toHaveLength(2);
      const log = lines.join("\n");
      expect(log).toContain(id!);
      expect(log).toContain("notification.sent");
      for (const secret of [to, "Secret Name", "very-secret"]) expect(log).not.toContain(secret);
    } finally {
      setLogSink(null);
    }
  });

  it("deleting an account drops the emails still queued for it and queues only the goodbye", async () => {
    const member = await createUser({ email: uniqueEmail("leaving") });
    await queued(member.email, { userId: member.id });
    const result = await deleteAccount({ userId: member.id, password: TEST_PASSWORD, ip: null });
    expect(result.ok).toBe(true);
    const left = await prisma.notification.findMany({ where: { recipient: member.email } });
    expect(left.map((row) => [row.kind, row.userId])).toEqual([["account-deleted", null]]);
    await deliverQueuedEmails();
    expect(sentTo(member.email).map((request) => request.body.subject)).toEqual([
      expect.stringMatching(/account was deleted/),
    ]);
  });

  it("retention deletes every notification a week after it was written", async () => {
    const old = await queued();
    const recent = await queued();
    await prisma.notification.update({
      where: { id: old.id },
      data: { createdAt: new Date(Date.now() - (NOTIFICATION_RETENTION_DAYS * 24 + 1) * 60 * MINUTE) },
    });
    const purged = await purgeExpiredJob();
    expect(purged.notifications).toBe(1);
    expect(await prisma.notification.findUnique({ where: { id: old.id } })).toBeNull();
    expect(await prisma.notification.findUnique({ where: { id: recent.id } })).not.toBeNull();
  });

  it("the nudge after the commit is written without a started pg-boss, and the worker sends it at once", async () => {
    await startNotificationWorker(); // creates the queue, as the worker process does
    await stopBoss(); // this process is now like a web-only instance
    const { id, to } = await queued();
    await nudgeNotifications([id]);
    const jobs = await prisma.$queryRaw<Array<{ data: { id: string } }>>`
      SELECT data FROM pgboss.job WHERE name = ${NOTIFICATION_QUEUE}`;
    expect(jobs.map((job) => job.data)).toContainEqual({ id }); // the job carries the id only

    await startNotificationWorker();
    // Wait for the condition (the worker polls every second), never for a fixed time.
    await vi.waitFor(
      async () => {
        expect((await prisma.notification.findUniqueOrThrow({ where: { id } })).status).toBe("sent");
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(sentTo(to)).toHaveLength(1);
  });
});
