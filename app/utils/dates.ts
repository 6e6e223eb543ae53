// Dates as the pages show them: always in UTC and labelled so, with a fixed English format. The text is
// then the same on the server and in the browser (a browser time zone would make hydration differ).

const toMinute = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
const toSecond = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });

/** "24 Nov 2026, 01:23 UTC" (with `seconds`: "24 Nov 2026, 01:23:45 UTC"); takes a Date or an ISO string. */
export function formatDateTime(value: Date | string, { seconds = false }: { seconds?: boolean } = {}): string {
  const date = typeof value === "string" ? new Date(value) : value;
  return `${(seconds ? toSecond : toMinute).format(date)} UTC`;
}
