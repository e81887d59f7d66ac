export interface Prefix {
  /** At most `limit` bytes: the whole input when `complete`. */
  readonly head: Buffer;
  /** Whether the input ended within `limit` bytes. */
  readonly complete: boolean;
  /** The whole input again (head first, then what was not read): read it once. */
  readonly all: () => AsyncGenerator<Buffer>;
}

/**
 * Reads at most `limit` bytes of a stream, to decide by its size without holding more: a chunk that
 * crosses the limit is split, and its tail goes back in front of the rest.
 */
export async function readPrefix(source: AsyncIterable<Buffer>, limit: number): Promise<Prefix> {
  const iterator = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let size = 0;
  let tail: Buffer = Buffer.alloc(0);
  let complete = false;
  for (;;) {
    const next = await iterator.next();
    if (next.done) {
      complete = true;
      break;
    }
    const chunk = next.value;
    if (size + chunk.length > limit) {
      const take = limit - size;
      parts.push(chunk.subarray(0, take));
      size += take;
      tail = chunk.subarray(take);
      break;
    }
    parts.push(chunk);
    size += chunk.length;
  }
  const head = Buffer.concat(parts, size);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (tail.length > 0) yield tail;
    // Once done, an iterator stays done: a complete input yields nothing more here.
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { head, complete, all };
}
