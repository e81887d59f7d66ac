/** Scenario 1, the official SDK: N small files through azure-kusto-ingest's IngestClient.ingestFromFile. */
import { KustoConnectionStringBuilder } from 'azure-kusto-data';
import { DataFormat, IngestClient, IngestionProperties, ReportLevel, ReportMethod } from 'azure-kusto-ingest';
import { pool } from '../harness';
import { benchFiles, report, run, setting, timed } from './common';

run(async () => {
  const table = setting('BENCH_STATUS', 'queue') === 'table';
  const client = new IngestClient(
    KustoConnectionStringBuilder.withAccessToken(setting('KUSTO_INGEST_URI'), 'bench-token'),
    new IngestionProperties({
      database: 'bench',
      table: table ? 'SmallStatus' : 'Small',
      format: DataFormat.CSV,
      ...(table && { reportLevel: ReportLevel.FailuresAndSuccesses, reportMethod: ReportMethod.Table }),
    }),
  );
  const files = benchFiles();
  const concurrency = Number(setting('BENCH_CONCURRENCY', '50'));
  for (const f of files.slice(0, 5)) await client.ingestFromFile(f); // warm-up: resources, connections
  const seconds = await timed(() =>
    pool(files.length, concurrency, async (i) => {
      await client.ingestFromFile(files[i] ?? '');
    }),
  );
  client.close();
  report({ filesPerSec: files.length / seconds, seconds });
});
