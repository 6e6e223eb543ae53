import { pathToFileURL } from "node:url";
import type { InvariantProblem } from "#app/models/ledger.server";

// `npm run ledger:check`: runs every ledger invariant check against DATABASE_URL and prints each one
// with OK or FAIL (and what broke). Exit code 0 when the ledger is healthy, 1 on any problem or error.

export type LedgerReport = { checks: string[]; problems: InvariantProblem[] };

/** Turns a checkInvariants() report into printable lines and the exit code. */
export function formatReport(report: LedgerReport): { exitCode: 0 | 1; lines: string[] } {
  const lines: string[] = [];
  // A problem under a check we did not list would otherwise go unreported.
  const checks = [...report.checks, ...report.problems.map((p) => p.check).filter((c) => !report.checks.includes(c))];
  let failed = 0;
  for (const check of [...new Set(checks)]) {
    const details = report.problems.filter((problem) => problem.check === check).map((problem) => problem.detail);
    if (details.length === 0) {
      lines.push(`OK    ${check}`);
      continue;
    }
    failed += 1;
    lines.push(`FAIL  ${check}`);
    for (const detail of details) lines.push(`        - ${detail}`);
  }
  const total = new Set(checks).size;
  lines.push(
    failed === 0
      ? `All ${total} checks passed.`
      : `${failed} of ${total} checks failed (${report.problems.length} ${report.problems.length === 1 ? "problem" : "problems"}).`,
  );
  return { exitCode: failed === 0 && report.problems.length === 0 ? 0 : 1, lines };
}

/** Where we are looking, without the password: "127.0.0.1:54329/app". */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return "(unparseable DATABASE_URL)";
  }
}

export async function runLedgerCheck(): Promise<{ exitCode: 0 | 1; lines: string[] }> {
  const { checkInvariants } = await import("#app/models/ledger.server");
  return formatReport(await checkInvariants());
}

export async function main(out = console.log, err = console.error): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    err("DATABASE_URL is not set. Point it at the database to check (for development, `npm run dev` prints it).");
    return 1;
  }
  out(`Ledger check on ${describeDatabase(url)}`);
  try {
    const { exitCode, lines } = await runLedgerCheck();
    for (const line of lines) out(line);
    return exitCode;
  } catch (error) {
    err(`FAIL  could not run the checks: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main();
  if (process.env.DATABASE_URL) {
    const { closeDatabase } = await import("#app/utils/db.server");
    await closeDatabase().catch(() => undefined);
  }
  process.exit(code);
}
