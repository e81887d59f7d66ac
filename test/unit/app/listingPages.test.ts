import {
  decodeListToken,
  MAX_PARTITIONS_PER_PAGE,
  pageAcrossPartitions,
} from '../../../shared/app/tracking/tableTrackingStore';

/** 120 tables with 3 rows each: row keys sort newest first, as the index's do. */
const partitions = Array.from({ length: 120 }, (_, i) => `t|db|table${String(i).padStart(3, '0')}`);
const rowsOf = (p: string) =>
  [0, 1, 2].map((n) => ({
    rowKey: `${String(1000 + n).padStart(13, '0')}-${p.slice(-3)}00000-0000-0000-0000-000000000000`.slice(
      0,
      50,
    ),
    p,
  }));

describe('a listing page reads a bounded number of table partitions', () => {
  it('reads at most 50 partitions a page, and its tokens reach every row once', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const read: string[] = [];
      const page = await pageAcrossPartitions(partitions, token, 100, (p, after, limit) => {
        read.push(p);
        return Promise.resolve(
          rowsOf(p)
            .filter((r) => after === undefined || r.rowKey > after)
            .slice(0, limit),
        );
      });
      expect(read.length).toBeLessThanOrEqual(MAX_PARTITIONS_PER_PAGE);
      seen.push(...page.rows.map((r) => `${r.p}/${r.rowKey}`));
      token = page.continuationToken;
      pages++;
    } while (token && pages < 100);
    expect(token).toBeUndefined();
    expect(seen.length).toBe(360);
    expect(new Set(seen).size).toBe(360);
  });

  it('merges a group newest first and continues inside it before moving on', async () => {
    const first = await pageAcrossPartitions(partitions.slice(0, 3), undefined, 2, (p, after, limit) =>
      Promise.resolve(
        rowsOf(p)
          .filter((r) => after === undefined || r.rowKey > after)
          .slice(0, limit),
      ),
    );
    expect(first.rows.map((r) => r.rowKey.slice(0, 13))).toEqual(['0000000001000', '0000000001000']);
    expect(decodeListToken(first.continuationToken ?? '')).toEqual({ rowKey: first.rows[1]?.rowKey });
  });

  it.each(['nope', '123.', '0000000001000-x.', 'a.b.c'])('knows a token it never gave: %s', (token) => {
    expect(decodeListToken(token)).toBeUndefined();
  });
});
