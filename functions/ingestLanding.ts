import { app, type InvocationContext, type StorageQueueTriggerOptions } from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleLandingEvent } from '../shared/app/landing/handleLandingEvent';
import { triggerSetting } from '../shared/app/settings';

/**
 * A blob dropped into `landing` raises an Event Grid BlobCreated event, delivered to the `landing-events`
 * queue: this function gets the event (never the blob's content), routes the blob and queues it by URL.
 * It throws only when a retry can help; on the last of maxDequeueCount tries a transient failure puts the
 * event back for later, and only what cannot be put back goes to the poison queue, which the sweep counts.
 */
export const options: Omit<StorageQueueTriggerOptions, 'handler'> = {
  queueName: triggerSetting('LANDING_EVENTS_QUEUE'),
  connection: 'LandingStorage',
};

export async function handler(message: unknown, context: InvocationContext): Promise<void> {
  // The host's metadata is a long: a number, or its text, depending on how the worker carries it.
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount);
  const outcome = await handleLandingEvent(message, getAppContext(), context, {
    dequeueCount: Number.isInteger(dequeueCount) ? dequeueCount : undefined,
  });
  context.info(JSON.stringify({ event: 'LandingHandled', ...outcome }));
}

app.storageQueue('ingestLanding', { ...options, handler });
