import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw } from 'node:zlib';
import { fittedWindow } from './compression';
import { rechunk } from './rechunk';

const deflateRawAsync = promisify(deflateRaw);

export interface ParallelGzipOptions {
  /** zlib level, 1-9. */
  readonly level: number;
  /** Input bytes compressed as one piece. @default 2 MiB (1 MiB pieces pay for a deflate set-up per MiB: bench scenario 3) */
  readonly blockSizeInBytes?: number;
  /**
   * Pieces compressed at once, on libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise).
   * @default min(4, twice the cores): the main thread's share (copies, CRC) leaves a core idle at 1 per core
   */
  readonly concurrency?: number;
}

export const DEFAULT_GZIP_BLOCK = 2 * 1024 * 1024;
const WINDOW = 32 * 1024;
// gzip member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown (RFC 1952).
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
// An empty final block with fixed codes: ends the deflate stream after blocks that were only sync-flushed.
const LAST_BLOCK = Buffer.from([0x03, 0x00]);

export function defaultGzipConcurrency(): number {
  return Math.min(4, 2 * availableParallelism());
}

/** zlib settings fitted to an input that is all there is (no dictionary): its set-up costs what it needs. */
function fitted(length: number): { windowBits: number; memLevel: number; chunkSize: number } {
  // Deflate output rarely exceeds its input; if it does, zlib takes another chunk.
  return { ...fittedWindow(length, 9), chunkSize: Math.max(1024, length + 1024) };
}

/**
 * Gzip on every core, as pigz does: the input is cut into pieces that are deflated at the same time, each
 * primed with the 32 KiB before it (so the ratio stays that of one stream) and ended with a sync flush;
 * the pieces, an empty final block and the trailer (CRC-32 and size of the whole input) make one standard
 * single-member gzip stream that any gunzip reads. At most `concurrency` pieces and their output are held.
 */
export async function* parallelGzip(
  source: AsyncIterable<Buffer>,
  options: ParallelGzipOptions,
): AsyncGenerator<Buffer> {
  const concurrency = options.concurrency ?? defaultGzipConcurrency();
  const size = options.blockSizeInBytes ?? DEFAULT_GZIP_BLOCK;
  const inFlight: { piece: Buffer; deflated: Promise<Buffer> }[] = [];
  const pool: Buffer[] = [];
  let crc = 0;
  let total = 0;
  let previous: Buffer | undefined;
  const next = async (): Promise<Buffer> => {
    const { piece, deflated } = inFlight.shift() as (typeof inFlight)[number];
    const out = await deflated;
    // The latest piece is the next one's dictionary: it goes back to the pool when it is replaced.
    if (piece.length === size && piece !== previous) pool.push(piece);
    return out;
  };
  yield HEADER;
  // Piece buffers are recycled: a fresh one per piece would leave gigabytes to the garbage collector, which
  // frees external memory late and in large steps.
  const buffers = { acquire: () => pool.pop() ?? Buffer.allocUnsafe(size) };
  for await (const piece of rechunk(source, size, buffers)) {
    crc = crc32(piece, crc);
    total += piece.length;
    const deflated = deflateRawAsync(piece, {
      level: options.level,
      finishFlush: constants.Z_SYNC_FLUSH,
      // zlib's 16 KiB default costs a thread pool round trip per 16 KiB of output.
      ...(previous || piece.length === size ? { chunkSize: 256 * 1024 } : fitted(piece.length)),
      // zlib copies the dictionary when the stream is set up, so a view of the previous piece will do.
      ...(previous && { dictionary: previous.subarray(Math.max(0, previous.length - WINDOW)) }),
    });
    deflated.catch(() => undefined); // awaited in order below; a failure must not go unhandled meanwhile
    inFlight.push({ piece, deflated });
    const replaced = previous;
    previous = piece;
    if (replaced?.length === size && !inFlight.some((e) => e.piece === replaced)) pool.push(replaced);
    while (inFlight.length >= concurrency) yield await next();
  }
  while (inFlight.length > 0) yield await next();
  const trailer = Buffer.allocUnsafe(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  yield Buffer.concat([LAST_BLOCK, trailer]);
}
