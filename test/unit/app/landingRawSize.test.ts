import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import { compressedRawSize, gzipRawSize, sumUncompressed } from '../../../shared/app/landing/rawSize';
import { LandingFilter } from '../../../shared/app/landing/landingFilter';

/** Reads ranges of a buffer, counting the reads (each would be one ranged GET). */
function reader(data: Buffer) {
  const reads: [number, number][] = [];
  return {
    reads,
    read: (offset: number, count: number) => {
      reads.push([offset, count]);
      return Promise.resolve(data.subarray(offset, offset + count));
    },
  };
}

describe('the raw size of a compressed landing blob', () => {
  it('reads a gzip trailer with one ranged read', async () => {
    const raw = Buffer.from('a,b,c\n'.repeat(10_000));
    const gz = gzipSync(raw);
    const r = reader(gz);
    expect(await compressedRawSize(r.read, 'db/t/f.csv.gz', gz.length)).toBe(raw.length);
    expect(r.reads).toEqual([[gz.length - 4, 4]]);
  });

  it('takes ISIZE as exact only where the compressed size proves the data under 4 GiB, and estimates beyond', () => {
    const trailer = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    expect(gzipRawSize(trailer(1234), 100)).toBe(1234);
    // 1 GiB compressed: ISIZE is modulo 4 GiB; the candidate nearest a typical 8x ratio is taken.
    const gib = 2 ** 30;
    expect(gzipRawSize(trailer(5), gib)).toBe(5 + 2 * 2 ** 32);
    expect(gzipRawSize(trailer(3 * gib), gib)).toBe(3 * gib + 2 ** 32);
    expect(gzipRawSize(Buffer.alloc(2), 10)).toBeUndefined();
  });

  it("sums a zip's central directory, read in two ranged reads", async () => {
    const zip = Buffer.from(
      zipSync({ 'a.csv': Buffer.from('x'.repeat(5000)), 'dir/b.csv': Buffer.from('y'.repeat(700)) }),
    );
    const r = reader(zip);
    expect(await compressedRawSize(r.read, 'db/t/f.csv.zip', zip.length)).toBe(5700);
    expect(r.reads.length).toBeLessThanOrEqual(2);
  });

  it('reads zip64 sizes from the extra field', () => {
    // One central directory entry whose 32-bit size overflowed, with the 64-bit size in extra field 1.
    const name = Buffer.from('big.csv');
    const extra = Buffer.alloc(4 + 16);
    extra.writeUInt16LE(1, 0);
    extra.writeUInt16LE(16, 2);
    extra.writeBigUInt64LE(6n * 2n ** 32n, 4);
    extra.writeBigUInt64LE(2n ** 31n, 12);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt32LE(0xffffffff, 20);
    header.writeUInt32LE(0xffffffff, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt16LE(extra.length, 30);
    expect(sumUncompressed(Buffer.concat([header, name, extra]), 1)).toBe(6 * 2 ** 32);
  });

  it('says nothing rather than something wrong for a file that is not what its name says', async () => {
    const junk = Buffer.from('not a zip at all');
    expect(await compressedRawSize(reader(junk).read, 'db/t/f.zip', junk.length)).toBeUndefined();
    const failing = () => Promise.reject(new Error('403'));
    expect(await compressedRawSize(failing, 'db/t/f.gz', 100)).toBeUndefined();
  });
});

describe('the landing filter', () => {
  it('skips job markers and temporary files by default, anywhere in the path', () => {
    const filter = new LandingFilter();
    for (const path of [
      '_SUCCESS',
      'db/t/_SUCCESS',
      'db/t/part-0.csv.crc',
      'db/t/upload.csv.tmp',
      'db/t/_committed_123',
    ])
      expect([path, filter.skipReason(path)]).toEqual([path, 'matches an exclude glob']);
    expect(filter.skipReason('db/t/part-0.csv')).toBeUndefined();
  });

  it('takes only what an include glob names, and a setting replaces the default excludes', () => {
    const filter = new LandingFilter({ include: ['sales/**/*.csv'], exclude: ['**/draft-*'] });
    expect(filter.skipReason('sales/2024/a.csv')).toBeUndefined();
    expect(filter.skipReason('sales/2024/a.json')).toBe('matches no include glob');
    expect(filter.skipReason('sales/2024/draft-a.csv')).toBe('matches an exclude glob');
    expect(filter.skipReason('sales/_SUCCESS.csv')).toBeUndefined();
  });
});
