import { promisify } from 'node:util';
import { constants as zlibConstants, gzip, gzipSync } from 'node:zlib';

export type Compression = 'gzip' | 'zip' | 'none';

/** What the first bytes say the input already is: a gzip member, a zip archive, or anything else. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)
    return 'zip';
  return 'none';
}

/** Normalizes what callers hand us (Readable, web ReadableStream, generators of strings or bytes). */
export async function* toBuffers(source: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (Buffer.isBuffer(chunk)) yield chunk;
    else if (chunk instanceof Uint8Array) yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
    else throw new TypeError(`stream chunks must be bytes or strings, got ${typeof chunk}`);
  }
}

/** Counts the bytes flowing through, for the exact RawDataSize. */
export class ByteCounter {
  bytes = 0;

  async *count(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.bytes += chunk.length;
      yield chunk;
    }
  }
}

/** Puts back a chunk that was read ahead (to sniff it) in front of the rest. */
export async function* prepend(first: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  let finished = false;
  try {
    yield first;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
    finished = true;
  } finally {
    if (!finished) await rest.return?.();
  }
}

const gzipAsync = promisify(gzip);

// Below this, handing the work to the thread pool costs more than compressing (tens of microseconds).
const SYNC_GZIP_BYTES = 64 * 1024;

/**
 * zlib's window and hash memory sized to an input that is all there is (at least `minBits`): the same
 * output as the full 32 KiB window, for a fraction of its set-up cost.
 */
export function fittedWindow(length: number, minBits: number): { windowBits: number; memLevel: number } {
  const windowBits = Math.min(15, Math.max(minBits, Math.ceil(Math.log2(length + 1))));
  return { windowBits, memLevel: Math.min(8, windowBits - 7) };
}

/** Gzips an input of bounded size in one call: tiny ones on the spot, the rest on libuv's thread pool. */
export function gzipBuffer(data: Buffer, level: number): Promise<Buffer> {
  if (data.length > SYNC_GZIP_BYTES)
    return gzipAsync(data, { level, memLevel: zlibConstants.Z_DEFAULT_MEMLEVEL });
  return Promise.resolve(gzipSync(data, { level, ...fittedWindow(data.length, 10) }));
}

/** One buffer as a byte stream. */
// eslint-disable-next-line @typescript-eslint/require-await -- an async generator by contract, with nothing to wait for
export async function* single(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}
