import { gunzipSync } from 'node:zlib';
import { gzipBuffer } from '../../../shared/upload/compression';
import { entityJson } from '../../../shared/upload/storageRest';

describe('gzipBuffer', () => {
  // Small inputs use a window sized to them; every size must still round-trip through a standard gunzip.
  it.each([1, 2, 511, 512, 1023, 1024, 1025, 40_000, 65_536, 65_537, 300_000])(
    'round-trips %i bytes',
    async (n) => {
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = (i * 7919 + (i >> 5)) % 251;
      const gz = await gzipBuffer(data, 3);
      expect(gz[0]).toBe(0x1f);
      expect(gz[1]).toBe(0x8b);
      expect(gunzipSync(gz).equals(data)).toBe(true);
    },
  );
});

describe('entityJson', () => {
  it('types dates and non-int32 numbers, and leaves strings, booleans and int32 alone', () => {
    const json = JSON.parse(
      entityJson({ S: 'x', B: false, I: 7, D: 1.5, Big: 2 ** 40, T: new Date('2026-01-02T03:04:05.000Z') }),
    ) as Record<string, unknown>;
    expect(json).toEqual({
      S: 'x',
      B: false,
      I: 7,
      D: 1.5,
      'D@odata.type': 'Edm.Double',
      Big: 2 ** 40,
      'Big@odata.type': 'Edm.Double',
      T: '2026-01-02T03:04:05.000Z',
      'T@odata.type': 'Edm.DateTime',
    });
  });
});
