/** Child of memoryStream.ts: one ingestion, then its own peak RSS (from the OS) as one JSON line. */
import { QueuedIngestClient } from '../shared';
import { generatedCsv } from './generatedCsv';

// Peak RSS once the code is loaded and before any data flows: the part no streaming can save.
const baselineRssBytes = process.resourceUsage().maxRSS * 1024;

async function main(): Promise<void> {
  const ingestUri = process.env.KUSTO_INGEST_URI;
  const bytes = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
  if (!ingestUri) throw new Error('KUSTO_INGEST_URI is required');
  const client = new QueuedIngestClient({ ingestUri });
  let input = 0;
  const source = generatedCsv(bytes).on('data', (c: Buffer) => (input += c.length));
  const started = process.hrtime.bigint();
  const receipt = await client.ingestFromStream(source, { database: 'bench', table: 'Big', format: 'csv' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      inputBytes: input,
      seconds,
      peakRssBytes,
      baselineRssBytes,
      blobPath: receipt.blobPath,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
