import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listsTheSameBlobs } from '../../../shared/app/backfill/overlap';
import type { JobRecord } from '../../../shared/app/backfill/backfillStore';

const root = join(__dirname, '..', '..', '..');

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );
}

describe('who reads what', () => {
  it('nothing outside the lifecycle reads its store: the operator API reads through operator/sourceQueries.ts', () => {
    const readers = [...filesUnder('shared'), ...filesUnder('functions')]
      .filter((f) => !f.startsWith('shared/app/tracking/'))
      .filter((f) => /\btracking\.store\b/.test(readFileSync(join(root, f), 'utf8')));
    expect(readers).toEqual([]);
  });
});

describe('overlapping backfill jobs (backfill/overlap.ts)', () => {
  const job = (over: Partial<JobRecord> & { container?: string; prefix?: string } = {}): JobRecord =>
    ({
      jobId: 'j',
      state: 'running',
      listingDone: false,
      createdOn: new Date(0),
      ...over,
      options: { container: over.container ?? 'archive', prefix: over.prefix ?? '2024/' },
    }) as unknown as JobRecord;

  it.each([
    ['the same container and prefix', job(), { container: 'archive', prefix: '2024/' }, true],
    ['a prefix inside the running one', job(), { container: 'archive', prefix: '2024/05/' }, true],
    ['a prefix around the running one', job(), { container: 'archive', prefix: '' }, true],
    ['another prefix', job(), { container: 'archive', prefix: '2023/' }, false],
    ['another container', job(), { container: 'other', prefix: '2024/' }, false],
    ['a job done listing', job({ listingDone: true }), { container: 'archive', prefix: '2024/' }, false],
    ['a cancelled job', job({ state: 'cancelled' }), { container: 'archive', prefix: '2024/' }, false],
  ])('%s: %s', (_name, running, options, expected) => {
    expect(listsTheSameBlobs(running, options)).toBe(expected);
  });
});
