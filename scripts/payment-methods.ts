import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { PaymentMethod, PaymentMethodInput } from "#app/models/payment-methods.server";

// `npm run payment-methods -- <command> …`: the operator's tool for the manual top-up methods members
// see (mobile money, bank transfer). Methods are never deleted (requests point at them): disable one to
// hide it. Every change is written to the audit log. Reads DATABASE_URL (`npm run dev` prints it).

export const USAGE = `Usage: npm run payment-methods -- <command> [options]

Commands:
  list                                  every method, enabled or not
  add --name <text> --account <number> --instructions <text>
      [--account-name <text>] [--currency-note <text>] [--sort <n>] [--disabled]
  update <id|name> [--name …] [--account …] [--instructions …] [--account-name …]
      [--currency-note …] [--sort <n>]
  disable <id|name>                     hide it from members (existing requests keep it)
  enable <id|name>

Examples:
  npm run payment-methods -- add --name "MTN MoMo" --account "+237 670 000 000" \\
    --account-name "Acme Ltd" --instructions "Dial *126#, choose Transfer, send to the number below." \\
    --currency-note "Send XAF; we credit the USD equivalent."
  npm run payment-methods -- disable "MTN MoMo"

Use "\\n" inside --instructions for a line break. Needs DATABASE_URL.`;

type Options = {
  name?: string;
  account?: string;
  instructions?: string;
  "account-name"?: string;
  "currency-note"?: string;
  sort?: string;
  disabled?: boolean;
  help?: boolean;
};

type Io = { out: (line: string) => void; err: (line: string) => void };

function describe(method: PaymentMethod): string {
  const lines = [
    `${method.enabled ? "●" : "○"} ${method.name}  [${method.enabled ? "enabled" : "disabled"}, sort ${method.sortOrder}]`,
    `    id:            ${method.id}`,
    `    account:       ${method.accountNumber}${method.accountName ? `  (${method.accountName})` : ""}`,
  ];
  if (method.currencyNote) lines.push(`    currency note: ${method.currencyNote}`);
  lines.push(`    instructions:  ${method.instructions.replace(/\n/g, "\n                   ")}`);
  return lines.join("\n");
}

function toInput(values: Options): { ok: true; input: Partial<PaymentMethodInput> } | { ok: false; error: string } {
  const input: Partial<PaymentMethodInput> = {};
  const unescape = (text: string) => text.replace(/\\n/g, "\n");
  if (values.name !== undefined) input.name = values.name;
  if (values.account !== undefined) input.accountNumber = values.account;
  if (values.instructions !== undefined) input.instructions = unescape(values.instructions);
  if (values["account-name"] !== undefined) input.accountName = values["account-name"];
  if (values["currency-note"] !== undefined) input.currencyNote = values["currency-note"];
  if (values.sort !== undefined) {
    if (!/^-?\d{1,4}$/.test(values.sort.trim())) return { ok: false, error: "--sort: a whole number, e.g. --sort 10" };
    input.sortOrder = Number(values.sort.trim());
  }
  return { ok: true, input };
}

function zodErrors(error: unknown): string[] | null {
  const issues = (error as { issues?: Array<{ message: string; path: PropertyKey[] }> }).issues;
  if (!Array.isArray(issues)) return null;
  return issues.map((issue) => issue.message);
}

/** Runs the command; returns the exit code (0 done, 1 refused, 2 usage or no DATABASE_URL). */
export async function main(argv: string[], io: Io = { out: console.log, err: console.error }): Promise<number> {
  let values: Options;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        name: { type: "string" },
        account: { type: "string" },
        instructions: { type: "string" },
        "account-name": { type: "string" },
        "currency-note": { type: "string" },
        sort: { type: "string" },
        disabled: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const [command, target, ...extra] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return values.help ? 0 : 2;
  }
  if (!process.env.DATABASE_URL) {
    io.err("DATABASE_URL is not set. Point it at the app's database (for development, `npm run dev` prints it).");
    return 2;
  }
  const methods = await import("#app/models/payment-methods.server");
  const actor = { actorId: null, via: "cli" as const };

  if (command === "list") {
    const all = await methods.listAllMethods();
    io.out(all.length ? all.map(describe).join("\n\n") : "No payment methods yet. Add one with the add command.");
    return 0;
  }

  if (command === "add") {
    if (target) {
      io.err(`add takes only options (got "${target}").\n\n${USAGE}`);
      return 2;
    }
    const missing = (["name", "account", "instructions"] as const).filter((key) => !values[key]?.trim());
    if (missing.length) {
      io.err(missing.map((key) => `error: --${key} is missing`).join("\n"));
      return 1;
    }
    const parsed = toInput(values);
    if (!parsed.ok) {
      io.err(`error: ${parsed.error}`);
      return 1;
    }
    try {
      const method = await methods.addMethod(
        { ...(parsed.input as PaymentMethodInput), enabled: !values.disabled },
        actor,
      );
      io.out(`Added:\n${describe(method)}`);
      return 0;
    } catch (error) {
      const messages = zodErrors(error);
      if (!messages) throw error;
      io.err(messages.map((message) => `error: ${message}`).join("\n"));
      return 1;
    }
  }

  if (command === "update" || command === "enable" || command === "disable") {
    if (!target || extra.length) {
      io.err(`${command} needs exactly one method id or name.\n\n${USAGE}`);
      return 2;
    }
    const method = await methods.findMethod(target);
    if (!method) {
      io.err(`error: no single method has the id or name "${target}" (see the list command)`);
      return 1;
    }
    let change: Partial<PaymentMethodInput>;
    if (command === "update") {
      const parsed = toInput(values);
      if (!parsed.ok) {
        io.err(`error: ${parsed.error}`);
        return 1;
      }
      if (Object.keys(parsed.input).length === 0) {
        io.err("error: nothing to change: give at least one option, e.g. --account");
        return 1;
      }
      change = parsed.input;
    } else {
      change = { enabled: command === "enable" };
    }
    try {
      const updated = await methods.updateMethod(method.id, change, actor);
      if (!updated) {
        io.err(`error: the method "${target}" no longer exists`);
        return 1;
      }
      io.out(
        `${command === "update" ? "Updated" : command === "enable" ? "Enabled" : "Disabled"}:\n${describe(updated)}`,
      );
      return 0;
    } catch (error) {
      const messages = zodErrors(error);
      if (!messages) throw error;
      io.err(messages.map((message) => `error: ${message}`).join("\n"));
      return 1;
    }
  }

  io.err(`Unknown command "${command}".\n\n${USAGE}`);
  return 2;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`payment-methods failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  });
  if (process.env.DATABASE_URL) {
    const { closeDatabase } = await import("#app/utils/db.server");
    await closeDatabase().catch(() => undefined);
  }
  process.exit(code);
}
