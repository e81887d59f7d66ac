/**
 * Scenarios 1 and 2, the ceiling: what the same storage allows with no SDK in between: per file, one
 * keep-alive Put Blob and one Put Message (and with BENCH_STATUS=table, one Insert Or Replace Entity before
 * the message), 50 in flight, on the SAS URLs the DM hands out. Requests are as lean as the protocol allows.
 */
import { readFile } from 'node:fs/promises';
import { pool } from '../harness';
import { benchFiles, report, run, setting, timed } from './common';
import { putBlob, putEntity, putMessage, resources } from './raw';

run(async () => {
  const r = await resources();
  const containers = r.get('TempStorage') ?? [];
  const queues = r.get('SecuredReadyForAggregationQueue') ?? [];
  const table = (r.get('IngestionsStatusTable') ?? [])[0];
  const withTable = setting('BENCH_STATUS', 'queue') === 'table';
  const files = benchFiles();
  const concurrency = Number(setting('BENCH_CONCURRENCY', '50'));
  const one = async (i: number): Promise<void> => {
    const data = await readFile(files[i] ?? '');
    const name = `ceiling-${process.pid}-${i}-${Date.now()}.csv`;
    const container = containers[i % containers.length] ?? '';
    await putBlob(container, name, data);
    if (withTable && table) {
      const id = `${process.pid}-${i}-${Date.now()}`;
      await putEntity(table, id, id, {
        Status: 'Pending',
        IngestionSourcePath: `${container.split('?')[0] ?? ''}/${name}`,
      });
    }
    const message = Buffer.from(
      JSON.stringify({ Id: i, BlobPath: name, DatabaseName: 'bench', TableName: 'Small' }),
    ).toString('base64');
    await putMessage(queues[i % queues.length] ?? '', message);
  };
  for (let i = 0; i < 5; i++) await one(i); // warm-up: connections
  const seconds = await timed(() => pool(files.length, concurrency, one));
  report({ filesPerSec: files.length / seconds, seconds });
});
