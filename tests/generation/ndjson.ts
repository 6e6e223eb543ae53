// Reads the NDJSON events of /api/generate/text. No app imports: a test that points the app at its own
// database (database-outage.test.ts) can use it before the app modules load.

export type Event = { type: string; [key: string]: unknown };

export async function readEvents(response: Response, until?: (events: Event[]) => boolean): Promise<Event[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: Event[] = [];
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      events.push(JSON.parse(buffer.slice(0, newline)) as Event);
      buffer = buffer.slice(newline + 1);
    }
    if (until?.(events)) {
      await reader.cancel();
      break;
    }
  }
  return events;
}
