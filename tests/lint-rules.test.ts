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
