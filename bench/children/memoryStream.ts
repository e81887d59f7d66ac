/** Child of bench/memoryStream.ts: one ingestion, then its own peak RSS (from the OS) as one JSON line. */
import { ManagedStreamingIngestClient, QueuedIngestClient, type IngestionReceipt } from '../../shared';
import { generatedCsv } from '../generatedCsv';

// Peak RSS once the code is loaded and before any data flows: the part no streaming can save.
const baselineRssBytes = process.resourceUsage().maxRSS * 1024;

async function main(): Promise<void> {
  const ingestUri = process.env.KUSTO_INGEST_URI;
  const engineUri = process.env.KUSTO_ENGINE_URI;
  const bytes = Number(process.env.BENCH_BYTES ?? 1024 ** 3);
  const which = process.env.BENCH_CLIENT ?? 'queued';
  if (!ingestUri || !engineUri) throw new Error('KUSTO_INGEST_URI and KUSTO_ENGINE_URI are required');
  let input = 0;
  const source = generatedCsv(bytes).on('data', (c: Buffer) => (input += c.length));
  const props = { database: 'bench', table: 'Big', format: 'csv' } as const;
  const started = process.hrtime.bigint();
  // The client's defaults unless BENCH_BLOCK / BENCH_CONC say otherwise.
  const tuning = {
    ...(process.env.BENCH_BLOCK && { blockSizeInBytes: Number(process.env.BENCH_BLOCK) }),
    ...(process.env.BENCH_CONC && { uploadConcurrency: Number(process.env.BENCH_CONC) }),
  };
  const queued = new QueuedIngestClient({ ingestUri, protocol: 'v1', ...tuning });
  const receipt: IngestionReceipt =
    which === 'managed'
      ? await new ManagedStreamingIngestClient({ engineUri, ingestUri, queued }).ingestFromStream(
          source,
          props,
        )
      : await queued.ingestFromStream(source, props);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      inputBytes: input,
      seconds,
      peakRssBytes,
      baselineRssBytes,
      wentQueued: receipt.flavor === 'queued' ? 1 : 0,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
