/**
 * Scenario 5, the ceiling: the storage requests one HTTP push makes, in the same order, raw: write the
 * open row, the tracking row, the listing's index row, Put Blob (the gzipped body), record the staged blob
 * with its claim, write the status row, Put Message, mark it queued. Eight requests per push,
 * BENCH_CONCURRENCY pushes in flight.
 */
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { pool } from '../harness';
import { body4k } from './httpBody';
import { latencies, report, run, setting, timed } from './common';
import { insertEntity, putBlob, putEntity, putMessage, resources, tableUrl } from './raw';

run(async () => {
  const r = await resources();
  const containers = r.get('TempStorage') ?? [];
  const queues = r.get('SecuredReadyForAggregationQueue') ?? [];
  const status = (r.get('IngestionsStatusTable') ?? [])[0] ?? '';
  const tracking = await tableUrl('IngestionTracking');
  const open = await tableUrl('IngestionOpen');
  const index = await tableUrl('IngestionIndex');
  const count = Number(setting('BENCH_REQUESTS', '1000'));
  const concurrency = Number(setting('BENCH_CONCURRENCY', '50'));
  const bodies = Array.from({ length: count }, (_, i) => gzipSync(body4k(i), { level: 3 }));
  const send = async (i: number): Promise<number> => {
    const started = process.hrtime.bigint();
    const id = randomUUID();
    const pk = `src-${id.slice(0, 2)}`;
    const row = {
      Kind: 'http',
      State: 'queuing',
      Database: 'bench',
      Table: 'Push',
      Props: '{"format":"csv"}',
    };
    await putEntity(open, `open-${id.slice(0, 1)}`, id, { CreatedOn: new Date().toISOString() });
    await insertEntity(tracking, { PartitionKey: pk, RowKey: id, ...row });
    await putEntity(index, 't|bench|push', id, { SourceId: id, State: 'queuing' });
    const container = containers[i % containers.length] ?? '';
    const name = `bench__Push__${id}__stream.csv.gz`;
    await putBlob(container, name, bodies[i] ?? Buffer.alloc(0));
    await putEntity(tracking, pk, id, { ...row, State: 'uploaded', BlobPath: name }, '*');
    await putEntity(status, id, id, { Status: 'Pending', IngestionSourceId: id, IngestionSourcePath: name });
    const message = Buffer.from(
      JSON.stringify({ Id: id, BlobPath: name, DatabaseName: 'bench', TableName: 'Push' }),
    ).toString('base64');
    await putMessage(queues[i % queues.length] ?? '', message);
    await putEntity(tracking, pk, id, { ...row, State: 'queued', BlobPath: name }, '*');
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  for (let i = 0; i < 5; i++) await send(i); // warm-up: connections
  const ms: number[] = [];
  const seconds = await timed(() =>
    pool(count, concurrency, async (i) => {
      ms.push(await send(i));
    }),
  );
  report({ requestsPerSec: count / seconds, ...latencies(ms) });
});
