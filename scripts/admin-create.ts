import { runIfScript, startCommand } from "./lib/cli";

// `npm run admin:create -- --email someone@example.com [--role admin|support]`
// Gives an EXISTING account (sign up first, in the browser) the admin or support role. It never
// creates an account or a password. Audited as "account.role_change" with no actor, via "cli".
// Running it again changes nothing. Reads DATABASE_URL (`npm run dev` prints the development one).

export const USAGE = `Usage: npm run admin:create -- --email <address> [--role admin|support]

  --email   the address of an existing account (sign up in the browser first)
  --role    admin (default) or support (reads the admin console, cannot move money)

Needs DATABASE_URL (for development, \`npm run dev\` prints it).`;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ROLES = ["admin", "support"] as const;
type StaffRole = (typeof ROLES)[number];

export type CreateInput = { email?: string; role?: string };

export function validateCreate(
  input: CreateInput,
): { ok: true; value: { email: string; role: StaffRole } } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const email = input.email?.trim().toLowerCase() ?? "";
  if (!email) errors.push("--email is missing: the address of an existing account, e.g. --email you@example.com");
  else if (!EMAIL.test(email) || email.length > 254) errors.push(`--email: "${input.email}" is not an email address`);
  const role = (input.role?.trim().toLowerCase() || "admin") as StaffRole;
  if (!ROLES.includes(role)) errors.push(`--role: use admin or support (got "${input.role}")`);
  if (errors.length) return { ok: false, errors };
  return { ok: true, value: { email, role } };
}

/** Runs the command; returns the exit code (0 done, 1 refused or failed, 2 unknown option or no DATABASE_URL). */
export async function main(argv: string[], out = console.log, err = console.error): Promise<number> {
  const started = startCommand<CreateInput>(
    argv,
    {
      email: { type: "string" },
      role: { type: "string" },
    },
    { usage: USAGE, database: "the database to change", out, err },
  );
  if ("exitCode" in started) return started.exitCode;
  const { values } = started;
  const valid = validateCreate(values);
  if (!valid.ok) {
    err(valid.errors.map((line) => `error: ${line}`).join("\n"));
    return 1;
  }
  const { email, role } = valid.value;
  const { promoteAccount } = await import("#app/models/admin-members.server");
  const result = await promoteAccount({ email, role, via: "cli" });
  if (!result.ok) {
    err(
      `error: --email: no account has the address ${email}. Sign up with it first (in the browser), then run this again.`,
    );
    return 1;
  }
  out(
    result.changed
      ? `${email} is now ${role} (was ${result.from}). Recorded in the audit log. Existing sessions keep working and see the new role at once.`
      : `${email} is already ${role}: nothing changed.`,
  );
  return 0;
}

await runIfScript(import.meta.url, "admin:create", main);
