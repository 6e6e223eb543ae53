import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local stand-in for the ElevenLabs text-to-speech API, speaking its wire format:
//   POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128   (xi-api-key) { text, model_id }
//     → the audio bytes (audio/mpeg, audio/pcm or audio/ogg by output_format)
// Errors look like ElevenLabs' own: { detail: { status: "invalid_api_key", message } }. Every request
// is recorded; the next one can be told to fail or hang.

export type FakeRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  raw: string;
  closedEarly: boolean;
};

export type FakeElevenLabs = {
  /** Origin, e.g. "http://127.0.0.1:54321". */
  url: string;
  requests: FakeRequest[];
  /** Bytes served per codec family of output_format. */
  audio: { mp3: Buffer; pcm: Buffer; opus: Buffer };
  /** Answers the next request with this status and { detail: { status: code, message } }. */
  failNext(status: number, detail?: { status?: string; message?: string } | unknown[]): void;
  hangNext(): void;
  /** The next request answers 200 with an empty body. */
  emptyNext(): void;
  reset(): void;
  close(): Promise<void>;
};

export const FAKE_MP3 = Buffer.from("ID3\u0004\u0000\u0000fake-mp3-frames\u00ff\u00fb", "latin1");
/** Four 16-bit little-endian samples: 0, 1000, -1000, 32767. */
export const FAKE_PCM = Buffer.from([0x00, 0x00, 0xe8, 0x03, 0x18, 0xfc, 0xff, 0x7f]);
export const FAKE_OPUS = Buffer.from("OggS\u0000\u0002fake-opus-pages", "latin1");

type Behaviour = { kind: "fail"; status: number; body: unknown } | { kind: "hang" } | { kind: "empty" };

export async function startFakeElevenLabs(): Promise<FakeElevenLabs> {
  const requests: FakeRequest[] = [];
  const queue: Behaviour[] = [];
  const hanging = new Set<ServerResponse>();

  const fake: FakeElevenLabs = {
    url: "",
    requests,
    audio: { mp3: FAKE_MP3, pcm: FAKE_PCM, opus: FAKE_OPUS },
    failNext(status, detail) {
      queue.push({
        kind: "fail",
        status,
        body: { detail: detail ?? { status: "fake_error", message: "Fake failure" } },
      });
    },
    hangNext: () => void queue.push({ kind: "hang" }),
    emptyNext: () => void queue.push({ kind: "empty" }),
    reset() {
      requests.length = 0;
      queue.length = 0;
      fake.audio = { mp3: FAKE_MP3, pcm: FAKE_PCM, opus: FAKE_OPUS };
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };

  const json = (res: ServerResponse, status: number, payload: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "request-id": `req_${randomUUID()}` });
    res.end(JSON.stringify(payload));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (part: Buffer) => chunks.push(part));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        // keep the raw string
      }
      const url = new URL(req.url ?? "/", fake.url);
      const record: FakeRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        raw,
        closedEarly: false,
      };
      requests.push(record);
      res.on("close", () => {
        hanging.delete(res);
        if (!res.writableEnded) record.closedEarly = true;
      });

      const behaviour = queue.shift();
      if (behaviour?.kind === "fail") return json(res, behaviour.status, behaviour.body);
      if (behaviour?.kind === "hang") {
        hanging.add(res);
        return;
      }
      if (!req.headers["xi-api-key"]) {
        return json(res, 401, {
          detail: { status: "needs_authorization", message: "Neither authorization header nor xi-api-key received" },
        });
      }

      const tts = /^\/v1\/text-to-speech\/([A-Za-z0-9]+)$/.exec(url.pathname);
      if (req.method === "POST" && tts) {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const b = body as any;
        if (typeof b?.text !== "string") {
          return json(res, 422, { detail: [{ loc: ["body", "text"], msg: "Field required", type: "missing" }] });
        }
        const format = url.searchParams.get("output_format") ?? "mp3_44100_128";
        const [codec] = format.split("_");
        const served =
          codec === "mp3"
            ? { bytes: fake.audio.mp3, type: "audio/mpeg" }
            : codec === "pcm"
              ? { bytes: fake.audio.pcm, type: "audio/pcm" }
              : codec === "opus"
                ? { bytes: fake.audio.opus, type: "audio/ogg" }
                : undefined;
        if (!served) {
          return json(res, 400, { detail: { status: "invalid_output_format", message: `Unknown ${format}` } });
        }
        const bytes = behaviour?.kind === "empty" ? Buffer.alloc(0) : served.bytes;
        res.writeHead(200, {
          "content-type": served.type,
          "transfer-encoding": "chunked",
          "request-id": `req_${randomUUID()}`,
          "character-cost": String([...b.text].length),
        });
        res.end(bytes);
        return;
      }
      return json(res, 404, { detail: "Not Found" });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  return fake;
}
