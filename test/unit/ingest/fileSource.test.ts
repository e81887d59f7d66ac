import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestValidationError } from '../../../shared/errors';
import { fileSource } from '../../../shared/ingest/dataSource';

async function collect(iterable: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('fileSource (a local file as the upload reads it)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'filesource-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a small file whole, with its size', async () => {
    const path = join(dir, 'small.csv');
    writeFileSync(path, 'a,1\nb,2\n');
    const source = await fileSource(path);
    expect(source.size).toBe(8);
    expect(source.name).toBe('small.csv');
    expect((await source.whole?.())?.toString()).toBe('a,1\nb,2\n');
    expect((await collect(source.open())).toString()).toBe('a,1\nb,2\n'); // and can still stream it
  });

  it('streams a file over 256 KiB rather than reading it whole', async () => {
    const path = join(dir, 'big.csv');
    const data = Buffer.alloc(300 * 1024, 'x');
    writeFileSync(path, data);
    const source = await fileSource(path);
    expect(source.size).toBe(data.length);
    expect(source.whole).toBeUndefined();
    expect((await collect(source.open())).equals(data)).toBe(true);
  });

  it('refuses an empty file, a missing file and a directory with typed errors that name the path', async () => {
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    await expect(fileSource(empty)).rejects.toMatchObject({
      code: 'EmptyInput',
      message: expect.stringContaining("'" + empty + "' is empty") as unknown,
    });
    const missing = join(dir, 'missing.csv');
    const error = await fileSource(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestValidationError);
    expect((error as Error).message).toMatch(/Cannot read file '.*missing\.csv': ENOENT/);
    await expect(fileSource(dir)).rejects.toThrow(/not a regular file/);
  });
});
