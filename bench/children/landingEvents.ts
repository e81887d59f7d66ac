/**
 * What both landing children share. The events go through in rounds of BENCH_ROUND (default 1,000): the
 * in-memory Azurite scans a queue's every message on each receive and delete, so 20,000 events waiting at
 * once (and 20,000 ingestion messages piling up behind a paused DM) would measure Azurite's scans, not the
 * landing path. Each round's blobs and events are written, and the DM's queues counted and emptied, untimed.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { blobCreatedEventFor } from '../../dev/host/landingWatcher';
import { SUBMISSION_BLOBS } from '../../dev/standin/queueMessage';
import { median, pool } from '../harness';
import { setting, timed } from './common';
import { resources } from './raw';

export const landingEvents = process.env.LANDING_EVENTS_QUEUE ?? 'landing-events';
export const landingContainer = process.env.LANDING_CONTAINER ?? 'landing';

/** `count` 1 KB CSV blobs under landing/bench/Landed/ from `first` on, and one event each in the events queue. */
async function writeLandingEvents(storage: string, first: number, count: number): Promise<void> {
  const container = BlobServiceClient.fromConnectionString(storage).getContainerClient(landingContainer);
  const queue = QueueServiceClient.fromConnectionString(storage).getQueueClient(landingEvents);
  await Promise.all([container.createIfNotExists(), queue.createIfNotExists()]);
  const row = (i: number) => `${i},${'x'.repeat(1000)}\n`;
  await pool(count, 50, async (j) => {
    const i = first + j;
    const body = row(i);
    const blob = container.getBlockBlobClient(`bench/Landed/${i}.csv`);
    const uploaded = await blob.upload(body, body.length);
    const event = blobCreatedEventFor(blob.url, uploaded.etag ?? '', body.length, 'text/csv');
    await queue.sendMessage(Buffer.from(JSON.stringify(event)).toString('base64'));
  });
}

/** The blobs one message on the DM's queue names: a v1 message one, a v2 submission the stand-in queued each of its own. */
export function blobsOfMessage(base64: string): number {
  const message = JSON.parse(Buffer.from(base64, 'base64').toString('utf8')) as Record<string, unknown>;
  const submitted = message[SUBMISSION_BLOBS];
  return Array.isArray(submitted) ? submitted.length : 1;
}

/**
 * The blobs the messages on the DM's ingestion queues name (the same account here, read with its key), then
 * none: one per message on v1, up to 20 per message on v2 (a REST submission, as the stand-in queues it).
 */
async function takeIngestionMessages(storage: string): Promise<number> {
  const service = QueueServiceClient.fromConnectionString(storage);
  let count = 0;
  for (const url of (await resources()).get('SecuredReadyForAggregationQueue') ?? []) {
    const queue = service.getQueueClient(new URL(url).pathname.split('/').pop() ?? '');
    for (;;) {
      const { receivedMessageItems: batch } = await queue.receiveMessages({
        numberOfMessages: 32,
        visibilityTimeout: 600,
      });
      if (batch.length === 0) break;
      for (const m of batch) count += blobsOfMessage(m.messageText);
    }
    await queue.clearMessages();
  }
  return count;
}

/**
 * Runs BENCH_EVENTS events through `handleRound` in rounds, timing only `handleRound` (which answers how
 * many sources it left uncertain), and checks that each round's ingestion messages name one blob per event.
 * Answers the seconds handling took.
 */
export async function inRounds(handleRound: (count: number) => Promise<number>): Promise<{
  events: number;
  seconds: number;
  /** Events per second in the median round: Azurite's own stalls (tens of seconds, now and then) left out. */
  medianRate: number;
}> {
  const events = Number(setting('BENCH_EVENTS', '20000'));
  const round = Number(setting('BENCH_ROUND', '1000'));
  const storage = setting('AzureWebJobsStorage');
  await takeIngestionMessages(storage);
  let seconds = 0;
  const rates: number[] = [];
  for (let first = 0; first < events; first += round) {
    const count = Math.min(round, events - first);
    await writeLandingEvents(storage, first, count);
    let uncertain = 0;
    const s = await timed(async () => {
      uncertain = await handleRound(count);
    });
    if (process.env.BENCH_TRACE) console.error(`round of ${count}: ${s.toFixed(2)} s`);
    seconds += s;
    rates.push(count / s);
    const queued = await takeIngestionMessages(storage);
    // A Put Message cut off by its timeout (Azurite stalls now and then) leaves its source uncertain: the sweep
    // (not run here) finds whether it was stored and queues it if not. Anything else missing is a loss.
    if (queued > count || queued < count - uncertain)
      throw new Error(`${queued} blobs in ingestion messages for ${count} events (${uncertain} uncertain)`);
  }
  return { events, seconds, medianRate: median(rates) };
}
