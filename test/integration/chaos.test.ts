/**
 * The fault campaign, small and bounded (`npm run chaos` is the full size): pushes with and without a key,
 * blob references, landing blobs and a backfill job, while the stand-in fails ingestions and throttles, a
 * proxy fails storage calls (answers of Put Message lost too), Azurite restarts and the host is killed (and
 * restarts into an outage of the ingestion service longer than the queue's tries); an
 * operator retries the failures of a table that came late; then the audit. Two seeds, so that a regression
 * that depends on the schedule is more likely to show. It runs the compiled campaign in a process of its
 * own, as `npm run chaos` does.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

it.each([11, 12])(
  'loses nothing and ingests nothing twice under faults, a storage restart and a host kill (seed %i)',
  async (seed) => {
    const child = spawn(
      process.execPath,
      [
        join(root, 'dist', 'dev', 'chaos', 'chaosMain.js'),
        '--items',
        '240',
        '--seed',
        String(seed),
        '--concurrency',
        '12',
        // CHAOS_TRACE_DIR keeps each seed's trace (the storage, stand-in and host lines) for a failure's study.
        ...(process.env.CHAOS_TRACE_DIR
          ? ['--trace', join(process.env.CHAOS_TRACE_DIR, `chaos-${seed}.log`)]
          : []),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const summary = out.split('\n').filter((l) => /^(items|lost|disruptions|PASSED|FAILED| {2}!)/.test(l));
    expect([code, summary.join('\n')]).toEqual([0, expect.stringContaining('PASSED') as unknown]);
    expect(out).toMatch(/lost 0, duplicated 0, refused but left behind 0, unanswered but both 0/);
    expect(out).toMatch(/Azurite restarts 1, host kills 1/);
    // The outage after the host kill outlasted the queue's tries: landing events were put back (and none of
    // them lost: a parked one is only ever a copy, its item ingested or reported above).
    expect(out).toMatch(/landing events put back for later: [1-9]\d*,/);
    // Every kind of item was part of it.
    for (const kind of ['keyed push', 'push', 'landing', 'blob ref', 'backfill'])
      expect([kind, new RegExp(`^ {2}${kind}: `, 'm').test(out)]).toEqual([kind, true]);
  },
  900_000,
);
