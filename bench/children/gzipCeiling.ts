/**
 * Scenario 3, the ceiling: how fast zlib itself gzips the same file in one stream at one level (no upload,
 * no SDK), reading it as the clients do. The scenario multiplies it by the cores a client can use.
 */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { report, run, setting, timed } from './common';

run(async () => {
  const file = setting('BENCH_FILE');
  const level = Number(setting('BENCH_LEVEL'));
  let input = 0;
  let output = 0;
  const seconds = await timed(() =>
    pipeline(
      createReadStream(file).on('data', (c) => (input += c.length)),
      createGzip({ level, chunkSize: 256 * 1024 }),
      new Writable({
        write(chunk: Buffer, _enc, done) {
          output += chunk.length;
          done();
        },
      }),
    ),
  );
  report({ mbPerSec: input / 1e6 / seconds, seconds, compressedMb: output / 1e6 });
});
