/** The landing blobs and their BlobCreated events both landing children start from (written, not timed). */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { blobCreatedEventFor } from '../../dev/host/landingWatcher';
import { pool } from '../harness';

export const landingEvents = process.env.LANDING_EVENTS_QUEUE ?? 'landing-events';
export const landingContainer = process.env.LANDING_CONTAINER ?? 'landing';

/** `count` 1 KB CSV blobs under landing/bench/Landed/, and one event each in the landing events queue. */
export async function writeLandingEvents(storage: string, count: number): Promise<void> {
  const container = BlobServiceClient.fromConnectionString(storage).getContainerClient(landingContainer);
  const queue = QueueServiceClient.fromConnectionString(storage).getQueueClient(landingEvents);
  await Promise.all([container.createIfNotExists(), queue.createIfNotExists()]);
  const row = (i: number) => `${i},${'x'.repeat(1000)}\n`;
  await pool(count, 50, async (i) => {
    const body = row(i);
    const blob = container.getBlockBlobClient(`bench/Landed/${i}.csv`);
    const uploaded = await blob.upload(body, body.length);
    const event = blobCreatedEventFor(blob.url, uploaded.etag ?? '', body.length, 'text/csv');
    await queue.sendMessage(Buffer.from(JSON.stringify(event)).toString('base64'));
  });
}

/** A queue's approximate message count (visible and invisible), read with fetch. */
export async function approximateCount(sasUrl: string): Promise<number> {
  const [base, sas] = sasUrl.split('?');
  const response = await fetch(`${base ?? ''}?comp=metadata&${sas ?? ''}`);
  if (!response.ok) throw new Error(`queue metadata: HTTP ${response.status}`);
  return Number(response.headers.get('x-ms-approximate-messages-count') ?? NaN);
}
