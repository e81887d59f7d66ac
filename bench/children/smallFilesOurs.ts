/**
 * Scenario 1, ours: N small files through QueuedIngestClient.ingestFromFile, 50 in flight. With
 * BENCH_PROTOCOL v2 (scenario 13), over REST submissions; then every item's status is read once, and the
 * requests of both phases are counted by the client (`announcements`). Not by a pipeline policy: with one,
 * every storage request would leave the lean path for the pipeline, which the client in production does not.
 */
import {
  QueuedIngestClient,
  ReportLevel,
  ReportMethod,
  type IngestionProps,
  type IngestionReceipt,
} from '../../shared';
import { pool } from '../harness';
import { benchFiles, report, run, setting, timed } from './common';

run(async () => {
  // v1 unless the scenario asks for v2: the official SDK it is compared with speaks v1 only.
  const protocol = setting('BENCH_PROTOCOL', 'v1') === 'v2' ? 'v2' : 'v1';
  const client = new QueuedIngestClient({ ingestUri: setting('KUSTO_INGEST_URI'), protocol });
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
  const after = client.announcements;
  const ingestRequests = after.storageRequests - before.storageRequests + (after.posts - before.posts);
  let statusReads = 0;
  if (readStatuses) {
    // Every item's status once: on v2 one read answers for every blob of an operation.
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
    statusReads = client.announcements.statusReads - readBefore;
  }
  report({
    filesPerSec: files.length / seconds,
    seconds,
    requestsPerItem: ingestRequests / files.length,
    statusReadsPer1000: (statusReads * 1000) / files.length,
  });
});
