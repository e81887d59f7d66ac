import { app, type InvocationContext, type StorageQueueTriggerOptions } from '@azure/functions';
import { runItem } from '../shared/app/backfill/backfillJob';
import { getAppContext } from '../shared/app/context';
import { triggerSetting } from '../shared/app/settings';

/**
 * One blob version of a backfill job, through the tracked landing path (ingested once, reported like any
 * other). On its last try, a transient failure puts the task back for later instead of the poison queue.
 */
export const options: Omit<StorageQueueTriggerOptions, 'handler'> = {
  queueName: triggerSetting('BACKFILL_ITEMS_QUEUE'),
  connection: 'AzureWebJobsStorage',
};

export async function handler(message: unknown, context: InvocationContext): Promise<void> {
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount);
  await runItem(getAppContext(), context, message, Number.isFinite(dequeueCount) ? { dequeueCount } : {});
}

app.storageQueue('backfillItem', { ...options, handler });
