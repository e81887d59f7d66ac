import type { Logger } from '../../log';
import type { AppContext } from '../ports';

export interface ReplayResult {
  /** Messages moved from the poison queue back to the landing events queue. */
  readonly poisonMessages: number;
  /** Events taken from Event Grid's dead-letter blobs and queued again. */
  readonly deadLetteredEvents: number;
  /** Dead-letter blobs that are not Event Grid's JSON: left where they are. */
  readonly unreadableDeadLetters: number;
}

/** Properties Event Grid adds to a dead-lettered event: the event itself is what it delivered. */
const DEAD_LETTER_FIELDS = [
  'deadLetterReason',
  'deliveryAttempts',
  'lastDeliveryOutcome',
  'publishTime',
  'lastDeliveryAttemptTime',
  'lastHttpStatusCode',
];

/**
 * Puts the landing events that never made it to a source back on the landing events queue: the poison
 * queue's messages (as they were) and the events in Event Grid's dead-letter blobs (as Event Grid delivers
 * them). Each is moved, then removed from where it was, so a replay repeated after a stop sends a message at
 * most twice, and the landing path takes the second as a duplicate.
 */
export async function replayLanding(ctx: AppContext, log: Logger): Promise<ReplayResult> {
  await ctx.ready();
  let poisonMessages = 0;
  const poison = ctx.landing.poison;
  if (await poison.exists()) {
    for (;;) {
      const { receivedMessageItems: items } = await poison.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: 60,
      });
      if (items.length === 0) break;
      for (const item of items) {
        await ctx.landing.events.sendMessage(item.messageText);
        await poison.deleteMessage(item.messageId, item.popReceipt);
        poisonMessages += 1;
      }
    }
  }
  let deadLetteredEvents = 0;
  let unreadableDeadLetters = 0;
  const deadLetters = ctx.landing.deadLetters;
  if (await deadLetters.exists()) {
    for await (const item of deadLetters.listBlobsFlat()) {
      const blob = deadLetters.getBlobClient(item.name);
      const events = parseDeadLetters((await blob.downloadToBuffer()).toString('utf8'));
      if (!events) {
        unreadableDeadLetters += 1;
        continue;
      }
      for (const event of events)
        await ctx.landing.events.sendMessage(Buffer.from(JSON.stringify(event)).toString('base64'));
      await blob.deleteIfExists();
      deadLetteredEvents += events.length;
    }
  }
  log.info(
    JSON.stringify({ event: 'LandingReplayed', poisonMessages, deadLetteredEvents, unreadableDeadLetters }),
  );
  return { poisonMessages, deadLetteredEvents, unreadableDeadLetters };
}

/** A dead-letter blob: a JSON array of events (or one event), each with Event Grid's extra fields. */
function parseDeadLetters(text: string): Record<string, unknown>[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (!list.every((e) => typeof e === 'object' && e !== null && 'eventType' in e)) return undefined;
  return list.map((e: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(e).filter(([k]) => !DEAD_LETTER_FIELDS.includes(k))),
  );
}
