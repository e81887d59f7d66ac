/**
 * Scenario 8, ours: BENCH_EVENTS (default 20,000) BlobCreated events, one per 1 KB landing blob, through
 * the local host's queue trigger and the ingestLanding function, each to a message on the DM's queue. Per
 * round (landingEvents.ts) the host is started, and stopped once the events queue is empty (a message is
 * deleted once its function is done). Every storage request the host makes is counted
 * (diagnostics_channel); the queue is watched with fetch (undici), which that does not see.
 */
import { subscribe } from 'node:diagnostics_channel';
import { QueueSASPermissions, QueueServiceClient } from '@azure/storage-queue';
import { startLocalHost } from '../../dev/host/localHost';
import { report, run, setting } from './common';
import { inRounds, landingEvents } from './landingEvents';

/** A queue's approximate message count (visible and invisible), read with fetch; a dropped socket retried. */
async function approximateCount(sasUrl: string): Promise<number> {
  const [base, sas] = sasUrl.split('?');
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${base ?? ''}?comp=metadata&${sas ?? ''}`);
      if (!response.ok) throw new Error(`queue metadata: HTTP ${response.status}`);
      return Number(response.headers.get('x-ms-approximate-messages-count') ?? NaN);
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
}

run(async () => {
  // The app on v1 unless told v2: the ceiling's requests are v1's, so the protocol is always named, never
  // left to the stand-in's advertisement (auto). Set before the host reads its settings.
  process.env.KUSTO_INGEST_PROTOCOL ??= 'v1';
  if (process.env.KUSTO_INGEST_PROTOCOL !== 'v1' && process.env.KUSTO_INGEST_PROTOCOL !== 'v2')
    throw new Error(
      `the landing benchmark measures the app on v1 or v2, not KUSTO_INGEST_PROTOCOL=${process.env.KUSTO_INGEST_PROTOCOL}`,
    );
  const watched = QueueServiceClient.fromConnectionString(setting('AzureWebJobsStorage'))
    .getQueueClient(landingEvents)
    .generateSasUrl({
      permissions: QueueSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 86_400_000),
    });
  let counting = false;
  let requests = 0;
  subscribe('http.client.request.start', () => {
    if (counting) requests += 1;
  });
  const { events, seconds, medianRate } = await inRounds(async () => {
    counting = true;
    let uncertain = 0;
    const host = await startLocalHost({
      port: 0,
      timer: false,
      log: (line) => (uncertain += line.includes('"event":"EnqueueUncertain"') ? 1 : 0),
    });
    while ((await approximateCount(watched)) > 0) await new Promise((r) => setTimeout(r, 50));
    await host.stop();
    counting = false;
    return uncertain;
  });
  report({
    eventsPerSec: medianRate,
    overallEventsPerSec: events / seconds,
    requestsPerEvent: requests / events,
  });
});
