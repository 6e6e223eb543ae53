import { countCodePoints, startCall } from "../call";
import { encodeWav } from "../demo/wav";
import { isRecord, joinPath, normalizeBase, readBytes, safeCode, send, type Http, type VendorError } from "../http";
import {
  ProviderError,
  type CallOptions,
  type Provider,
  type SpeechModel,
  type SpeechRequest,
  type SpeechResult,
} from "../types";

// ElevenLabs text to speech over its HTTP API: POST /v1/text-to-speech/{voice_id}?output_format=…
// with the `xi-api-key` header and { text, model_id }; the answer is the audio itself. ElevenLabs
// bills characters, so usage is the text's code points. Nothing else goes into the request: no
// user or member id, no logging or history options, no previous/next text.

export const ELEVENLABS_BASE_URL = "https://api.elevenlabs.io";
/** "George", the premade voice ElevenLabs' own quickstart uses; every account has it. */
export const ELEVENLABS_DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb";

export type ElevenLabsSettings = {
  /** Without a key the provider is listed but not configured. */
  apiKey?: string;
  /** Default https://api.elevenlabs.io; a regional host, a proxy or a test server. */
  baseURL?: string;
  /** Voice id used when a request names none. */
  defaultVoice?: string;
};

const PROVIDER = "elevenlabs";
const DEFAULT_TIMEOUT_MS = 2 * 60_000;
const MAX_AUDIO_BYTES = 50 * 1024 * 1024;
const VOICE_ID = /^[A-Za-z0-9]{1,64}$/;
const MODEL_ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/i;
const PCM_RATE = 24_000;

/**
 * Our formats → ElevenLabs' output_format. ElevenLabs has no WAV: "wav" asks for raw 16-bit PCM at
 * 24 kHz (available on every plan) and wraps it in a WAV header here; "pcm" returns that raw PCM.
 */
const FORMATS = {
  mp3: { outputFormat: "mp3_44100_128", mediaType: "audio/mpeg" },
  wav: { outputFormat: `pcm_${PCM_RATE}`, mediaType: "audio/wav" },
  pcm: { outputFormat: `pcm_${PCM_RATE}`, mediaType: `audio/L16;rate=${PCM_RATE};channels=1` },
  opus: { outputFormat: "opus_48000_128", mediaType: "audio/ogg" },
} as const;

function isFormat(format: string): format is keyof typeof FORMATS {
  return Object.hasOwn(FORMATS, format);
}

/**
 * ElevenLabs errors look like { detail: { status: "invalid_api_key", message } }, or FastAPI's
 * { detail: [{ loc, msg, type }] } for validation. Running out of characters is a 401
 * "quota_exceeded": that is an empty account, not a bad key.
 */
function readError(_status: number, body: unknown): VendorError {
  if (!isRecord(body)) return {};
  const detail = body.detail;
  const code = isRecord(detail)
    ? (safeCode(detail.status) ?? safeCode(detail.code))
    : Array.isArray(detail) && isRecord(detail[0])
      ? safeCode(detail[0].type)
      : undefined;
  if (!code) return {};
  if (code === "quota_exceeded") return { code, kind: "rate_limited", retryable: false };
  return { code };
}

/** Little-endian 16-bit PCM bytes → a WAV file. */
function pcmToWav(bytes: Uint8Array): Uint8Array {
  const samples = new Int16Array(Math.floor(bytes.length / 2));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return encodeWav(samples, PCM_RATE);
}

function createSpeechModel(settings: {
  modelId: string;
  apiKey: string;
  base: URL;
  defaultVoice: string;
}): SpeechModel {
  const { modelId, apiKey, base, defaultVoice } = settings;
  return {
    provider: PROVIDER,
    modelId,
    async generate(req: SpeechRequest, opts: CallOptions = {}): Promise<SpeechResult> {
      const call = startCall(PROVIDER, { ...opts, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
      try {
        call.throwIfInterrupted();
        if (!MODEL_ID.test(modelId)) throw new ProviderError("invalid_request", PROVIDER, { detail: "unknown model" });
        if (req.text.trim() === "") throw new ProviderError("invalid_request", PROVIDER, { detail: "empty text" });
        const format = req.format ?? "mp3";
        if (!isFormat(format)) {
          throw new ProviderError("invalid_request", PROVIDER, { detail: "unsupported audio format" });
        }
        const voice = req.voice || defaultVoice;
        if (!VOICE_ID.test(voice)) throw new ProviderError("invalid_request", PROVIDER, { detail: "unknown voice" });

        const http: Http = { provider: PROVIDER, call, readError };
        const url = joinPath(base, "v1", "text-to-speech", voice);
        url.searchParams.set("output_format", FORMATS[format].outputFormat);
        const response = await send(http, url, {
          headers: { "xi-api-key": apiKey, accept: "audio/*" },
          json: { text: req.text, model_id: modelId },
        });
        let data = await readBytes(http, response, MAX_AUDIO_BYTES);
        if (data.length === 0) throw new ProviderError("upstream", PROVIDER, { detail: "empty audio" });
        if (format === "wav") data = pcmToWav(data);
        return {
          audio: { mediaType: FORMATS[format].mediaType, data },
          usage: { characters: countCodePoints(req.text) },
        };
      } finally {
        call.end();
      }
    },
  };
}

export function createElevenLabs(settings: ElevenLabsSettings = {}): Provider {
  const base = normalizeBase(settings.baseURL || ELEVENLABS_BASE_URL);
  const defaultVoice = settings.defaultVoice || ELEVENLABS_DEFAULT_VOICE;
  return {
    id: PROVIDER,
    label: "ElevenLabs",
    isConfigured: Boolean(settings.apiKey),
    speech: (modelId) => createSpeechModel({ modelId, apiKey: settings.apiKey ?? "", base, defaultVoice }),
  };
}
