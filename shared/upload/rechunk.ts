/** Where `rechunk` gets its buffers and, when one is left unused at the end, gives it back. */
export interface BufferSource {
  acquire(): Buffer;
  release?(buffer: Buffer): void;
}

/**
 * Re-cuts a byte stream into buffers of exactly `size` bytes (the last one shorter) taken from `buffers`,
 * one copy per byte. Until the input outgrows `smallInputBytes` its start is held as copies of its chunks,
 * so that a small input (a 1 KB file, an HTTP body) costs its own size and not a whole buffer. Copies
 * throughout, since a source may refill the buffer it yielded once it is asked for more.
 */
export async function* rechunk(
  source: AsyncIterable<Buffer>,
  size: number,
  buffers: BufferSource,
  smallInputBytes: number = size,
): AsyncGenerator<Buffer> {
  const start: Buffer[] = [];
  let startBytes = 0;
  let current: Buffer | undefined;
  let filled = 0;
  for await (const chunk of source) {
    if (current === undefined) {
      if (startBytes + chunk.length < Math.min(size, smallInputBytes)) {
        start.push(Buffer.from(chunk));
        startBytes += chunk.length;
        continue;
      }
      current = buffers.acquire();
      for (const piece of start) filled += piece.copy(current, filled);
      start.length = 0;
    }
    let offset = 0;
    while (offset < chunk.length) {
      const n = Math.min(size - filled, chunk.length - offset);
      chunk.copy(current, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === size) {
        yield current;
        current = buffers.acquire();
        filled = 0;
      }
    }
  }
  if (current === undefined) {
    if (startBytes > 0) yield Buffer.concat(start, startBytes);
  } else if (filled > 0) {
    yield current.subarray(0, filled);
  } else {
    buffers.release?.(current);
  }
}
