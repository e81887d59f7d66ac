import { close, createReadStream, fstat, open as openCallback, read } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { IngestValidationError } from '../errors';
import { toBuffers } from '../upload/compression';

/** Anything that yields bytes or strings: a Node Readable, a web ReadableStream, a generator. */
export type IngestSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** The input of one ingestion, as the upload reads it: a file, a caller's stream, or records. */
export interface DataSource {
  /** A fresh iteration of the input (files can give several; streams one). */
  readonly open: () => AsyncIterable<Buffer>;
  readonly replayable: boolean;
  /** Blob name stem: the file's name, 'stream' or 'records'. */
  readonly name: string;
  /** Known size of the input in bytes (files). */
  readonly size?: number;
  /** RawDataSize for input that is already compressed, when it can be known without reading it all. */
  readonly precompressedRawSize?: () => Promise<number | undefined>;
  /** Small files: read in one call and compressed in one call, with no stream machinery per file. */
  readonly whole?: () => Promise<Buffer>;
}

// Files up to this size are read whole: streams cost more CPU than the data for small files (bench scenario 1).
const WHOLE_FILE_BYTES = 256 * 1024;

/** A local file: replayable (read again on the next container after a failure), small ones read whole. */
export async function fileSource(path: string): Promise<DataSource> {
  let size: number;
  let contents: Buffer | undefined;
  try {
    ({ size, contents } = await statAndReadSmall(path, WHOLE_FILE_BYTES));
  } catch (cause) {
    throw new IngestValidationError(
      `Cannot read file '${path}': ${(cause as Error).message}.`,
      'InvalidProperty',
      { cause },
    );
  }
  if (size === 0)
    throw new IngestValidationError(`File '${path}' is empty: there is nothing to ingest.`, 'EmptyInput');
  return {
    name: basename(path),
    replayable: true,
    size,
    // A read stream allocates a full highWaterMark per read, whatever the file's size.
    open: () => createReadStream(path, { highWaterMark: Math.min(1024 * 1024, Math.max(64 * 1024, size)) }),
    precompressedRawSize: () => gzipTrailerSize(path, size),
    ...(contents && { whole: () => Promise.resolve(contents) }),
  };
}

/**
 * One open for both the size and, for a file up to `limit` bytes, its contents: file system calls dominate
 * small files. Callbacks, not a FileHandle: the promise API's handle bookkeeping cost more CPU per 1 KB
 * file than the four system calls themselves (bench/README.md, Profiles).
 */
function statAndReadSmall(path: string, limit: number): Promise<{ size: number; contents?: Buffer }> {
  return new Promise((resolve, reject) => {
    openCallback(path, 'r', (openError, fd) => {
      if (openError) return reject(openError);
      const done = (error: Error | null, result?: { size: number; contents?: Buffer }): void =>
        close(fd, (closeError) => {
          const failure = error ?? closeError;
          if (failure) reject(failure);
          else resolve(result as { size: number; contents?: Buffer });
        });
      fstat(fd, (statError, info) => {
        if (statError) return done(statError);
        if (!info.isFile()) return done(new Error('not a regular file'));
        const size = info.size;
        if (size === 0 || size > limit) return done(null, { size });
        const contents = Buffer.allocUnsafe(size);
        read(fd, contents, 0, size, 0, (readError, bytesRead) => {
          if (readError) done(readError);
          else done(null, { size, contents: contents.subarray(0, bytesRead) });
        });
      });
    });
  });
}

/**
 * How much a caller's Node stream is asked for per read. A Readable reads its source in pieces of its
 * high-water mark: `fs.createReadStream`'s default of 64 KiB costs 1.8 s of CPU per GB, most of it in the
 * kernel, against 0.4 s in 1 MiB pieces (bench/README.md, scenario 3), on the cores the gzip needs.
 */
export const STREAM_READ_BYTES = 1024 * 1024;

/**
 * A byte stream read in larger pieces: a `read(size)` beyond its high-water mark raises the mark (Node's
 * Readable does, test/unit/ingest/streamSource.test.ts checks it), so its source is read `STREAM_READ_BYTES`
 * at a time from then on. Whatever that first call returns comes first. Streams of objects, streams already
 * flowing, and every other kind of input are read as they are.
 */
function inLargeReads(source: IngestSource): IngestSource {
  if (
    !(source instanceof Readable) ||
    source.readableObjectMode ||
    source.readableFlowing === true ||
    source.readableHighWaterMark >= STREAM_READ_BYTES
  )
    return source;
  return (async function* () {
    const first = source.read(STREAM_READ_BYTES) as Buffer | string | null;
    if (first !== null) yield first;
    yield* source;
  })();
}

/** A caller's stream: read once, never replayed. */
export function streamSource(source: IngestSource, format: string): DataSource {
  const given: unknown = source;
  if (
    typeof given !== 'object' ||
    given === null ||
    !(Symbol.asyncIterator in given || Symbol.iterator in given)
  ) {
    throw new IngestValidationError(
      'ingestFromStream needs a readable stream or an (async) iterable of bytes.',
      'InvalidProperty',
    );
  }
  let used = false;
  return {
    name: `stream.${format}`,
    replayable: false,
    open: () => {
      if (used) throw new Error('a stream can be read only once');
      used = true;
      return toBuffers(inLargeReads(source));
    },
  };
}

/** Plain objects written as JSON lines, once. */
export function recordsSource(records: AsyncIterable<unknown> | Iterable<unknown>): DataSource {
  return { name: 'records.json', replayable: false, open: () => jsonLines(records) };
}

/**
 * RawDataSize of a local .gz file from its trailer (ISIZE: the last member's size mod 2^32). Trusted only
 * when the file is under 100 MiB and the value exceeds the file size; otherwise unknown (docs/contracts.md, 'Splitting').
 */
async function gzipTrailerSize(path: string, size: number): Promise<number | undefined> {
  if (size < 18 || size >= 100 * 1024 * 1024) return undefined;
  const handle = await open(path, 'r');
  try {
    const trailer = Buffer.alloc(4);
    await handle.read(trailer, 0, 4, size - 4);
    const isize = trailer.readUInt32LE(0);
    return isize > size ? isize : undefined;
  } finally {
    await handle.close();
  }
}

async function* jsonLines(records: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<Buffer> {
  let batch = '';
  let index = 0;
  for await (const record of records) {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new IngestValidationError(
        `Record ${index} is not a plain object: each record becomes one JSON line.`,
        'InvalidProperty',
      );
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch (cause) {
      throw new IngestValidationError(
        `Record ${index} cannot be written as JSON: ${(cause as Error).message}.`,
        'InvalidProperty',
        { cause },
      );
    }
    batch += `${line}\n`;
    index++;
    if (batch.length >= 64 * 1024) {
      yield Buffer.from(batch, 'utf8');
      batch = '';
    }
  }
  if (batch.length > 0) yield Buffer.from(batch, 'utf8');
}
