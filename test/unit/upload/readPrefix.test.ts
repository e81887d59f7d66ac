import { toBuffers } from '../../../shared/upload/compression';
import { readPrefix } from '../../../shared/upload/readPrefix';

function chunks(sizes: number[]): AsyncGenerator<Buffer> {
  let value = 0;
  return toBuffers(sizes.map((size) => Buffer.from(Array.from({ length: size }, () => value++ % 256))));
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

describe('readPrefix', () => {
  it('completes for an input of exactly the limit', async () => {
    const p = await readPrefix(chunks([3, 3, 4]), 10);
    expect(p.complete).toBe(true);
    expect(p.head.length).toBe(10);
    expect((await collect(p.all())).equals(p.head)).toBe(true);
  });

  it('stops at the limit for a larger input, splitting the crossing chunk, and replays it all in order', async () => {
    const whole = await collect(chunks([3, 3, 5, 7]));
    const p = await readPrefix(chunks([3, 3, 5, 7]), 10);
    expect(p.complete).toBe(false);
    expect(p.head.equals(whole.subarray(0, 10))).toBe(true);
    expect((await collect(p.all())).equals(whole)).toBe(true);
  });

  it('is not complete for one byte over', async () => {
    const p = await readPrefix(chunks([11]), 10);
    expect(p.complete).toBe(false);
    expect(p.head.length).toBe(10);
    expect((await collect(p.all())).length).toBe(11);
  });

  it('handles an empty input', async () => {
    const p = await readPrefix(chunks([]), 10);
    expect(p).toMatchObject({ complete: true });
    expect(p.head.length).toBe(0);
    expect((await collect(p.all())).length).toBe(0);
  });
});
