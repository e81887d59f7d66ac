import { isIngestValidationError } from '../../errors';
import type { Logger } from '../../log';
import type { SourcePorts } from '../ports';
import { takeOnBlob } from '../sources/takeOnBlob';
import { parseLandingEvent } from './blobCreated';

export type LandingOutcome =
  | { readonly outcome: 'queued'; readonly sourceId: string }
  | { readonly outcome: 'duplicate'; readonly sourceId: string }
  | { readonly outcome: 'rejected'; readonly sourceId: string; readonly reason: string }
  | { readonly outcome: 'ignored'; readonly reason: string }
  /** Not data (a marker or temporary file, an empty blob): logged at debug and counted, never quarantined. */
  | { readonly outcome: 'skipped'; readonly reason: string }
  | { readonly outcome: 'poisoned'; readonly reason: string };

/**
 * Handles one BlobCreated event from the landing queue. Throws only when a retry can help (storage or
 * service trouble); anything that cannot be ingested is reported and quarantined, never retried forever, and
 * a message that is no event at all goes to the poison queue at once.
 */
export async function handleLandingEvent(
  message: unknown,
  ctx: SourcePorts,
  log: Logger,
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
  return takeOnBlob(ctx, log, event);
}
