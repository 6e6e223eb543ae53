import type OpenAI from "openai";
import type { SpeechCreateParams } from "openai/resources/audio/speech";
import { countCodePoints, startCall } from "../call";
import { ProviderError, type CallOptions, type SpeechModel, type SpeechRequest, type SpeechResult } from "../types";
import { requestOptions } from "./client";
import { toProviderError } from "./errors";

// Text to speech (`audio.speech.create`): the answer is the audio file itself. Billed per character.

const FORMATS: Record<NonNullable<SpeechCreateParams["response_format"]>, string> = {
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/L16;rate=24000;channels=1",
};

function isFormat(format: string): format is keyof typeof FORMATS {
  return Object.hasOwn(FORMATS, format);
}

export function createSpeechModel(settings: { provider: string; modelId: string; client: () => OpenAI }): SpeechModel {
  const { provider, modelId } = settings;
  return {
    provider,
    modelId,
    async generate(req: SpeechRequest, opts: CallOptions = {}): Promise<SpeechResult> {
      const call = startCall(provider, opts);
      try {
        call.throwIfInterrupted();
        const format = req.format ?? "mp3";
        if (!isFormat(format))
          throw new ProviderError("invalid_request", provider, { detail: "unsupported audio format" });
        let data: Uint8Array;
        try {
          const response = await settings
            .client()
            .audio.speech.create(
              { model: modelId, input: req.text, voice: req.voice ?? "alloy", response_format: format },
              requestOptions(call, opts),
            );
          data = new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          throw toProviderError(error, provider, call);
        }
        call.throwIfInterrupted();
        if (data.length === 0) throw new ProviderError("upstream", provider, { detail: "empty audio" });
        return { audio: { mediaType: FORMATS[format], data }, usage: { characters: countCodePoints(req.text) } };
      } finally {
        call.end();
      }
    },
  };
}
