import { ProviderError, type CallOptions } from "./types";

// One call's cancellation: the caller's AbortSignal and a total deadline folded into one signal that
// adapters hand to their SDK / fetch, plus a way to tell afterwards which of the two fired.

export type Call = {
  /** Aborts when the caller aborts or when the deadline passes. */
  readonly signal: AbortSignal;
  /** The ProviderError ("timeout" or "aborted") if the call was interrupted, otherwise undefined. */
  interruption(): ProviderError | undefined;
  /** Throws interruption() if there is one. */
  throwIfInterrupted(): void;
  /**
   * Stops the deadline timer, detaches from the caller's signal and aborts whatever is still in
   * flight (e.g. a stream its consumer stopped reading). Call it in finally.
   */
  end(): void;
};

export function startCall(provider: string, opts: CallOptions = {}): Call {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort();
  const callerSignal = opts.signal;
  if (callerSignal?.aborted) controller.abort();
  else callerSignal?.addEventListener("abort", onAbort, { once: true });

  const timer =
    opts.timeoutMs !== undefined
      ? setTimeout(
          () => {
            timedOut = true;
            controller.abort();
          },
          Math.max(0, opts.timeoutMs),
        )
      : undefined;

  const interruption = () => {
    if (timedOut) return new ProviderError("timeout", provider);
    if (callerSignal?.aborted) return new ProviderError("aborted", provider);
    return undefined;
  };

  return {
    signal: controller.signal,
    interruption,
    throwIfInterrupted() {
      const error = interruption();
      if (error) throw error;
    },
    end() {
      if (timer) clearTimeout(timer);
      callerSignal?.removeEventListener("abort", onAbort);
      controller.abort();
    },
  };
}

/** Resolves after `ms`, or rejects with the call's interruption as soon as its signal aborts. */
export function sleep(ms: number, call: Call): Promise<void> {
  call.throwIfInterrupted();
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(call.interruption() ?? new Error("aborted"));
    };
    const timer = setTimeout(() => {
      call.signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    call.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Characters as billed for speech: Unicode code points (an emoji is one character, not two). */
export function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
