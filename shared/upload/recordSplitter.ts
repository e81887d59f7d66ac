import type { DataFormat } from '../message/dataFormat';

/** How records end: a newline outside double quotes (delimited text), or any newline (one record per line). */
export type RecordBoundary = 'quoted-newline' | 'newline';

const QUOTED: ReadonlySet<DataFormat> = new Set(['csv', 'tsv', 'tsve', 'scsv', 'sohsv', 'psv']);
const LINES: ReadonlySet<DataFormat> = new Set(['json', 'txt']);

/**
 * Where records of a format end, or undefined when its input must never be split: multijson and singlejson
 * (a record may span lines), raw (the whole input is one record), w3clogfile (directives name the fields of
 * the lines that follow) and the binary formats.
 */
export function recordBoundary(format: DataFormat): RecordBoundary | undefined {
  if (QUOTED.has(format)) return 'quoted-newline';
  if (LINES.has(format)) return 'newline';
  return undefined;
}

const NEWLINE = 0x0a;
const QUOTE = 0x22;

/** The quote state after `bytes`, starting from `inQuotes`: each `"` toggles it (an escaped `""` twice). */
function afterQuotes(bytes: Buffer, inQuotes: boolean): boolean {
  let state = inQuotes;
  for (let i = bytes.indexOf(QUOTE); i !== -1; i = bytes.indexOf(QUOTE, i + 1)) state = !state;
  return state;
}

/**
 * Cuts a byte stream into consecutive parts at record boundaries: each part runs to the first record end
 * at or after `thresholdInBytes` (the last part is whatever is left), so the parts, concatenated, are the
 * input byte for byte. A record longer than the threshold, or an unclosed quote, makes one long part rather
 * than a wrong cut. Parts come out in order and each must be read to its end before the next is asked for;
 * nothing is buffered beyond the chunk at hand.
 */
export async function* splitAtRecords(
  source: AsyncIterable<Buffer>,
  thresholdInBytes: number,
  boundary: RecordBoundary,
): AsyncGenerator<AsyncGenerator<Buffer>> {
  const input = source[Symbol.asyncIterator]();
  const quoted = boundary === 'quoted-newline';
  let carry: Buffer | undefined;
  // Set when a part reached its own end; a part left half-read would lose the rest of its bytes.
  const progress = { partEnded: true };

  async function* part(): AsyncGenerator<Buffer> {
    progress.partEnded = false;
    let size = 0;
    let inQuotes = false;
    for (;;) {
      let chunk = carry;
      carry = undefined;
      if (chunk === undefined) {
        const next = await input.next();
        if (next.done) {
          progress.partEnded = true;
          return;
        }
        chunk = next.value;
      }
      if (size + chunk.length < thresholdInBytes) {
        if (quoted) inQuotes = afterQuotes(chunk, inQuotes);
        size += chunk.length;
        yield chunk;
        continue;
      }
      // The part reaches the threshold in this chunk: cut after the first record end from there on.
      let from = Math.max(0, thresholdInBytes - size - 1);
      if (quoted) inQuotes = afterQuotes(chunk.subarray(0, from), inQuotes);
      for (;;) {
        const newline = chunk.indexOf(NEWLINE, from);
        if (newline === -1) {
          if (quoted) inQuotes = afterQuotes(chunk.subarray(from), inQuotes);
          break;
        }
        if (quoted) inQuotes = afterQuotes(chunk.subarray(from, newline), inQuotes);
        if (!inQuotes) {
          if (newline + 1 < chunk.length) carry = chunk.subarray(newline + 1);
          yield chunk.subarray(0, newline + 1);
          progress.partEnded = true;
          return;
        }
        from = newline + 1;
      }
      size += chunk.length;
      yield chunk;
    }
  }

  let finished = false;
  try {
    for (;;) {
      if (carry === undefined) {
        const next = await input.next();
        if (next.done) {
          finished = true;
          return;
        }
        if (next.value.length === 0) continue;
        carry = next.value;
      }
      yield part();
      if (!progress.partEnded)
        throw new Error('splitAtRecords: a part must be read to its end before the next one');
    }
  } finally {
    if (!finished) await input.return?.();
  }
}
