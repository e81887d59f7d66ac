import type { CorpusCase } from '../../../dev/standin/kql/corpus';

export * from '../../../dev/standin/kql/corpus';

const key = (row: readonly unknown[]) => JSON.stringify(row);

function normalized(rows: readonly (readonly unknown[])[], ordered: boolean): unknown[][] {
  const copy = rows.map((r) => [...r]);
  return ordered ? copy : copy.sort((a, b) => key(a).localeCompare(key(b)));
}

/** Checks a result against a corpus case: names, types, then rows (as a multiset unless ordered). */
export function expectCorpusResult(
  result: {
    readonly columns: readonly string[];
    readonly types: readonly string[];
    readonly rows: readonly (readonly unknown[])[];
  },
  c: CorpusCase,
): void {
  if (c.columns) expect(result.columns).toEqual(c.columns);
  if (c.types) expect(result.types).toEqual(c.types);
  const actual = normalized(result.rows, c.ordered ?? false);
  const expected = normalized(c.rows, c.ordered ?? false);
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, i) =>
    row.forEach((value, j) => {
      const want = expected[i]?.[j];
      if (typeof value === 'number' && typeof want === 'number') expect(value).toBeCloseTo(want, 9);
      else expect(value).toEqual(want);
    }),
  );
}
