import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { STREAM_READ_BYTES, streamSource } from '../../../shared/ingest/dataSource';

async function chunksOf(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return chunks;
}

describe('streamSource', () => {
  let dir: string;
  let file: string;
  const bytes = Buffer.alloc(3 * STREAM_READ_BYTES + 12345);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 10)) & 0xff;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kif-stream-'));
    file = join(dir, 'data.bin');
    writeFileSync(file, bytes);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads fs.createReadStream's file in 1 MiB pieces rather than its 64 KiB, every byte in order", async () => {
    const stream = createReadStream(file);
    expect(stream.readableHighWaterMark).toBe(64 * 1024);
    const chunks = await chunksOf(streamSource(stream, 'csv').open());
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    // The first read may still be one of 64 KiB (started before we asked); the rest are large.
    expect(Math.max(...chunks.map((c) => c.length))).toBe(STREAM_READ_BYTES);
    expect(chunks.length).toBeLessThanOrEqual(5);
  });

  it('honours start and end of a caller-made read stream', async () => {
    const stream = createReadStream(file, { start: 100, end: STREAM_READ_BYTES + 99 });
    const chunks = await chunksOf(streamSource(stream, 'csv').open());
    expect(Buffer.concat(chunks).equals(bytes.subarray(100, STREAM_READ_BYTES + 100))).toBe(true);
  });

  it('keeps bytes already buffered before it starts, and a stream that already ended', async () => {
    const through = new PassThrough();
    through.write(Buffer.from('first,1\n'));
    through.write(Buffer.from('second,2\n'));
    through.end(Buffer.from('third,3\n'));
    const chunks = await chunksOf(streamSource(through, 'csv').open());
    expect(Buffer.concat(chunks).toString()).toBe('first,1\nsecond,2\nthird,3\n');
  });

  it('reads streams of strings, and leaves object streams and iterables as they are', async () => {
    const csv = 'id,name\n'.repeat(200_000);
    writeFileSync(join(dir, 'text.csv'), csv);
    const text = createReadStream(join(dir, 'text.csv'), { encoding: 'utf8' });
    const fromText = await chunksOf(streamSource(text, 'csv').open());
    expect(Buffer.concat(fromText).toString()).toBe(csv);
    const objects = Readable.from(['a,1\n', 'b,2\n']);
    expect(Buffer.concat(await chunksOf(streamSource(objects, 'csv').open())).toString()).toBe('a,1\nb,2\n');
    const generated = (function* () {
      yield Buffer.from('x,1\n');
    })();
    expect(Buffer.concat(await chunksOf(streamSource(generated, 'csv').open())).toString()).toBe('x,1\n');
  });
});
