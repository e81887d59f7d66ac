/**
 * Scenario 13: ingest v2 against v1, small files, in one run on one stack (the stand-in serves both, its
 * worker paused; what it keeps of a v2 submission is one internal message, as a v1 client puts one per
 * file). 1,000 files of 1 KB, 50 in flight: files/s, requests per item, Azurite's and the client's CPU per
 * file, and status reads per 1,000 items when every item's status is read once.
 */
import { alternate, median, perRunRatio, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import { smallCsvFiles } from './smallFiles';
import type { Scenario } from './types';
import { rmSync } from 'node:fs';

export const ingestV2: Scenario = {
  name: 'v2',
  title: '13. Ingest v2 (REST submissions) against v1: 1,000 x 1 KB, 50 in flight, every status read once',
  async run(ctx) {
    const files = 1000;
    return withPausedStack(undefined, async (stack) => {
      const dir = smallCsvFiles(files, 1024);
      try {
        const base = { ...stack.env, BENCH_DIR: dir, BENCH_CONCURRENCY: '50' };
        const samples = await alternate(
          ctx.runs,
          [
            freshVariant(
              stack,
              'v2',
              'smallFilesOurs',
              { ...base, BENCH_PROTOCOL: 'v2', BENCH_READ_STATUS: 'yes' },
              ctx.log,
            ),
            freshVariant(stack, 'v1', 'smallFilesOurs', { ...base, BENCH_PROTOCOL: 'v1' }, ctx.log),
            freshVariant(
              stack,
              'v1 tracked',
              'smallFilesOurs',
              { ...base, BENCH_PROTOCOL: 'v1', BENCH_STATUS: 'table', BENCH_READ_STATUS: 'yes' },
              ctx.log,
            ),
            freshVariant(stack, 'ceiling', 'smallFilesCeiling', { ...base, BENCH_STATUS: 'queue' }, ctx.log),
          ],
          ctx.log,
        );
        const m = (name: string, metric: string) => median(samples[name]?.[metric] ?? []);
        const v2 = m('v2', 'filesPerSec');
        const ceiling = m('ceiling', 'filesPerSec');
        const reads = m('v2', 'statusReadsPer1000');
        const readsV1 = m('v1 tracked', 'statusReadsPer1000');
        // Azurite's CPU per file: where it is the bottleneck (one process, on the cores the clients and the
        // stand-in share), files/s can gain over the ceiling at most what it saves per file.
        const storageMs = (name: string) => (m(name, 'azuriteCpuS') * 1000) / files;
        const storageBusy = (name: string) =>
          `${Math.round((100 * m(name, 'azuriteCpuS') * m(name, 'filesPerSec')) / files)}%`;
        const rows: Row[] = [
          {
            scenario: 'ingest v2',
            metric: 'files/s',
            ours: v2,
            ceiling,
            target: '>= 150% of the v1 ceiling',
            met: v2 >= 1.5 * ceiling,
            note: `${perRunRatio(samples.v2?.filesPerSec ?? [], samples.ceiling?.filesPerSec ?? [])}; v1 (ours) ${m('v1', 'filesPerSec').toFixed(0)} files/s, v1 with a status row per file ${m('v1 tracked', 'filesPerSec').toFixed(0)} files/s`,
          },
          {
            scenario: 'ingest v2',
            metric: 'requests per item',
            ours: m('v2', 'requestsPerItem'),
            note: `v1 (ours) ${m('v1', 'requestsPerItem').toFixed(2)}, v1 with status rows ${m('v1 tracked', 'requestsPerItem').toFixed(2)}`,
          },
          {
            scenario: 'ingest v2',
            metric: 'Azurite CPU ms per file',
            ours: storageMs('v2'),
            ceiling: storageMs('ceiling'),
            note: `the ceiling's per file over v2's: ${(storageMs('ceiling') / storageMs('v2')).toFixed(2)}x, the most v2's files/s can gain while Azurite is the bottleneck; Azurite busy (its CPU over the timed seconds, warm-up included) v2 ${storageBusy('v2')}, ceiling ${storageBusy('ceiling')}; v1 (ours) ${storageMs('v1').toFixed(2)} ms`,
          },
          {
            // What bounds files/s where storage is not on the client's cores (a real account): the client's own.
            scenario: 'ingest v2',
            metric: 'client CPU ms per file (timed work)',
            ours: (m('v2', 'workCpuS') * 1000) / files,
            ceiling: (m('ceiling', 'workCpuS') * 1000) / files,
            note: `the ceiling's per file over v2's: ${(m('ceiling', 'workCpuS') / m('v2', 'workCpuS')).toFixed(2)}x; v1 (ours) ${((m('v1', 'workCpuS') * 1000) / files).toFixed(2)} ms, v1 with status rows ${((m('v1 tracked', 'workCpuS') * 1000) / files).toFixed(2)} ms`,
          },
          {
            scenario: 'ingest v2',
            metric: 'status reads per 1,000 items',
            ours: reads,
            target: '<= 10% of v1 with status rows',
            met: reads <= 0.1 * readsV1,
            note: `v1 with status rows: ${readsV1.toFixed(0)}`,
          },
        ];
        return rows;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
};
