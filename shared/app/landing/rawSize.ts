/** Reads `count` bytes at `offset` of the blob (a ranged GET). */
export type RangeReader = (offset: number, count: number) => Promise<Buffer>;

/**
 * The uncompressed size of a compressed landing blob, from the file's own records, so that the service
 * batches it by what it holds: gzip's trailer (RFC 1952, ISIZE) or zip's central directory (PKWARE
 * APPNOTE 4.3.12-4.3.16, zip64 included). One or two ranged reads; undefined when it cannot be told.
 */
export async function compressedRawSize(
  read: RangeReader,
  path: string,
  size: number,
): Promise<number | undefined> {
  try {
    if (/\.gz$/i.test(path)) return gzipRawSize(await read(Math.max(0, size - 4), 4), size);
    if (/\.zip$/i.test(path)) return await zipRawSize(read, size);
  } catch {
    // A size is a batching hint: a blob that cannot be read here fails (or not) in the service, not for this.
  }
  return undefined;
}

/** Deflate's best case: no input shrinks more than this (RFC 1951: a 258-byte match in about 2 bits). */
const DEFLATE_MAX_RATIO = 1032;
/** For an estimate when ISIZE (the size modulo 4 GiB) is ambiguous: text and logs compress about this much. */
const TYPICAL_RATIO = 8;
const FOUR_GIB = 2 ** 32;

/**
 * ISIZE is the input size modulo 4 GiB (of the last member only). When the compressed size proves the
 * input under 4 GiB it is exact; otherwise the candidates ISIZE + k * 4 GiB are weighed against a typical
 * ratio, and the nearest is the estimate.
 */
export function gzipRawSize(trailer: Buffer, compressedSize: number): number | undefined {
  if (trailer.length !== 4) return undefined;
  const isize = trailer.readUInt32LE(0);
  if (compressedSize * DEFLATE_MAX_RATIO < FOUR_GIB) return isize;
  const target = compressedSize * TYPICAL_RATIO;
  const k = Math.max(0, Math.round((target - isize) / FOUR_GIB));
  return isize + k * FOUR_GIB;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
/** The end record (22 bytes) and the longest comment after it. */
const TAIL = 22 + 0xffff;
/** A central directory larger than this is not read for a size hint. */
const MAX_DIRECTORY = 16 * 1024 * 1024;

async function zipRawSize(read: RangeReader, size: number): Promise<number | undefined> {
  const tailStart = Math.max(0, size - TAIL);
  const tail = await read(tailStart, size - tailStart);
  const end = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end === -1 || tail.readUInt32LE(end) !== EOCD || end + 22 > tail.length) return undefined;
  let entries = tail.readUInt16LE(end + 10);
  let directorySize = tail.readUInt32LE(end + 12);
  let directoryOffset = tail.readUInt32LE(end + 16);
  if (entries === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== ZIP64_LOCATOR) return undefined;
    const recordAt = Number(tail.readBigUInt64LE(locator + 8));
    const record = recordAt >= tailStart ? tail.subarray(recordAt - tailStart) : await read(recordAt, 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) return undefined;
    entries = Number(record.readBigUInt64LE(32));
    directorySize = Number(record.readBigUInt64LE(40));
    directoryOffset = Number(record.readBigUInt64LE(48));
  }
  if (directorySize > MAX_DIRECTORY || directoryOffset + directorySize > size) return undefined;
  const directory =
    directoryOffset >= tailStart
      ? tail.subarray(directoryOffset - tailStart, directoryOffset - tailStart + directorySize)
      : await read(directoryOffset, directorySize);
  return sumUncompressed(directory, entries);
}

/** The uncompressed sizes of a central directory's entries, zip64 extra fields read where a size overflows. */
export function sumUncompressed(directory: Buffer, entries: number): number | undefined {
  let total = 0;
  let at = 0;
  for (let i = 0; i < entries; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_HEADER) return undefined;
    let uncompressed = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    if (uncompressed === 0xffffffff) {
      // The zip64 extra field (id 1) holds the 8-byte uncompressed size first when it overflowed.
      const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
      let e = 0;
      let found: number | undefined;
      while (e + 4 <= extra.length) {
        const id = extra.readUInt16LE(e);
        const length = extra.readUInt16LE(e + 2);
        if (id === 1 && length >= 8) found = Number(extra.readBigUInt64LE(e + 4));
        e += 4 + length;
      }
      if (found === undefined) return undefined;
      uncompressed = found;
    }
    total += uncompressed;
    at += 46 + nameLength + extraLength + commentLength;
  }
  return total;
}
