import { classify, isIngestValidationError } from '../../errors';
import type { Logger } from '../../log';
import type { SourcePorts } from '../ports';
import { takeOnBlob } from '../sources/takeOnBlob';
import { parseLandingEvent, type BlobCreated } from './blobCreated';
import { retryDecision } from './landingRetry';

export type LandingOutcome =
  | { readonly outcome: 'queued'; readonly sourceId: string }
  | { readonly outcome: 'duplicate'; readonly sourceId: string }
  | { readonly outcome: 'rejected'; readonly sourceId: string; readonly reason: string }
  | { readonly outcome: 'ignored'; readonly reason: string }
  /** Not data (a marker or temporary file, an empty blob): logged at debug and counted, never quarantined. */
  | { readonly outcome: 'skipped'; readonly reason: string }
  | { readonly outcome: 'poisoned'; readonly reason: string }
  /** Failed on its last try for a transient reason: put back on the queue, to be tried again later. */
  | { readonly outcome: 'put back'; readonly reason: string; readonly delaySeconds: number };

/** What the host says of this delivery: the how-manieth try it is (triggerMetadata.dequeueCount). */
export interface LandingDelivery {
  readonly dequeueCount?: number | undefined;
}

/**
 * Handles one BlobCreated event from the landing queue. Throws only when a retry can help (storage or
 * service trouble); anything that cannot be ingested is reported and quarantined, never retried forever, and
 * a message that is no event at all goes to the poison queue at once. On its last try, an event that fails
 * for a transient reason is put back on the queue for later (landingRetry.ts), while it is young enough.
 */
export async function handleLandingEvent(
  message: unknown,
  ctx: SourcePorts,
  log: Logger,
  delivery: LandingDelivery = {},
): Promise<LandingOutcome> {
  let event;
  try {
    event = parseLandingEvent(message);
  } catch (e) {
    if (!isIngestValidationError(e)) throw e;
    await ctx.landing.poison.createIfNotExists();
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    await ctx.landing.poison.sendMessage(Buffer.from(text).toString('base64'));
    log.warn(JSON.stringify({ event: 'LandingMessagePoisoned', reason: e.message }));
    return { outcome: 'poisoned', reason: e.message };
  }
  if ('ignore' in event) {
    const count = ctx.counters.add('landingEventsIgnored');
    log.debug(
      JSON.stringify({ event: 'LandingEventIgnored', reason: event.ignore, ignoredByThisInstance: count }),
    );
    return { outcome: 'ignored', reason: event.ignore };
  }
  try {
    return await takeOnBlob(ctx, log, event);
  } catch (e) {
    const putBack = await putBackForLater(message, event, ctx, log, delivery, e);
    if (putBack) return putBack;
    throw e;
  }
}

/**
 * Sends the event again, hidden for a while, when the retry policy says so; undefined when it does not, or
 * when sending fails (the host then parks the message in the poison queue, as without this). A send whose
 * answer was lost may leave the event twice on the queue: taking a blob on is idempotent, the second finds
 * the first's source.
 */
async function putBackForLater(
  message: unknown,
  event: BlobCreated,
  ctx: SourcePorts,
  log: Logger,
  delivery: LandingDelivery,
  error: unknown,
): Promise<LandingOutcome | undefined> {
  const decision = retryDecision(
    ctx.config.landingRetry,
    ctx.config.maxDequeueCount,
    { dequeueCount: delivery.dequeueCount, raisedAt: event.raisedAt },
    error,
    ctx.clock(),
  );
  if (!decision.putBack) return undefined;
  const reason = classify(error).message;
  const text = typeof message === 'string' ? message : JSON.stringify(message);
  try {
    await ctx.landing.events.sendMessage(Buffer.from(text, 'utf8').toString('base64'), {
      visibilityTimeout: decision.delaySeconds,
    });
  } catch (e) {
    log.warn(
      JSON.stringify({
        event: 'LandingPutBackFailed',
        source: event.url,
        message: classify(e).message,
      }),
    );
    return undefined;
  }
  log.warn(
    JSON.stringify({
      event: 'LandingPutBack',
      source: event.url,
      tries: delivery.dequeueCount,
      nextTryInSeconds: decision.delaySeconds,
      reason,
    }),
  );
  return { outcome: 'put back', reason, delaySeconds: decision.delaySeconds };
}
