import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

// The import boundary is a lint rule: prove it bites, so a config change cannot silently drop it.
describe("client code cannot import server-only code", () => {
  const eslint = new ESLint();
  const lint = async (code: string, filePath: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages
      .filter((message) => message.ruleId === "no-restricted-imports")
      .map((message) => message.message);
  };

  it.each([
    ['import { prisma } from "#app/utils/db.server";', "Server-only module"],
    ['import { PrismaClient } from "@prisma/client";', "Prisma is server-only"],
    ['import { registry } from "#providers/registry";', "providers/ is server-only"],
  ])("refuses %s in a component", async (code, message) => {
    const messages = await lint(
      `${code}\nexport const used = [${code.match(/\{ (\w+) \}/)![1]}];\n`,
      "app/components/example.tsx",
    );
    expect(messages.join(" ")).toContain(message);
  });

  it("allows route modules to import server code (Remix strips loaders from the client bundle)", async () => {
    const messages = await lint(
      'import { prisma } from "#app/utils/db.server";\nexport const loader = () => prisma;\n',
      "app/routes/example.tsx",
    );
    expect(messages).toEqual([]);
  });
});

// Emails go through the notifications outbox: no model, job or route renders a template or sends one itself.
describe("only app/notifications turns templates into emails", () => {
  const eslint = new ESLint();
  const lint = async (code: string, filePath: string) => {
    const [result] = await eslint.lintText(code, { filePath });
    return result!.messages
      .filter((message) => message.ruleId === "no-restricted-imports")
      .map((message) => message.message);
  };

  it.each([
    [
      'import * as LowBalance from "#emails/low-balance";\nexport const used = LowBalance;\n',
      "app/models/wallet.server.ts",
    ],
    [
      'import * as Receipt from "../../emails/topup-receipt";\nexport const used = Receipt;\n',
      "app/models/x/y.server.ts",
    ],
    [
      'import { sendEmail } from "#app/utils/email.server";\nexport const used = sendEmail;\n',
      "app/models/contact.server.ts",
    ],
    [
      'import { sendEmail } from "#app/utils/email.server";\nexport const used = sendEmail;\n',
      "app/jobs/example.server.ts",
    ],
    ['import * as Reply from "#emails/contact-reply";\nexport const used = Reply;\n', "app/routes/admin.contact.tsx"],
  ])("refuses %j in %s", async (code, filePath) => {
    expect((await lint(code, filePath)).join(" ")).toMatch(/queue a notification/i);
  });

  it("allows the registry, the mask helper, and the dev outbox's reading functions", async () => {
    expect(
      await lint(
        'import * as LowBalance from "#emails/low-balance";\nexport const used = LowBalance;\n',
        "app/notifications/registry.server.ts",
      ),
    ).toEqual([]);
    expect(
      await lint(
        'import { maskEmail } from "#emails/mask";\nexport const used = maskEmail;\n',
        "app/models/audit.server.ts",
      ),
    ).toEqual([]);
    expect(
      await lint(
        'import { listOutbox } from "#app/utils/email.server";\nexport const loader = () => listOutbox();\n',
        "app/routes/dev.outbox.tsx",
      ),
    ).toEqual([]);
  });
});
