import { createElement, type ReactElement } from "react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import AccountExistsEmail, { subject as accountExistsSubject } from "#emails/account-exists";
import EmailChangeEmail, { subject as emailChangeSubject } from "#emails/email-change";
import EmailChangedNoticeEmail, { subject as emailChangedNoticeSubject } from "#emails/email-changed-notice";
import { maskEmail } from "#emails/mask";
import NewSignInEmail, { subject as newSignInSubject } from "#emails/new-sign-in";
import PasswordChangedEmail, { subject as passwordChangedSubject } from "#emails/password-changed";
import PasswordResetEmail, { subject as passwordResetSubject } from "#emails/password-reset";
import VerificationEmail, { subject as verificationSubject } from "#emails/verification";
import { queueNotification } from "#app/notifications/outbox.server";
import { loader as outboxLoader } from "#app/routes/dev.outbox";
import { prisma } from "#app/utils/db.server";
import {
  createOutboxTransport,
  createResendTransport,
  EmailSendError,
  renderEmail,
  sendEmail,
} from "#app/utils/email.server";
import { setLogSink } from "#app/utils/logger.server";
import { startFakeResend, type FakeResend } from "#tests/fakes/resend-server";
import { extractCode, extractLink } from "#tests/fakes/email-helpers";
import { call, deliverQueuedEmails, getRequest } from "#tests/helpers";

const APP_URL = "https://wallet.example.test";
const HTML_TAG = /<\/?[a-z][a-z0-9-]*(\s[^>]*)?\/?>/i;

function expectBoth(rendered: { html: string; text: string }, needles: string[]) {
  // React separates adjacent text nodes with <!-- --> markers; they are invisible, so ignore them here.
  const html = rendered.html.replaceAll("<!-- -->", "");
  for (const needle of needles) {
    expect(html, `html should contain ${needle}`).toContain(escapeHtml(needle));
    expect(rendered.text, `text should contain ${needle}`).toContain(needle);
  }
  expect(rendered.text).not.toMatch(HTML_TAG);
  expect(rendered.html).toMatch(/^<!DOCTYPE html/i);
  // Frame: product name and the footer, in both parts; no images / tracking pixels.
  for (const part of [html, rendered.text]) {
    expect(part).toContain("AI Wallet");
    expect(part).toContain(`You got this email because of your account at ${APP_URL}.`);
    expect(part).toContain("We never ask for your password.");
  }
  expect(rendered.html).not.toMatch(/<img\b/i);
}

