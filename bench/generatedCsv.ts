import { Readable } from 'node:stream';

const CHUNK_BYTES = 256 * 1024;
const DISTINCT_CHUNKS = 16;

function renderChunk(firstRow: number): { chunk: Buffer; rows: number } {
  // Written line by line into the chunk: joining thousands of strings first would leave tens of MB of
  // heap behind, which the memory benchmark would count against the client.
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let size = 0;
  let row = firstRow;
  for (;;) {
    const ts = new Date(1_700_000_000_000 + row * 1000).toISOString();
    const user = `user-${String((row * 7919) % 1000).padStart(4, '0')}`;
    const line = `${row},${ts},${user},${((row * 37) % 10_000) / 100},"event payload ${row % 97}"\n`;
    if (size + line.length > CHUNK_BYTES) break;
    size += chunk.write(line, size, 'latin1');
    row++;
  }
  return { chunk: chunk.subarray(0, size), rows: row - firstRow };
}

/**
 * A CSV of exactly `totalBytes` bytes (cut at a chunk end), made of 16 distinct pre-rendered 256 KiB
 * chunks of whole rows emitted in a pseudo-random order. Emitting costs no allocation beyond a view, so
 * a benchmark measures the client rather than the generator; gzip's 32 KiB window never sees a repeat,
 * so the data compresses like fresh rows.
 */
export function generatedCsv(totalBytes: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0, row = 0; i < DISTINCT_CHUNKS; i++) {
    const rendered = renderChunk(row);
    chunks.push(rendered.chunk);
    row += rendered.rows;
  }
  let produced = 0;
  let state = 12345;
  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      if (produced >= totalBytes) {
        this.push(null);
        return;
      }
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      const chunk = chunks[state % DISTINCT_CHUNKS] as Buffer;
      const take = Math.min(chunk.length, totalBytes - produced);
      produced += take;
      this.push(take === chunk.length ? chunk : chunk.subarray(0, take));
    },
  });
}
