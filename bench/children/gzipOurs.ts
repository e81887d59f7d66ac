/**
 * Scenario 3, a breakdown: our parallel gzip alone over the same file (read as ingestFromFile reads it,
 * output counted and dropped: no upload, no storage), to tell compression from the upload's share.
 */
import { createReadStream } from 'node:fs';
import { DEFAULT_COMPRESSION_LEVEL } from '../../shared';
import { parallelGzip } from '../../shared/upload/parallelGzip';
import { report, run, setting, timed } from './common';

run(async () => {
  const file = setting('BENCH_FILE');
  let input = 0;
  let output = 0;
  const seconds = await timed(async () => {
    const source = createReadStream(file, { highWaterMark: 1024 * 1024 }).on(
      'data',
      (c: Buffer | string) => (input += c.length),
    );
    for await (const piece of parallelGzip(source, { level: DEFAULT_COMPRESSION_LEVEL }))
      output += piece.length;
  });
  report({ mbPerSec: input / 1e6 / seconds, seconds, compressedMb: output / 1e6 });
});
