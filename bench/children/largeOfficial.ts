/**
 * Scenario 3, the official SDK: one large CSV through azure-kusto-ingest's ingestFromFile (it gzips the
 * file to a temporary file at zlib's default level, then uploads that) or ingestFromStream (it uploads the
 * stream as it is, uncompressed).
 */
import { createReadStream, statSync } from 'node:fs';
import { KustoConnectionStringBuilder } from 'azure-kusto-data';
import { DataFormat, IngestClient, IngestionProperties } from 'azure-kusto-ingest';
import { report, run, setting, timed } from './common';

const baselineRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6;

run(async () => {
  const file = setting('BENCH_FILE');
  const mode = setting('BENCH_MODE');
  const client = new IngestClient(
    KustoConnectionStringBuilder.withAccessToken(setting('KUSTO_INGEST_URI'), 'bench-token'),
    new IngestionProperties({ database: 'bench', table: 'Big', format: DataFormat.CSV }),
  );
  const seconds = await timed(async () => {
    if (mode === 'file') await client.ingestFromFile(file);
    else await client.ingestFromStream(createReadStream(file));
  });
  client.close();
  report({ mbPerSec: statSync(file).size / 1e6 / seconds, seconds, parts: 1, baselineRssMb });
});
