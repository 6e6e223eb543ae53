import { pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";

// The common start and end of the operator commands that change the app's database (admin:create,
// wallet:grant): the same exit codes, --help, DATABASE_URL check and pool shutdown for each, and their
// main() stays callable from the tests.

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `--name value` options strictly (no positionals) plus --help/-h, and checks DATABASE_URL.
 * Returns the values to go on with, or the exit code the command ends with: 2 for an unknown option
 * (with the usage) or no DATABASE_URL, 0 after printing the usage for --help.
 */
export function startCommand<Values extends Record<string, string | boolean | undefined>>(
  argv: string[],
  /** Values describes what these options parse to (parseArgs's own type does not survive a generic). */
  options: OptionsConfig,
  command: {
    usage: string;
    /** What DATABASE_URL should point at, e.g. "the database to credit". */
    database: string;
    out: (line: string) => void;
    err: (line: string) => void;
  },
): { values: Values } | { exitCode: number } {
  let values: Values & { help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }).values as Values & { help?: boolean };
  } catch (error) {
    command.err(`${error instanceof Error ? error.message : String(error)}\n\n${command.usage}`);
    return { exitCode: 2 };
  }
  if (values.help) {
    command.out(command.usage);
    return { exitCode: 0 };
  }
  if (!process.env.DATABASE_URL) {
    command.err(
      `DATABASE_URL is not set. Point it at ${command.database} (for development, \`npm run dev\` prints it).`,
    );
    return { exitCode: 2 };
  }
  return { values };
}

/**
 * When moduleUrl is the script node was started with (not a test importing it): runs main on the
 * command line's arguments, reports a crash as "<name> failed: …" (exit code 1), closes the app's
 * database pool so that the process can end, and exits with main's code.
 */
export async function runIfScript(moduleUrl: string, name: string, main: (argv: string[]) => Promise<number>) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const code = await main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  });
  if (process.env.DATABASE_URL) {
    const { closeDatabase } = await import("#app/utils/db.server");
    await closeDatabase().catch(() => undefined);
  }
  process.exit(code);
}
