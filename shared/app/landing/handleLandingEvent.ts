import { classify, isIngestValidationError } from '../../errors';
import type { Logger } from '../../log';
import type { SourcePorts } from '../ports';
import { takeOnBlob } from '../sources/takeOnBlob';
import { parseLandingEvent } from './blobCreated';
import { putBack } from './landingRetry';

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
    // The same event again, as Event Grid delivered it (base64 JSON).
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    const delaySeconds = await putBack(
      ctx,
      log,
      { dequeueCount: delivery.dequeueCount, raisedAt: event.raisedAt },
      e,
      (visibilityTimeout) =>
        ctx.landing.events.sendMessage(Buffer.from(text, 'utf8').toString('base64'), { visibilityTimeout }),
      { event: 'LandingPutBack', source: event.url },
    );
    if (delaySeconds === undefined) throw e;
    return { outcome: 'put back', reason: classify(e).message, delaySeconds };
  }
}
