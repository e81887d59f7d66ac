/** Scenario 1, ours: N small files through QueuedIngestClient.ingestFromFile, 50 in flight. */
import { QueuedIngestClient, ReportLevel, ReportMethod, type IngestionProps } from '../../shared';
import { pool } from '../harness';
import { benchFiles, report, run, setting, timed } from './common';

run(async () => {
  // v1 unless the scenario asks for v2: the official SDK it is compared with speaks v1 only.
  const protocol = setting('BENCH_PROTOCOL', 'v1') === 'v2' ? 'v2' : 'v1';
  const client = new QueuedIngestClient({ ingestUri: setting('KUSTO_INGEST_URI'), protocol });
  const table = setting('BENCH_STATUS', 'queue') === 'table';
  const props: IngestionProps = {
    database: 'bench',
    table: 'Small',
    format: 'csv',
    ...(table && { reportLevel: ReportLevel.FailuresAndSuccesses, reportMethod: ReportMethod.Table }),
  };
  const files = benchFiles();
  const concurrency = Number(setting('BENCH_CONCURRENCY', '50'));
  for (const f of files.slice(0, 5)) await client.ingestFromFile(f, props); // warm-up: resources, connections
  const seconds = await timed(() =>
    pool(files.length, concurrency, async (i) => {
      const receipt = await client.ingestFromFile(files[i] ?? '', props);
      // The work was done as asked: queued, with a status row when reporting to the table.
      if (receipt.flavor !== 'queued' || (table && !receipt.statusTable))
        throw new Error(`unexpected receipt ${JSON.stringify(receipt)}`);
    }),
  );
  report({ filesPerSec: files.length / seconds, seconds });
});
