import { streamSource } from '../../../shared/ingest/dataSource';
import { validateProps } from '../../../shared/ingest/ingestionProps';
import { planUpload } from '../../../shared/ingest/uploadPlan';

const props = validateProps({ database: 'db', table: 't', format: 'csv' });

/** A stream of `count` chunks of `size` bytes of CSV lines, counting how many chunks were pulled. */
function chunks(count: number, size: number): { source: AsyncIterable<Buffer>; pulled: () => number } {
  let pulled = 0;
  const line = Buffer.from('a,1\n');
  async function* gen(): AsyncGenerator<Buffer> {
    for (let i = 0; i < count; i++) {
      pulled++;
      yield Buffer.alloc(size, line);
      await Promise.resolve();
    }
  }
  return { source: gen(), pulled: () => pulled };
}

async function collect(iterable: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of iterable) parts.push(part);
  return Buffer.concat(parts);
}

const plan = (source: AsyncIterable<Buffer>, allowSplit: boolean, splitThresholdInBytes = 1024 ** 3) =>
  planUpload(streamSource(source, 'csv'), props, { sourceId: 's1', allowSplit, splitThresholdInBytes });

describe('planUpload: a stream that ends within the read-ahead goes up whole', () => {
  it('takes a small stream of several chunks as one whole input', async () => {
    const { source } = chunks(3, 1_000);
    const p = await plan(source, true);
    expect(p.whole?.length).toBe(3_000);
    expect(p.boundary).toBeUndefined();
    expect((await collect(p.input)).equals(p.whole ?? Buffer.alloc(0))).toBe(true);
    expect(p.blobName(0)).toBe('db__t__s1__stream.csv.gz');
  });

  it('streams an input over 256 KiB, every byte once and in order, having read only what it needed', async () => {
    const { source, pulled } = chunks(10, 64 * 1024);
    const p = await plan(source, false);
    expect(p.whole).toBeUndefined();
    expect(pulled()).toBe(5); // just past the 256 KiB read-ahead
    const all = await collect(p.input);
    expect(all.length).toBe(10 * 64 * 1024);
    expect(all.equals(Buffer.alloc(10 * 64 * 1024, 'a,1\n'))).toBe(true);
  });

  it('keeps a splittable stream over the split threshold for splitting, and one under it whole', async () => {
    const over = await plan(chunks(3, 1_000).source, true, 2_000);
    expect(over.whole).toBeUndefined();
    expect(over.boundary).toBeDefined();
    expect((await collect(over.input)).length).toBe(3_000);
    const under = await plan(chunks(2, 1_000).source, true, 2_000);
    expect(under.whole?.length).toBe(2_000);
    expect(under.boundary).toBeUndefined();
  });

  it('refuses a stream of empty chunks as empty', async () => {
    await expect(plan(chunks(3, 0).source, true)).rejects.toMatchObject({ code: 'EmptyInput' });
  });
});
