import { IngestValidationError } from '../errors';
import { isBinaryFormat } from '../message/dataFormat';
import { prepend, single, sniffCompression, type Compression } from '../upload/compression';
import { recordBoundary, type RecordBoundary } from '../upload/recordSplitter';
import type { DataSource } from './dataSource';
import type { ValidatedProps } from './ingestionProps';

/** How one input goes up: read as what, compressed or not, split or not, under which blob names. */
export interface UploadPlan {
  /** The input from its first byte (the first chunk was read to sniff it). */
  readonly input: AsyncIterable<Buffer>;
  /** A small file read whole: compressed and uploaded in one call each. */
  readonly whole: Buffer | undefined;
  readonly detected: Compression;
  /** Text we gzip ourselves (not binary formats, not input that is compressed already). */
  readonly weCompress: boolean;
  /** Where records end, when the input may need splitting; undefined when it goes up as one blob. */
  readonly boundary: RecordBoundary | undefined;
  /** The temp blob name of part `n` (0 for an input that is not split). */
  blobName(part: number): string;
  /** Lets go of the input when the upload does not happen (the file or stream it started to read). */
  abandon(): Promise<void>;
}

export interface PlanOptions {
  readonly sourceId: string;
  /** Whether the input may be split (never for the app's two-step path). */
  readonly allowSplit: boolean;
  readonly splitThresholdInBytes: number;
}

/** How much of a stream of unknown size is read before deciding whether it is small. */
const READ_AHEAD_BYTES = 256 * 1024;

/**
 * Reads on after `first` until the stream ends or `limit` bytes are in hand: then the bytes read, as one
 * buffer, and whether that was all of it.
 */
async function readAhead(
  first: Buffer,
  rest: AsyncIterator<Buffer>,
  limit: number,
): Promise<{ data: Buffer; ended: boolean }> {
  const chunks = [first];
  let total = first.length;
  while (total <= limit) {
    const next = await rest.next();
    if (next.done) return { data: chunks.length === 1 ? first : Buffer.concat(chunks, total), ended: true };
    chunks.push(next.value);
    total += next.value.length;
  }
  return { data: chunks.length === 1 ? first : Buffer.concat(chunks, total), ended: false };
}

/**
 * Reads the input's first chunk and decides the rest (docs/contracts.md, 'Splitting'): an empty input is an
 * error before anything is uploaded; text is gzipped and may be split at record boundaries; input that is
 * gzip or zip already goes up as it is, named so; a binary file misnamed .gz loses the suffix.
 */
export async function planUpload(
  source: DataSource,
  props: ValidatedProps,
  options: PlanOptions,
): Promise<UploadPlan> {
  const threshold = options.splitThresholdInBytes;
  const mayNeedSplit = options.allowSplit && (source.size === undefined || source.size > threshold);
  const whole = source.whole && !mayNeedSplit ? await source.whole() : undefined;
  // A whole input needs no read-ahead: it is its own first chunk.
  const input = whole ? undefined : source.open()[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer> = whole
    ? { done: false, value: whole }
    : { done: true, value: undefined };
  let small: Buffer | undefined = whole;
  if (input) {
    do first = await input.next();
    while (!first.done && first.value.length === 0);
    if (!first.done && source.size === undefined) {
      // A stream (an HTTP body, a caller's stream) that ends within the read-ahead is a small input: it goes
      // up whole like a small file, without the stream machinery (bench scenario 5).
      const limit = options.allowSplit ? Math.min(READ_AHEAD_BYTES, threshold) : READ_AHEAD_BYTES;
      const ahead = await readAhead(first.value, input, limit);
      if (ahead.ended) small = ahead.data;
      first = { done: false, value: ahead.data };
    }
  }
  if (first.done || first.value.length === 0)
    throw new IngestValidationError(
      `The input (${source.name}) is empty: there is nothing to ingest.`,
      'EmptyInput',
    );

  const detected = sniffCompression(first.value);
  const weCompress = detected === 'none' && !isBinaryFormat(props.format);
  // Only text we compress ourselves is split: a compressed input would have to be decompressed first.
  const boundary = weCompress && mayNeedSplit && !small ? recordBoundary(props.format) : undefined;
  let name = source.name;
  if (weCompress || detected === 'gzip') name = name.endsWith('.gz') ? name : `${name}.gz`;
  else if (detected === 'zip') name = name.endsWith('.zip') ? name : `${name}.zip`;
  else name = name.replace(/\.(gz|zip)$/i, '');
  const stem = `${props.database}__${props.table}__${options.sourceId}__`;
  // A file known to be split names every part; a stream's first part starts before its size is known.
  const splitKnown = boundary !== undefined && source.size !== undefined;
  return {
    input: input && !small ? prepend(first.value, input) : single(first.value),
    whole: small,
    detected,
    weCompress,
    boundary,
    blobName: (part) => (part === 0 && !splitKnown ? `${stem}${name}` : `${stem}p${part}__${name}`),
    abandon: async () => {
      await input?.return?.();
    },
  };
}
