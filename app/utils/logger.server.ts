import { env } from "./env.server";

// Structured one-line JSON logs. Logs carry ids, counts and error names, never content:
// any field whose name suggests secrets or personal content is replaced before writing.
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof levels, "silent">;
export type LogFields = Record<string, unknown>;

// Exact names, and camelCase endings such as resetToken or clientSecret; counts like inputTokens stay.
const SENSITIVE_KEY =
  /^(password|token|secret|cookie|cookies|authorization|code|prompt|prompts|output|outputs|content|body|email|phone|file|files|message|messages|text|html|name|displayName)$|(Password|Token|Secret|Cookie|Email|Phone|Prompt|Content)$/;

export function redact(fields: LogFields): LogFields {
  const safe: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SENSITIVE_KEY.test(key)) safe[key] = "[redacted]";
    else if (value instanceof Error) safe[key] = describeError(value);
    else if (typeof value === "bigint") safe[key] = value.toString();
    else safe[key] = value;
  }
  return safe;
}

/**
 * An error's name, code and the first line of its message. Later lines can quote data: Prisma, for one,
 * prints the query's arguments (a prompt, an email) under its first line.
 */
function describeError(error: Error): LogFields {
  const firstLine = error.message.split("\n").find((line) => line.trim() !== "") ?? "";
  const described: LogFields = { name: error.name, message: firstLine.trim().slice(0, 300) };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") described.code = code;
  return described;
}

type Sink = (line: string) => void;
const stdout: Sink = (line) => process.stdout.write(line + "\n");
let sink: Sink = stdout;
let minimum: keyof typeof levels = env.LOG_LEVEL;

/** Tests capture every log line (whatever LOG_LEVEL says) to prove what never gets written. */
export function setLogSink(next: Sink | null) {
  sink = next ?? stdout;
  minimum = next ? "debug" : env.LOG_LEVEL;
}

function write(level: Level, event: string, fields: LogFields = {}) {
  if (levels[level] < levels[minimum]) return;
  sink(JSON.stringify({ time: new Date().toISOString(), level, event, ...redact(fields) }));
}

export const logger = {
  debug: (event: string, fields?: LogFields) => write("debug", event, fields),
  info: (event: string, fields?: LogFields) => write("info", event, fields),
  warn: (event: string, fields?: LogFields) => write("warn", event, fields),
  error: (event: string, fields?: LogFields) => write("error", event, fields),
};
