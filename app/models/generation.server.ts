// The generation module's front door: everything outside app/models/generation/ imports from here, and
// nothing inside that folder does (so there is no cycle). How the module is laid out, and why:
// docs/decisions/0021-generation-module.md.
//
//   lifecycle      the only writer of a generation's status, through its table of transitions
//   start          checks, the hold, the row (text on the pool; media in one transaction with its job)
//   prepare-text   a text request priced and held;  stream-text  streamed, then settled
//   media          submit (row + job together) and the worker's step;  media-runners  one per modality
//   settle         the money at the end: post or void the hold, then the lifecycle
//   conversations, queries, refusals, queue, reconcile, settings

export { getConversation, titleFrom, type ChatTurn } from "./generation/conversations.server";
export {
  canTransition,
  IllegalTransition,
  IN_FLIGHT_STATUSES,
  outcomeMessage,
  TRANSITIONS,
} from "./generation/lifecycle.server";
export { generationLeaseMs, prepareMedia, runMedia, submitMedia } from "./generation/media.server";
export type { MediaInput, MediaModality, MediaStep } from "./generation/media-runners.server";
export { prepareText, type PreparedText, type TextInput } from "./generation/prepare-text.server";
export { findGeneration } from "./generation/queries.server";
export { enqueueGeneration, GENERATION_QUEUE, generationQueue, type GenerationJob } from "./generation/queue.server";
export { reconcileGenerations } from "./generation/reconcile.server";
export { GenerationRefused, refusalStatus, type RefusalCode } from "./generation/refusals.server";
export { INPUT_FILE_PURPOSE, OUTPUT_FILE_PURPOSE } from "./generation/settings.server";
export type { Attachment } from "./generation/start.server";
export { streamText, type TextEvent } from "./generation/stream-text.server";
