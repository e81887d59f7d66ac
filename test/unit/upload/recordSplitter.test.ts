import { recordBoundary, splitAtRecords, type RecordBoundary } from '../../../shared/upload/recordSplitter';

async function* chunked(data: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const n = sizes[i % sizes.length] ?? 1;
    await Promise.resolve();
    yield data.subarray(offset, offset + n);
    offset += n;
  }
}

async function split(data: Buffer, threshold: number, boundary: RecordBoundary, sizes: number[]) {
  const parts: Buffer[] = [];
  for await (const part of splitAtRecords(chunked(data, sizes), threshold, boundary)) {
    const chunks: Buffer[] = [];
    for await (const c of part) chunks.push(c);
    parts.push(Buffer.concat(chunks));
  }
  return parts;
}

/** A seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

/** CSV records, some with quoted fields holding newlines, commas and escaped quotes. */
function csvRecords(count: number, rnd: () => number): string[] {
  const records: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const text = r < 0.2 ? `"line one\nline two, ""quoted""\n"` : r < 0.4 ? `"a ""b"" c"` : `plain ${i}`;
    records.push(`${i},${text},${Math.floor(rnd() * 1000)}\r\n`);
  }
  return records;
}

/** Record ends of a CSV: offsets just past each newline outside quotes. */
function recordEnds(text: string): Set<number> {
  const ends = new Set<number>();
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '"') inQuotes = !inQuotes;
    else if (text[i] === '\n' && !inQuotes) ends.add(i + 1);
  }
  return ends;
}

describe('recordBoundary', () => {
  it('splits delimited text outside quotes, JSON lines and text at newlines, and never the rest', () => {
    for (const f of ['csv', 'tsv', 'tsve', 'scsv', 'sohsv', 'psv'] as const)
      expect(recordBoundary(f)).toBe('quoted-newline');
    expect(recordBoundary('json')).toBe('newline');
    expect(recordBoundary('txt')).toBe('newline');
    for (const f of ['multijson', 'singlejson', 'raw', 'w3clogfile', 'parquet', 'avro', 'orc'] as const)
      expect(recordBoundary(f)).toBeUndefined();
  });
});

describe('splitAtRecords', () => {
  it.each([
    [1, 100, [7]],
    [2, 250, [1, 3, 1000]],
    [3, 40, [64]],
    [4, 1000, [4096]],
    [5, 1, [5, 17]],
  ])(
    'cuts CSV (seed %i, threshold %i) only at record ends, each part at least the threshold',
    async (seed, threshold, sizes) => {
      const text = csvRecords(300, random(seed)).join('');
      const data = Buffer.from(text);
      const parts = await split(data, threshold, 'quoted-newline', sizes);
      expect(Buffer.concat(parts).equals(data)).toBe(true);
      expect(parts.length).toBeGreaterThan(1);
      const ends = recordEnds(text);
      let offset = 0;
      parts.forEach((part, i) => {
        offset += part.length;
        expect(ends.has(offset)).toBe(true); // every cut is just after a newline outside quotes
        if (i < parts.length - 1) {
          expect(part.length).toBeGreaterThanOrEqual(threshold);
          // ...and the first such end at or past the threshold: no record could have been left out.
          const firstEnd = Math.min(...[...ends].filter((e) => e >= offset - part.length + threshold));
          expect(offset).toBe(firstEnd);
        }
      });
    },
  );

  it('does not cut at a newline inside quotes that falls on the threshold', async () => {
    const data = Buffer.from('1,"ab\ncd"\n2,x\n');
    const parts = await split(data, 5, 'quoted-newline', [3]);
    expect(parts.map(String)).toEqual(['1,"ab\ncd"\n', '2,x\n']);
  });

  it('cuts JSON lines at the first newline at or past the threshold, whatever the quotes', async () => {
    const data = Buffer.from('{"a":"\\""}\n{"b":2}\n{"c":3}\n');
    const parts = await split(data, 11, 'newline', [4]);
    expect(parts.map(String)).toEqual(['{"a":"\\""}\n', '{"b":2}\n{"c":3}\n']);
  });

  it('keeps a record longer than the threshold, and an unclosed quote, whole', async () => {
    expect((await split(Buffer.from('x'.repeat(50) + '\ny\n'), 10, 'newline', [8])).map(String)).toEqual([
      'x'.repeat(50) + '\n',
      'y\n',
    ]);
    const unclosed = Buffer.from('1,"never closed\n2,b\n3,c\n');
    expect(await split(unclosed, 3, 'quoted-newline', [4])).toHaveLength(1);
  });

  it('gives one part for input under the threshold and none for empty input', async () => {
    expect((await split(Buffer.from('a\nb\n'), 100, 'newline', [1])).map(String)).toEqual(['a\nb\n']);
    expect(await split(Buffer.alloc(0), 100, 'newline', [1])).toEqual([]);
  });

  it('makes no empty last part when the input ends exactly at a cut', async () => {
    expect((await split(Buffer.from('aaaa\nbbbb\n'), 5, 'newline', [10])).map(String)).toEqual([
      'aaaa\n',
      'bbbb\n',
    ]);
  });

  it('refuses to move on while a part is half read, rather than drop its bytes', async () => {
    const parts = splitAtRecords(chunked(Buffer.from('a\nb\nc\n'), [1]), 2, 'newline');
    const first = (await parts.next()).value as AsyncGenerator<Buffer>;
    await first.next();
    await first.return(undefined);
    await expect(parts.next()).rejects.toThrow(/read to its end/);
  });

  it('stops reading the source when the consumer stops', async () => {
    let returned = false;
    async function* source(): AsyncGenerator<Buffer> {
      try {
        for (;;) {
          await Promise.resolve();
          yield Buffer.from('row\n');
        }
      } finally {
        returned = true;
      }
    }
    for await (const part of splitAtRecords(source(), 8, 'newline')) {
      for await (const chunk of part) expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(returned).toBe(true);
  });
});
