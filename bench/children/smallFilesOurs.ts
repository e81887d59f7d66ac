/**
 * Scenario 1, ours: N small files through QueuedIngestClient.ingestFromFile, 50 in flight. With
 * BENCH_PROTOCOL v2 (scenario 13), over REST submissions; then every item's status is read once, and the
 * requests of both phases are counted (storage requests by a pipeline policy, REST calls by the client).
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import {
  QueuedIngestClient,
  ReportLevel,
  ReportMethod,
  type IngestionProps,
  type IngestionReceipt,
} from '../../shared';
import { pool } from '../harness';
import { benchFiles, report, run, setting, timed } from './common';

/** Storage requests this client makes, counted while `on`. */
const storageRequests = { on: false, count: 0 };
const counting: PipelinePolicy = {
  name: 'benchRequestCounter',
  sendRequest: (request, next) => {
    if (storageRequests.on) storageRequests.count += 1;
    return next(request);
  },
};

run(async () => {
  // v1 unless the scenario asks for v2: the official SDK it is compared with speaks v1 only.
  const protocol = setting('BENCH_PROTOCOL', 'v1') === 'v2' ? 'v2' : 'v1';
  const client = new QueuedIngestClient({
    ingestUri: setting('KUSTO_INGEST_URI'),
    protocol,
    storagePolicies: () => [counting],
  });
  const table = setting('BENCH_STATUS', 'queue') === 'table';
  const readStatuses = setting('BENCH_READ_STATUS', 'no') === 'yes';
  const props: IngestionProps = {
    database: 'bench',
    table: 'Small',
    format: 'csv',
    ...(table && { reportLevel: ReportLevel.FailuresAndSuccesses, reportMethod: ReportMethod.Table }),
  };
  const files = benchFiles();
  const concurrency = Number(setting('BENCH_CONCURRENCY', '50'));
  for (const f of files.slice(0, 5)) await client.ingestFromFile(f, props); // warm-up: resources, connections
  const before = client.announcements;
  const receipts: IngestionReceipt[] = [];
  storageRequests.on = true;
  const seconds = await timed(() =>
    pool(files.length, concurrency, async (i) => {
      const receipt = await client.ingestFromFile(files[i] ?? '', props);
      // The work was done as asked: queued, with a status row when reporting to the table, an operation on v2.
      if (
        receipt.flavor !== 'queued' ||
        (table && !receipt.statusTable) ||
        (protocol === 'v2' && !receipt.operation)
      )
        throw new Error(`unexpected receipt ${JSON.stringify(receipt)}`);
      receipts.push(receipt);
    }),
  );
  storageRequests.on = false;
  const after = client.announcements;
  const ingestRequests = storageRequests.count + (after.posts - before.posts);
  let statusReads = 0;
  if (readStatuses) {
    // Every item's status once: on v2 one read answers for every blob of an operation.
    storageRequests.count = 0;
    storageRequests.on = true;
    const readBefore = client.announcements.statusReads;
    if (protocol === 'v2') {
      const operations = new Set(receipts.map((r) => r.operation ?? ''));
      for (const operation of operations) await client.getOperationStatuses(operation);
    } else {
      await pool(receipts.length, concurrency, async (i) => {
        const receipt = receipts[i];
        if (receipt) await client.getIngestionStatus(receipt);
      });
    }
    storageRequests.on = false;
    statusReads = storageRequests.count + (client.announcements.statusReads - readBefore);
  }
  report({
    filesPerSec: files.length / seconds,
    seconds,
    requestsPerItem: ingestRequests / files.length,
    statusReadsPer1000: (statusReads * 1000) / files.length,
  });
});
