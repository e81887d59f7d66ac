/**
 * Scenario 8, the ceiling: the storage requests one landing event costs, raw, fetched and run as the host
 * runs the queue trigger (batches of 16, the next one once 8 are left): Get Messages (one per 16 events),
 * then per event Get Blob Properties, the open row, the tracking row, the index row, the status row, Put
 * Message to the DM, the tracking row's update, and Delete Message. Same blobs, events and stack as ours.
 */
import { randomUUID } from 'node:crypto';
import { BlobServiceClient, ContainerSASPermissions } from '@azure/storage-blob';
import { QueueSASPermissions, QueueServiceClient } from '@azure/storage-queue';
import { queueTriggerSettings } from '../../dev/host/hostJson';
import { BoundedPool } from '../../shared/boundedPool';
import { report, run, setting } from './common';
import { inRounds, landingContainer, landingEvents } from './landingEvents';
import {
  deleteMessage,
  getMessages,
  headBlob,
  insertEntity,
  putEntity,
  putMessage,
  resources,
  split,
  tableUrl,
} from './raw';

// The host's fetch policy, from host.json as the local host reads it.
const { batchSize: BATCH, newBatchThreshold: THRESHOLD } = queueTriggerSettings();

run(async () => {
  const storage = setting('AzureWebJobsStorage');
  const expiresOn = new Date(Date.now() + 86_400_000);
  const eventsQueue = QueueServiceClient.fromConnectionString(storage)
    .getQueueClient(landingEvents)
    .generateSasUrl({ permissions: QueueSASPermissions.parse('rp'), expiresOn });
  const container = await BlobServiceClient.fromConnectionString(storage)
    .getContainerClient(landingContainer)
    .generateSasUrl({ permissions: ContainerSASPermissions.parse('r'), expiresOn });
  const [, containerSas] = split(container);
  const r = await resources();
  const queues = r.get('SecuredReadyForAggregationQueue') ?? [];
  const status = (r.get('IngestionsStatusTable') ?? [])[0] ?? '';
  const tracking = await tableUrl('RawTracking');
  const open = await tableUrl('RawOpen');
  const index = await tableUrl('RawIndex');
  let next = 0;
  const handle = async (m: { id: string; popReceipt: string; text: string }) => {
    const event = JSON.parse(Buffer.from(m.text, 'base64').toString('utf8')) as {
      subject: string;
      data: { url: string };
    };
    const id = randomUUID();
    const pk = `src-${id.slice(0, 2)}`;
    await headBlob(`${event.data.url}?${containerSas}`);
    await putEntity(open, `open-${id.slice(0, 1)}`, id, { CreatedOn: new Date().toISOString() });
    const row = {
      Kind: 'landing',
      State: 'queuing',
      Database: 'bench',
      Table: 'Landed',
      SourceUrl: event.data.url,
    };
    await insertEntity(tracking, { PartitionKey: pk, RowKey: id, ...row });
    await putEntity(index, 't|bench|landed', id, { SourceId: id, State: 'queuing' });
    await putEntity(status, id, id, {
      Status: 'Pending',
      IngestionSourceId: id,
      IngestionSourcePath: event.data.url,
    });
    const message = Buffer.from(
      JSON.stringify({ Id: id, BlobPath: event.data.url, DatabaseName: 'bench', TableName: 'Landed' }),
    ).toString('base64');
    await putMessage(queues[next++ % queues.length] ?? '', message);
    await putEntity(tracking, pk, id, { ...row, State: 'queued' }, '*');
    await deleteMessage(eventsQueue, m.id, m.popReceipt);
  };
  const { events, seconds, medianRate } = await inRounds(async (count) => {
    let handled = 0;
    // At most BATCH + THRESHOLD at once, as the host runs them.
    const pool = new BoundedPool(BATCH + THRESHOLD);
    while (handled < count) {
      const batch = await getMessages(eventsQueue, BATCH, 300);
      if (batch.length === 0) {
        await pool.drain();
        continue;
      }
      for (const m of batch)
        await pool.run(async () => {
          await handle(m);
          handled += 1;
        });
    }
    await pool.drain();
    return 0;
  });
  report({
    eventsPerSec: medianRate,
    overallEventsPerSec: events / seconds,
    requestsPerEvent: 8 + 1 / BATCH,
  });
});
