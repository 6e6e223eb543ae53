import { env } from "./env.server";

// Structured one-line JSON logs. Logs carry ids, counts and error names, never content:
// any field whose name suggests secrets or personal content is replaced before writing.
const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof levels, "silent">;
export type LogFields = Record<string, unknown>;

const SENSITIVE_KEY =
  /pass(word)?|token|secret|cookie|authorization|code|prompt|output|content|body|email|phone|file|message|text|html/i;

export function redact(fields: LogFields): LogFields {
  const safe: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (SENSITIVE_KEY.test(key)) safe[key] = "[redacted]";
    else if (value instanceof Error) safe[key] = { name: value.name, message: value.message };
    else if (typeof value === "bigint") safe[key] = value.toString();
    else safe[key] = value;
  }
  return safe;
}

type Sink = (line: string) => void;
let sink: Sink = (line) => process.stdout.write(line + "\n");

/** Tests capture log lines to prove what never gets written. */
export function setLogSink(next: Sink | null) {
  sink = next ?? ((line) => process.stdout.write(line + "\n"));
}

function write(level: Level, event: string, fields: LogFields = {}) {
  if (levels[level] < levels[env.LOG_LEVEL]) return;
  sink(JSON.stringify({ time: new Date().toISOString(), level, event, ...redact(fields) }));
}

export const logger = {
  debug: (event: string, fields?: LogFields) => write("debug", event, fields),
  info: (event: string, fields?: LogFields) => write("info", event, fields),
  warn: (event: string, fields?: LogFields) => write("warn", event, fields),
  error: (event: string, fields?: LogFields) => write("error", event, fields),
};
