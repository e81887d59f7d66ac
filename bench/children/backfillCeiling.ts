/**
 * Scenario 10, the ceiling: the raw storage requests a backfill's listing and queueing need: List Blobs one
 * page of 1,000 at a time, then for each blob one table read (its tracking row: not there) and one message,
 * as many at once as a page task makes them (PAGE_CONCURRENCY), the next page listed while one page's requests
 * go out, as the page tasks list one page ahead.
 */
import { randomUUID } from 'node:crypto';
import { BlobServiceClient, ContainerSASPermissions } from '@azure/storage-blob';
import { QueueSASPermissions, QueueServiceClient } from '@azure/storage-queue';
import { PAGE_CONCURRENCY, PAGE_SIZE } from '../../shared/app/backfill/backfillJob';
import { BoundedPool } from '../../shared/boundedPool';
import { report, run, setting, timed } from './common';
import { getEntity, listBlobsPage, putMessage, tableUrl } from './raw';

run(async () => {
  const expected = Number(setting('BENCH_BLOBS'));
  const storage = setting('AzureWebJobsStorage');
  const expiresOn = new Date(Date.now() + 3_600_000);
  const container = await BlobServiceClient.fromConnectionString(storage)
    .getContainerClient(process.env.LANDING_CONTAINER ?? 'landing')
    .generateSasUrl({ permissions: ContainerSASPermissions.parse('rl'), expiresOn });
  const queue = QueueServiceClient.fromConnectionString(storage).getQueueClient('raw-backfill-items');
  await queue.createIfNotExists();
  await queue.clearMessages();
  const items = queue.generateSasUrl({ permissions: QueueSASPermissions.parse('a'), expiresOn });
  const tracking = await tableUrl('RawBackfillTracking');
  let queued = 0;
  const seconds = await timed(async () => {
    const list = (marker: string) => listBlobsPage(container, setting('BENCH_PREFIX'), marker, PAGE_SIZE);
    let next: ReturnType<typeof list> | undefined = list('');
    while (next) {
      const page: Awaited<ReturnType<typeof list>> = await next;
      // The next page is listed while this one's requests go out, as the page tasks do (one page ahead).
      next = page.next === '' ? undefined : list(page.next);
      const pool = new BoundedPool(PAGE_CONCURRENCY);
      for (const blob of page.blobs)
        await pool.run(async () => {
          const id = randomUUID();
          await getEntity(tracking, `src-${id.slice(0, 2)}`, id);
          const task = { jobId: id, url: `${container.split('?')[0] ?? ''}/${blob.name}`, eTag: blob.eTag };
          await putMessage(items, Buffer.from(JSON.stringify(task)).toString('base64'));
          queued += 1;
        });
      await pool.drain();
    }
  });
  if (queued !== expected) throw new Error(`${queued} messages for ${expected} blobs`);
  report({ blobsPerSec: queued / seconds, queued });
});
