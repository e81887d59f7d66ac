/** Scenario 3, ours: one large CSV through QueuedIngestClient.ingestFromFile or ingestFromStream. */
import { createReadStream, statSync } from 'node:fs';
import { QueuedIngestClient } from '../../shared';
import { report, run, setting, timed } from './common';

// Peak RSS once the code is loaded and before any data flows: the part no streaming can save.
const baselineRssMb = (process.resourceUsage().maxRSS * 1024) / 1e6;

run(async () => {
  const file = setting('BENCH_FILE');
  const mode = setting('BENCH_MODE'); // 'file' | 'stream'
  const client = new QueuedIngestClient({
    ingestUri: setting('KUSTO_INGEST_URI'),
    // Compared with the official SDK, which speaks v1 only.
    protocol: 'v1',
    ...(process.env.BENCH_LEVEL && { compressionLevel: Number(process.env.BENCH_LEVEL) }),
    ...(process.env.BENCH_SPLIT && { splitThresholdInBytes: Number(process.env.BENCH_SPLIT) }),
    ...(process.env.BENCH_BLOCK && { blockSizeInBytes: Number(process.env.BENCH_BLOCK) }),
    ...(process.env.BENCH_UPLOADS && { uploadConcurrency: Number(process.env.BENCH_UPLOADS) }),
    ...(process.env.BENCH_GZIP_CONC && { compressionConcurrency: Number(process.env.BENCH_GZIP_CONC) }),
  });
  const props = { database: 'bench', table: 'Big', format: 'csv' } as const;
  let parts = 0;
  const seconds = await timed(async () => {
    const receipt =
      mode === 'file'
        ? await client.ingestFromFile(file, props)
        : await client.ingestFromStream(
            // fs's default 64 KiB chunks unless BENCH_HWM says otherwise
            createReadStream(file, { highWaterMark: Number(process.env.BENCH_HWM ?? 64 * 1024) }),
            props,
          );
    if (receipt.flavor !== 'queued') throw new Error(`expected a queued ingestion, got ${receipt.flavor}`);
    parts = receipt.parts?.length ?? 1;
  });
  const mb = statSync(file).size / 1e6;
  report({ mbPerSec: mb / seconds, seconds, parts, baselineRssMb });
});
