/**
 * Scenario 10: a backfill's listing and queueing. Alternating: the job's page tasks through the local
 * host's queue trigger (ours) over BENCH_BACKFILL_BLOBS (default 100,000) blobs, the raw requests they
 * need (List Blobs pages, one table read and one message per blob) over as many, and ours over a tenth as
 * many, whose peak RSS shows whether memory grows with the number of blobs. Every run starts on a fresh
 * Azurite with its blobs written again (untimed): Azurite removes messages in time quadratic in the
 * number it holds, so emptying 100,000 of them between runs stalled the next for many minutes.
 */
import { median, perRunRatio, round, runChild, type Metrics, type Row } from '../harness';
import { freshStorage } from '../storageReset';
import { afterStorageStalls, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

export const backfill: Scenario = {
  name: 'backfill',
  title: '10. Backfill: listing and queueing through the page tasks, against the raw requests',
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const blobs = Number(process.env.BENCH_BACKFILL_BLOBS ?? '100000');
      const env = { ...stack.env, ...stack.appEnv };
      const variants = [
        { name: 'ours', child: 'backfillPages', prefix: 'bf/', count: blobs, dirs: 10 },
        { name: 'ceiling', child: 'backfillCeiling', prefix: 'bf/', count: blobs, dirs: 10 },
        { name: 'ours, a tenth', child: 'backfillPages', prefix: 'bf/0/', count: blobs / 10, dirs: 1 },
      ];
      const samples: Record<string, Metrics[]> = {};
      for (let run = 0; run < ctx.runs; run++)
        for (const v of variants) {
          await freshStorage(stack);
          await runChild('backfillSetup', {
            ...env,
            BENCH_BLOBS: String(v.count),
            BENCH_DIRS: String(v.dirs),
          });
          await afterStorageStalls(stack, ctx.log);
          const m = await runChild(v.child, { ...env, BENCH_PREFIX: v.prefix, BENCH_BLOBS: String(v.count) });
          (samples[v.name] ??= []).push(m);
          ctx.log(
            `  ${v.name} run ${run + 1}: ${round(m.blobsPerSec ?? NaN)} blobs/s, peak RSS ${round(m.peakRssMb ?? NaN)} MB` +
              (m.heapAfterGcMb === undefined ? '' : `, heap after GC ${round(m.heapAfterGcMb)} MB`),
          );
        }
      const m = (name: string, k: string) => median((samples[name] ?? []).map((s) => s[k] ?? NaN));
      const ours = m('ours', 'blobsPerSec');
      const ceiling = m('ceiling', 'blobsPerSec');
      const rss = m('ours', 'peakRssMb');
      const rssTenth = m('ours, a tenth', 'peakRssMb');
      const rows: Row[] = [
        {
          scenario: 'backfill',
          metric: `blobs/s listed and queued (${blobs})`,
          ours,
          ceiling,
          target: '>= 80% of ceiling',
          note: perRunRatio(
            (samples.ours ?? []).map((s) => s.blobsPerSec ?? NaN),
            (samples.ceiling ?? []).map((s) => s.blobsPerSec ?? NaN),
          ),
          met: ours / ceiling >= 0.8,
        },
        {
          scenario: 'backfill',
          metric: `peak RSS MB, ${blobs} / ${blobs / 10} blobs`,
          ours: rss,
          note: `${round(rss)} / ${round(rssTenth)}`,
          target: 'flat: <= 1.2x for 10x the blobs',
          met: rss / rssTenth <= 1.2,
        },
        {
          // What the page tasks hold once all is done, garbage collected: peak RSS above also counts
          // garbage not yet collected and heap V8 keeps, which grow with the run's length.
          scenario: 'backfill',
          metric: `heap in use after GC MB, ${blobs} / ${blobs / 10} blobs`,
          ours: m('ours', 'heapAfterGcMb'),
          note: `${round(m('ours', 'heapAfterGcMb'))} / ${round(m('ours, a tenth', 'heapAfterGcMb'))}`,
        },
      ];
      return rows;
    }),
};
