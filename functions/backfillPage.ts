import { app, type InvocationContext, type StorageQueueTriggerOptions } from '@azure/functions';
import { runPage } from '../shared/app/backfill/backfillJob';
import { getAppContext } from '../shared/app/context';
import { triggerSetting } from '../shared/app/settings';

/**
 * One page of a backfill job's listing: skips what is tracked already, sends an item task per new blob
 * version, and sends the next page's task. A failed run is retried by the host (and is safe to repeat);
 * its last try, or a permanent failure, marks the job failed.
 */
export const options: Omit<StorageQueueTriggerOptions, 'handler'> = {
  queueName: triggerSetting('BACKFILL_PAGES_QUEUE'),
  connection: 'AzureWebJobsStorage',
};

export async function handler(message: unknown, context: InvocationContext): Promise<void> {
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount);
  await runPage(getAppContext(), context, message, Number.isFinite(dequeueCount) ? { dequeueCount } : {});
}

app.storageQueue('backfillPage', { ...options, handler });
