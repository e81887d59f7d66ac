import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { parallelGzip } from '../../../shared/upload/parallelGzip';

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) {
    await Promise.resolve(); // a real source yields to the event loop between chunks
    yield data.subarray(i, i + size);
  }
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of source) out.push(b);
  return Buffer.concat(out);
}

/** CSV-like text with enough repetition across pieces for a dictionary to matter. */
function csv(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `${i % 977},customer-${(i * 31) % 5000},"Main Street ${i % 89}",${(i * 1.37).toFixed(2)}\n`;
    lines.push(line);
    n += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

describe('parallelGzip', () => {
  it.each([
    ['one short piece', 1000, 4096, 7],
    ['an exact multiple of the piece size', 16_384, 4096, 1000],
    ['many pieces from chunks that straddle them', 200_003, 4096, 3331],
    ['pieces larger than the chunks', 100_000, 65_536, 777],
  ])('round-trips %s', async (_name, n, block, chunk) => {
    const data = csv(n);
    // Piece buffers are recycled: each must be done with (and read as the next one's dictionary) first.
    for (const concurrency of [1, 2, 3]) {
      const opts = { level: 3, blockSizeInBytes: block, concurrency };
      const gz = await collect(parallelGzip(chunksOf(data, chunk), opts));
      expect(gz.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(true);
      expect(gunzipSync(gz).equals(data)).toBe(true);
    }
  });

  it('primes each piece with the one before at every concurrency, recycled buffers included', async () => {
    // Every piece repeats the previous one's tail: with a wrong dictionary it would not compress.
    const noise = randomBytes(4096);
    const data = Buffer.concat(Array.from({ length: 64 }, () => noise));
    const single = gzipSync(data, { level: 3 }).length;
    for (const concurrency of [1, 2, 4]) {
      const opts = { level: 3, blockSizeInBytes: 4096, concurrency };
      const gz = await collect(parallelGzip(chunksOf(data, 1000), opts));
      expect(gunzipSync(gz).equals(data)).toBe(true);
      expect(gz.length).toBeLessThan(single * 1.5);
    }
  });

  it('copes with a source that refills the same buffer for every chunk', async () => {
    const data = csv(50_000);
    async function* reusing(): AsyncGenerator<Buffer> {
      const buffer = Buffer.alloc(1000);
      for (let i = 0; i < data.length; i += 1000) {
        const n = data.copy(buffer, 0, i, i + 1000);
        await Promise.resolve();
        yield buffer.subarray(0, n);
      }
    }
    for (const blockSizeInBytes of [4096, 1024 * 1024]) {
      const gz = await collect(parallelGzip(reusing(), { level: 2, blockSizeInBytes }));
      expect(gunzipSync(gz).equals(data)).toBe(true);
    }
  });

  it('writes a valid empty gzip stream for empty input', async () => {
    const gz = await collect(parallelGzip(chunksOf(Buffer.alloc(0), 1), { level: 3 }));
    expect(gunzipSync(gz).length).toBe(0);
  });

  it('is one gzip member whose trailer holds the CRC-32 and size of the whole input', async () => {
    const data = csv(50_000);
    const gz = await collect(parallelGzip(chunksOf(data, 1000), { level: 6, blockSizeInBytes: 8192 }));
    const reference = gzipSync(data);
    // Same CRC and ISIZE as a one-stream gzip of the same bytes.
    expect(gz.subarray(gz.length - 8).equals(reference.subarray(reference.length - 8))).toBe(true);
    // A single member: nothing follows the first member's trailer (gunzip would accept a concatenation too).
    expect(gz.indexOf(Buffer.from([0x1f, 0x8b, 8]), 1)).toBe(-1);
  });

  it('keeps the ratio of one stream by priming each piece with the one before', async () => {
    // 10 KB of noise repeated: each piece can be told in back-references to the one before it, and only so.
    const noise = randomBytes(10_000);
    const data = Buffer.concat(Array.from({ length: 40 }, () => noise));
    const opts = { level: 3, blockSizeInBytes: 16_384 };
    const parallel = await collect(parallelGzip(chunksOf(data, 5000), opts));
    const single = gzipSync(data, { level: 3 });
    let cold = 0;
    for (let i = 0; i < data.length; i += 16_384) cold += deflateRawSync(data.subarray(i, i + 16_384)).length;
    expect(cold).toBeGreaterThan(single.length * 5); // the pieces alone would not compress
    expect(parallel.length).toBeLessThan(single.length * 1.1);
  });

  it('is accepted by the gzip tool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgz-'));
    try {
      const data = csv(300_000);
      const file = join(dir, 'x.csv.gz');
      writeFileSync(
        file,
        await collect(parallelGzip(chunksOf(data, 4096), { level: 1, blockSizeInBytes: 32_768 })),
      );
      expect(execFileSync('gzip', ['-dc', file]).equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with the source error and stops reading the source', async () => {
    let pulled = 0;
    async function* failing(): AsyncGenerator<Buffer> {
      for (;;) {
        pulled++;
        if (pulled === 5) throw new Error('disk went away');
        yield Buffer.alloc(1000, 65);
        await Promise.resolve();
      }
    }
    await expect(collect(parallelGzip(failing(), { level: 3, blockSizeInBytes: 1024 }))).rejects.toThrow(
      'disk went away',
    );
    expect(pulled).toBe(5);
  });
});
