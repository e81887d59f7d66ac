import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../../../shared/app/context';
import { factsOf } from '../../../shared/app/sources/kindFacts';
import { policyOf } from '../../../shared/app/sources/registry';
import type { SourceKind, TrackingRecord } from '../../../shared/app/tracking/trackingRecord';
import { silentLogger } from '../../../shared/log';

const KINDS: readonly SourceKind[] = ['http', 'blob', 'landing', 'backfill'];
const root = join(__dirname, '..', '..', '..');

/** A branch on a tracking record's kind: a comparison with a kind, a case of one, or a lookup by it. */
const BRANCH_ON_KIND =
  /\bkind\s*[!=]==?\s*'(?:http|blob|landing|backfill)'|\bcase\s+'(?:http|blob|landing|backfill)'|\w\[\s*\w+\.kind\s*\]/g;

function branchesOutsideSources(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (path !== 'shared/app/sources') walk(path);
      } else if (path.endsWith('.ts')) {
        for (const m of readFileSync(join(root, path), 'utf8').matchAll(BRANCH_ON_KIND))
          found.push(`${path}: ${m[0]}`);
      }
    }
  };
  for (const dir of ['shared', 'functions']) walk(dir);
  return found;
}

describe('one module per kind of source', () => {
  it('nothing outside shared/app/sources/ branches on a tracking record’s kind', () => {
    expect(branchesOutsideSources()).toEqual([]);
  });

  it('would catch a comparison, a case and a lookup by kind (the check is live)', () => {
    const sample = [
      "if (record.kind === 'landing') quarantine();",
      "if (r.kind !== 'blob') requeue();",
      "switch (record.kind) { case 'backfill': break; }",
      'const facts = TABLE[record.kind];',
      "const ok = outcome.kind === 'retried' && { [ATTR.kind]: 1 };", // not a source kind: no match
    ].join('\n');
    expect([...sample.matchAll(BRANCH_ON_KIND)].map((m) => m[0])).toEqual([
      "kind === 'landing'",
      "kind !== 'blob'",
      "case 'backfill'",
      'E[record.kind]',
    ]);
  });

  it.each(KINDS)('%s has one policy and its facts', (kind) => {
    expect(policyOf({ kind }).kind).toBe(kind);
    expect(factsOf({ kind })).toEqual(
      expect.objectContaining({
        dataStaysInPlace: expect.any(Boolean) as unknown,
        requeueable: expect.any(Boolean) as unknown,
      }),
    );
  });
});

describe('what each kind does with its data', () => {
  const ctx = { config: { landingFailedContainer: 'landing-failed' } } as unknown as AppContext;
  const record = (kind: SourceKind) => ({ kind, sourceId: 's', eTag: 'e' }) as unknown as TrackingRecord;
  const failed = { code: 'Stream_WrongNumberOfFields', message: 'bad', rejected: false };

  it('quarantines a landing blob only when it failed for good, and says so', () => {
    const forGood = policyOf(record('landing')).whenFailed(ctx, record('landing'), {
      ...failed,
      permanent: true,
    });
    expect(forGood).toMatchObject({ action: 'quarantined to landing-failed', quarantines: true });
    expect(forGood.act).toEqual(expect.any(Function));
    expect(
      policyOf(record('landing')).whenFailed(ctx, record('landing'), { ...failed, permanent: false }),
    ).toEqual({ action: 'reported', quarantines: false });
  });

  it('leaves a backfilled blob where it is, and every other kind’s data alone', () => {
    expect(
      policyOf(record('backfill')).whenFailed(ctx, record('backfill'), {
        ...failed,
        rejected: true,
        permanent: true,
      }),
    ).toEqual({
      action: 'reported; the blob is left where it is (not the landing container)',
      quarantines: false,
    });
    for (const kind of ['http', 'blob', 'backfill'] as const) {
      const handling = policyOf(record(kind)).whenFailed(ctx, record(kind), { ...failed, permanent: true });
      expect([kind, handling.quarantines, handling.act]).toEqual([kind, false, undefined]);
    }
  });

  it('acts on success only for a landing blob (LANDING_ON_SUCCESS)', () => {
    expect(KINDS.filter((k) => policyOf(record(k)).whenIngested(ctx, record(k)) !== undefined)).toEqual([
      'landing',
    ]);
  });

  it('cannot queue a blob reference again: no enqueue, no retry, no redrive', async () => {
    const ref = record('blob');
    const policy = policyOf(ref);
    expect(policy.enqueueStored(ctx, ref)).toBeUndefined();
    expect(await policy.retry(ctx, silentLogger, ref)).toMatchObject({
      kind: 'notRetryable',
      code: 'NotRetryable',
    });
    expect(await policy.redrive(ctx, silentLogger, ref)).toMatchObject({ outcome: 'not stored' });
    expect(factsOf(ref).requeueable).toBe(false);
  });
});