function escapeHtml(value: string) {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

async function renderText(element: ReactElement) {
  return renderEmail(element);
}

describe("email templates", () => {
  it("verification: code, link, name, expiry", async () => {
    const props = {
      displayName: "Ada Lovelace",
      code: "48213907",
      link: `${APP_URL}/verify-email?token=abc123&email=ada`,
      expiresInMinutes: 15,
      appUrl: APP_URL,
    };
    const rendered = await renderText(createElement(VerificationEmail, props));
    expectBoth(rendered, ["Ada Lovelace", "48213907", props.link, "15 minutes"]);
    expect(rendered.html).toMatch(/monospace/);
    expect(extractCode(rendered.text)).toBe("48213907");
    expect(extractLink(rendered.text)).toBe(props.link);
    expect(verificationSubject(props)).toMatch(/confirm/i);
  });

  it("email-change: new address, code, link", async () => {
    const props = {
      displayName: "Ada",
      newEmail: "ada.new@example.com",
      code: "11223344",
      link: `${APP_URL}/settings/email/confirm?token=xyz`,
      expiresInMinutes: 20,
      appUrl: APP_URL,
    };
    const rendered = await renderText(createElement(EmailChangeEmail, props));
    expectBoth(rendered, ["Ada", "ada.new@example.com", "11223344", props.link, "20 minutes"]);
    expect(extractCode(rendered.text)).toBe("11223344");
    expect(extractLink(rendered.text)).toBe(props.link);
    expect(emailChangeSubject(props)).toMatch(/new email/i);
  });

  it("email-changed-notice: masked new address and time", async () => {
    const props = {
      displayName: "Ada",
      newEmail: maskEmail("ada.new@example.com"),
      when: "12 March 2025, 14:05 UTC",
      appUrl: APP_URL,
    };
    const rendered = await renderText(createElement(EmailChangedNoticeEmail, props));
    expectBoth(rendered, ["Ada", "a***@example.com", "12 March 2025, 14:05 UTC"]);
    expect(rendered.html).not.toContain("ada.new@example.com");
    expect(rendered.text).not.toContain("ada.new@example.com");
    expect(emailChangedNoticeSubject(props)).toMatch(/changed/i);
  });

  it("password-reset: link, name, expiry", async () => {
    const props = {
      displayName: "Grace",
      link: `${APP_URL}/reset-password?token=reset-token-1`,
      expiresInMinutes: 30,
      appUrl: APP_URL,
    };
    const rendered = await renderText(createElement(PasswordResetEmail, props));
    expectBoth(rendered, ["Grace", props.link, "30 minutes"]);
    expect(extractLink(rendered.text)).toBe(props.link);
    expect(passwordResetSubject(props)).toMatch(/reset/i);
  });

  it("password-changed: time and sessions notice (optional reset link)", async () => {
    const props = { displayName: "Grace", when: "1 April 2025, 09:00 UTC", appUrl: APP_URL };
    const rendered = await renderText(createElement(PasswordChangedEmail, props));
    expectBoth(rendered, ["Grace", "1 April 2025, 09:00 UTC", "all other sessions were signed out"]);
    expect(passwordChangedSubject(props)).toMatch(/password was changed/i);

    const resetUrl = `${APP_URL}/forgot-password`;
    const withReset = await renderText(createElement(PasswordChangedEmail, { ...props, resetUrl }));
    expectBoth(withReset, [resetUrl]);
    expect(extractLink(withReset.text)).toBe(resetUrl);
  });

  it("new-sign-in: when, device, ip, settings link", async () => {
    const props = {
      displayName: "Linus",
      when: "2 May 2025, 18:30 UTC",
      device: "Firefox on Linux",
      ip: "203.0.113.7",
      settingsUrl: `${APP_URL}/settings/security`,
      appUrl: APP_URL,
    };
    const rendered = await renderText(createElement(NewSignInEmail, props));
    expectBoth(rendered, ["Linus", props.when, props.device, props.ip, props.settingsUrl]);
    expect(extractLink(rendered.text)).toBe(props.settingsUrl);
    expect(newSignInSubject(props)).toMatch(/sign-in/i);
  });

  it("account-exists: login and reset links, no name needed", async () => {
    const props = { loginUrl: `${APP_URL}/login`, resetUrl: `${APP_URL}/forgot-password`, appUrl: APP_URL };
    const rendered = await renderText(createElement(AccountExistsEmail, props));
    expectBoth(rendered, [props.loginUrl, props.resetUrl]);
    expect(extractLink(rendered.text)).toBe(props.loginUrl);
    expect(accountExistsSubject(props)).toMatch(/already have/i);
  });

  it("escapes user-controlled names", async () => {
    const rendered = await renderText(
      createElement(PasswordChangedEmail, { displayName: "<script>x</script>", when: "now", appUrl: APP_URL }),
    );
    expect(rendered.html).not.toContain("<script>x</script>");
    expect(rendered.html).toContain("&lt;script&gt;");
  });
});

describe("maskEmail", () => {
  it("keeps the first character and the domain", () => {
    expect(maskEmail("john@example.com")).toBe("j***@example.com");
    expect(maskEmail("j@example.com")).toBe("j***@example.com");
    expect(maskEmail("  Jane.Doe+tag@mail.example.org ")).toBe("J***@mail.example.org");
  });

  it("never returns the input for malformed addresses", () => {
    expect(maskEmail("not-an-email")).toBe("***");
    expect(maskEmail("@example.com")).toBe("***");
    expect(maskEmail("john@")).toBe("***");
    expect(maskEmail("")).toBe("***");
  });
});

describe("email test helpers", () => {
  it("extract the 8-digit code and the first link", () => {
    const text = "Your code is 12345678.\nOpen https://x.test/verify?t=1. Or (https://y.test/other)";
    expect(extractCode(text)).toBe("12345678");
    expect(extractCode("phone 123456789 and 1234567")).toBeNull();
    expect(extractLink(text)).toBe("https://x.test/verify?t=1");
    expect(extractLink("no links here")).toBeNull();
  });
});

describe("Resend transport", () => {
  let fake: FakeResend;

  beforeAll(async () => {
    fake = await startFakeResend();
  });

  afterAll(async () => {
    await fake.close();
  });

  const from = "AI Wallet <no-reply@wallet.example.test>";
  const to = "someone@example.com";
  const props = {
    displayName: "Someone",
    code: "90817263",
    link: `${APP_URL}/verify-email?token=tok_42`,
    expiresInMinutes: 15,
    appUrl: APP_URL,
  };

  it("POSTs the rendered email to /emails with the API key", async () => {
    const transport = createResendTransport({ apiKey: "re_test_123", baseUrl: fake.url, from });
    const before = fake.requests.length;

    const result = await sendEmail(
      { to, subject: verificationSubject(props), react: createElement(VerificationEmail, props), tag: "verification" },
      { transport },
    );

    expect(result.transport).toBe("resend");
    expect(result.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(fake.requests.length).toBe(before + 1);
    const request = fake.requests.at(-1)!;
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/emails");
    expect(request.headers.authorization).toBe("Bearer re_test_123");
    expect(request.headers["content-type"]).toMatch(/application\/json/);
    expect(request.body.from).toBe(from);
    expect(request.body.to).toEqual(["someone@example.com"]);
    expect(request.body.subject).toBe(verificationSubject(props));
    expect(request.body.html).toContain("90817263");
    expect(request.body.text).toContain(props.link);
    expect(request.body.text).not.toMatch(HTML_TAG);
    expect(request.body.tags).toEqual([{ name: "category", value: "verification" }]);
  });

  it("logs only tag, transport and id", async () => {
    const transport = createResendTransport({ apiKey: "re_test_123", baseUrl: fake.url, from });
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      const { id } = await sendEmail(
        {
          to,
          subject: verificationSubject(props),
          react: createElement(VerificationEmail, props),
          tag: "verification",
        },
        { transport },
      );
      expect(lines).toHaveLength(1);
      const entry = JSON.parse(lines[0]!);
      expect(entry).toMatchObject({ level: "info", event: "email.sent", tag: "verification", transport: "resend", id });
      for (const secret of [to, props.code, props.link, "Someone", verificationSubject(props)]) {
        expect(lines[0]).not.toContain(secret);
      }
    } finally {
      setLogSink(null);
    }
  });

  it("accepts a base URL with a trailing slash", async () => {
    const transport = createResendTransport({ apiKey: "re_test_123", baseUrl: `${fake.url}/`, from });
    await transport.send({ to, subject: "s", html: "<p>h</p>", text: "h", tag: "test" });
    expect(fake.requests.at(-1)!.path).toBe("/emails");
  });

  for (const status of [422, 500]) {
    it(`rejects without leaking the recipient when Resend answers ${status}`, async () => {
      const transport = createResendTransport({ apiKey: "re_test_123", baseUrl: fake.url, from });
      fake.failNext(status, {
        statusCode: status,
        name: status === 422 ? "validation_error" : "internal_server_error",
        message: `Invalid \`to\` field: ${to}`,
      });

      const error = await sendEmail(
        {
          to,
          subject: verificationSubject(props),
          react: createElement(VerificationEmail, props),
          tag: "verification",
        },
        { transport },
      ).then(
        () => null,
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(EmailSendError);
      const sendError = error as EmailSendError;
      expect(sendError.status).toBe(status);
      expect(sendError.message).toContain(String(status));
      expect(sendError.message).not.toContain(to);
      expect(sendError.message).not.toContain("someone");
      expect(sendError.message).not.toContain(props.code);
      expect(String(sendError.stack)).not.toContain(to);
    });
  }

  it("gives up on a provider that never answers, and sends the idempotency key it is given", async () => {
    const transport = createResendTransport({ apiKey: "re_test_123", baseUrl: fake.url, from, timeoutMs: 200 });
    const email = { to, subject: "s", react: createElement(VerificationEmail, props), tag: "verification" };
    fake.stallNext();
    const error = await sendEmail(email, { transport, idempotencyKey: "notification-1" }).catch((caught) => caught);
    expect(error).toBeInstanceOf(EmailSendError);
    expect((error as EmailSendError).status).toBeNull();
    await sendEmail(email, { transport, idempotencyKey: "notification-1" });
    expect(fake.requests.slice(-2).map((request) => request.headers["idempotency-key"])).toEqual([
      "notification-1",
      "notification-1",
    ]);
  });

  it("rejects tags Resend would refuse", async () => {
    const transport = createResendTransport({ apiKey: "re_test_123", baseUrl: fake.url, from });
    await expect(
      sendEmail({ to, subject: "s", react: createElement(VerificationEmail, props), tag: "bad tag!" }, { transport }),
    ).rejects.toThrow(/tag/);
  });
});

describe("dev outbox", () => {
  it("keeps one copy per idempotency key, and the page counts the emails still queued", async () => {
    const transport = createOutboxTransport();
    const email = { to: "dev@example.com", subject: "s", html: "<p>h</p>", text: "h", tag: "verification" };
    const first = await transport.send(email, { idempotencyKey: "notification-dev-1" });
    const again = await transport.send(email, { idempotencyKey: "notification-dev-1" });
    expect(again).toEqual(first);
    expect(await prisma.outboxEmail.count({ where: { id: "notification-dev-1" } })).toBe(1);

    await queueNotification(prisma, {
      kind: "contact-received",
      to: "dev@example.com",
      userId: null,
      props: { name: "Dev", subject: "Hello", appUrl: APP_URL },
    });
    const page = await call(outboxLoader, getRequest("/dev/outbox"));
    expect((page.data as { queued: number }).queued).toBe(1);
    await deliverQueuedEmails();
    expect(((await call(outboxLoader, getRequest("/dev/outbox"))).data as { queued: number }).queued).toBe(0);
  });
});
