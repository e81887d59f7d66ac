/**
 * Scenario 8, ours: BENCH_EVENTS (default 20,000) BlobCreated events, one per 1 KB landing blob, through
 * the local host's queue trigger and the ingestLanding function, to a message in the DM's queue each. The
 * blobs and events are written first, not timed; the time runs from the host's start until the events
 * queue is empty (a message is deleted once its function is done). Every storage request the host makes
 * is counted (diagnostics_channel); the queue is watched with fetch (undici), which that does not see.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { QueueSASPermissions, QueueServiceClient } from '@azure/storage-queue';
import { startLocalHost } from '../../dev/host/localHost';
import { report, run, setting, timed } from './common';
import { approximateCount, landingEvents, writeLandingEvents } from './landingEvents';
import { resources } from './raw';

run(async () => {
  const count = Number(setting('BENCH_EVENTS', '20000'));
  const storage = setting('AzureWebJobsStorage');
  await writeLandingEvents(storage, count);
  const events = QueueServiceClient.fromConnectionString(storage).getQueueClient(landingEvents);
  const watched = events.generateSasUrl({
    permissions: QueueSASPermissions.parse('r'),
    expiresOn: new Date(Date.now() + 3_600_000),
  });
  const trace = new Map<string, number>();
  let requests = 0;
  subscribe('http.client.request.start', (message) => {
    const req = (message as { request: ClientRequest }).request;
    requests += 1;
    if (process.env.BENCH_TRACE) {
      const path =
        req.path
          .split('?')[0]
          ?.replace(/[0-9a-f-]{36}|\d+\.csv|PartitionKey='[^']*'|RowKey='[^']*'|secured-\d+/g, '*') ?? '';
      const key = `${req.method} ${path}`;
      trace.set(key, (trace.get(key) ?? 0) + 1);
    }
  });
  let host: Awaited<ReturnType<typeof startLocalHost>> | undefined;
  const seconds = await timed(async () => {
    host = await startLocalHost({
      port: 0,
      timer: false,
      log: (line) => (process.env.BENCH_TRACE ? console.error(line) : undefined),
    });
    for (let left = await approximateCount(watched); left > 0; left = await approximateCount(watched)) {
      if (process.env.BENCH_TRACE) console.error(`left ${left}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  const handled = requests;
  await host?.stop();
  if (process.env.BENCH_TRACE)
    for (const [k, n] of [...trace].sort((a, b) => b[1] - a[1]))
      console.error(`${(n / count).toFixed(3)} ${k}`);
  // The DM's queues are on the same account here: counted with its key (their SAS may only add).
  const service = QueueServiceClient.fromConnectionString(storage);
  const dmQueues = (await resources()).get('SecuredReadyForAggregationQueue') ?? [];
  let queued = 0;
  for (const url of dmQueues) {
    const name = new URL(url).pathname.split('/').pop() ?? '';
    queued += (await service.getQueueClient(name).getProperties()).approximateMessagesCount ?? 0;
  }
  if (queued !== count) throw new Error(`${queued} ingestion messages for ${count} events`);
  report({ eventsPerSec: count / seconds, requestsPerEvent: handled / count });
});
