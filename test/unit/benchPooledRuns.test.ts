import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairedRatios, parsePoolArgs, parseRunLog, summarizeRatios } from '../../bench/pooledRuns';

const LOG = `machine: 2 x AMD EPYC, 24 GiB, Node 20.20.2; 2 runs per variant, alternating

13. Ingest v2 (REST submissions) against v1: 1,000 x 1 KB, 50 in flight, every status read once
  v2 warm-up (not counted): filesPerSec=999 seconds=1.00 azuriteCpuS=1.00
  ceiling warm-up (not counted): filesPerSec=1 seconds=9.00 azuriteCpuS=9.00
  v2 run 1: filesPerSec=450 seconds=2.22 requestsPerItem=1.07 azuriteCpuS=2.00
  v1 tracked run 1: filesPerSec=226 seconds=4.42 azuriteCpuS=5.44
  ceiling run 1: filesPerSec=300 seconds=3.33 azuriteCpuS=3.00
  v2 run 2: filesPerSec=400 seconds=2.50 azuriteCpuS=2.50
  ceiling run 2: filesPerSec=200 seconds=5.00 azuriteCpuS=4.00
  v2 run 3: filesPerSec=500 seconds=2.00
  (137 s)
`;

describe('bench pooledRuns: one ratio over saved logs', () => {
  it('reads counted runs only, by variant and run number, variant names with spaces included', () => {
    const log = parseRunLog(LOG);
    expect([...log.keys()].sort()).toEqual(['ceiling', 'v1 tracked', 'v2']);
    expect(log.get('v2')?.get(1)).toEqual({
      filesPerSec: 450,
      seconds: 2.22,
      requestsPerItem: 1.07,
      azuriteCpuS: 2,
    });
    expect(log.get('v1 tracked')?.get(1)?.filesPerSec).toBe(226);
    // Warm-ups are not runs: their 999 and 1 never count.
    expect([...(log.get('v2')?.keys() ?? [])]).toEqual([1, 2, 3]);
  });

  it('pairs run i with run i, skips a run the other variant lacks, and summarizes against a target', () => {
    const r = pairedRatios(parseRunLog(LOG), 'v2', 'ceiling', 'filesPerSec');
    expect(r.perRun).toEqual([1.5, 2]);
    expect(summarizeRatios(r, 1.6)).toBe(
      '2 runs, per run median 1.75x (1.50-2.00), ratio of the medians 1.70x, 1 of 2 at 1.6x or more',
    );
    // The storage bound is the other way round: the base's CPU per file over ours.
    const bound = pairedRatios(parseRunLog(LOG), 'ceiling', 'v2', 'azuriteCpuS');
    expect(bound.perRun).toEqual([1.5, 1.6]);
    expect(summarizeRatios(pairedRatios(parseRunLog(LOG), 'v2', 'absent', 'filesPerSec'))).toBe(
      'no paired runs',
    );
  });

  it('reads the saved scenario 13 logs as the harness wrote them', () => {
    const saved = readFileSync(
      join(__dirname, '..', '..', 'bench', 'results', '2026-12-07-ingest-v2-j.txt'),
      'utf8',
    );
    const r = pairedRatios(parseRunLog(saved), 'v2', 'ceiling', 'filesPerSec');
    expect(r.perRun).toHaveLength(10);
    // The harness's own note for that log says the per-run median is 1.47.
    expect(saved).toContain('ours/ceiling per run: median 1.47');
    expect(summarizeRatios(r)).toMatch(/^10 runs, per run median 1\.47x/);
  });
});

describe('bench pooledRuns: its command line', () => {
  it('takes defaults, options in any place, and the files that are left', () => {
    expect(parsePoolArgs(['a.txt'])).toEqual({
      ours: 'v2',
      base: 'ceiling',
      metric: 'filesPerSec',
      target: undefined,
      files: ['a.txt'],
    });
    expect(parsePoolArgs(['a.txt', '--target', '1.5', 'b.txt', '--ours', 'ceiling'])).toMatchObject({
      ours: 'ceiling',
      target: 1.5,
      files: ['a.txt', 'b.txt'],
    });
  });

  it('refuses a missing value, a target that is not a positive ratio, an unknown option and no file', () => {
    expect(() => parsePoolArgs(['a.txt', '--metric'])).toThrow('--metric needs a value');
    expect(() => parsePoolArgs(['--ours', '--base', 'x', 'a.txt'])).toThrow('--ours needs a value');
    expect(() => parsePoolArgs(['a.txt', '--target', 'abc'])).toThrow("not 'abc'");
    expect(() => parsePoolArgs(['a.txt', '--target', '-1'])).toThrow('positive ratio');
    expect(() => parsePoolArgs(['a.txt', '--runs', '3'])).toThrow('unknown option --runs');
    expect(() => parsePoolArgs(['--target', '1.5'])).toThrow('name the saved logs');
  });
});
