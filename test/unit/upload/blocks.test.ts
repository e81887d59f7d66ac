import { BlockPool, toBlocks } from '../../../shared/upload/blockUpload';
import { sniffCompression, toBuffers } from '../../../shared/upload/compression';
import { gzipSync } from 'node:zlib';

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of source) out.push(Buffer.from(b)); // copy: pooled blocks are reused
  return out;
}

function* pieces(total: number, size: number): Generator<Buffer> {
  for (let i = 0; i < total; i += size) yield Buffer.alloc(Math.min(size, total - i), i % 251);
}

describe('toBlocks', () => {
  it('cuts a stream into full blocks and a shorter last one, byte for byte', async () => {
    const pool = new BlockPool(1000, 4);
    const input = Buffer.concat([...pieces(2500, 333)]);
    const blocks = await collect(toBlocks(toBuffers(pieces(2500, 333)), pool));
    expect(blocks.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(Buffer.concat(blocks).equals(input)).toBe(true);
  });

  it('gives a small input back as one exact buffer without taking a pooled block', async () => {
    const pool = new BlockPool(4 * 1024 * 1024, 4);
    const acquire = jest.spyOn(pool, 'acquire');
    const blocks = await collect(toBlocks(toBuffers(pieces(3000, 100)), pool));
    expect(blocks.map((b) => b.length)).toEqual([3000]);
    expect(acquire).not.toHaveBeenCalled();
  });

  it('keeps its own copy of a small input whose source refills one buffer', async () => {
    async function* refilling(): AsyncGenerator<Buffer> {
      const buffer = Buffer.alloc(100);
      for (let i = 0; i < 30; i++) {
        buffer.fill(i);
        await Promise.resolve();
        yield buffer;
      }
    }
    const blocks = await collect(toBlocks(refilling(), new BlockPool(4 * 1024 * 1024, 4)));
    expect(
      Buffer.concat(blocks).equals(Buffer.concat([...Array(30).keys()].map((i) => Buffer.alloc(100, i)))),
    ).toBe(true);
  });

  it('yields nothing for an empty input', async () => {
    expect(await collect(toBlocks(toBuffers([]), new BlockPool(10, 1)))).toEqual([]);
  });
});

describe('BlockPool', () => {
  it('hands a released block out again, up to its limit', () => {
    const size = 64 * 1024; // big enough to own its memory (small buffers share a slab)
    const pool = new BlockPool(size, 1);
    const a = pool.acquire();
    const b = pool.acquire();
    pool.release(a.subarray(0, 4));
    pool.release(b);
    const c = pool.acquire();
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(size);
    expect(pool.acquire().buffer).not.toBe(b.buffer); // the pool kept one only
  });
});

describe('sniffCompression', () => {
  it('recognises gzip and zip by their magic bytes', () => {
    expect(sniffCompression(gzipSync('x'))).toBe('gzip');
    expect(sniffCompression(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0]))).toBe('zip');
    expect(sniffCompression(Buffer.from('a,b\n'))).toBe('none');
    expect(sniffCompression(Buffer.from([0x1f]))).toBe('none');
  });
});

describe('toBuffers', () => {
  it('accepts bytes and strings and refuses anything else', async () => {
    expect(
      Buffer.concat(await collect(toBuffers(['a', new Uint8Array([98]), Buffer.from('c')]))).toString(),
    ).toBe('abc');
    await expect(collect(toBuffers([42]))).rejects.toThrow(/bytes or strings/);
  });
});
