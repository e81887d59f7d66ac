/**
 * Scenario 10: a backfill's listing and queueing. Alternating: the job's page tasks through the local
 * host's queue trigger (ours) over BENCH_BACKFILL_BLOBS (default 100,000) blobs, the raw requests they
 * need (List Blobs pages, one table read and one message per blob) over as many, and ours over a tenth as
 * many, whose live heap peak shows whether memory grows with the number of blobs. Every run starts on a fresh
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
      // BENCH_BACKFILL_VARIANTS=ceiling (names joined by '+') runs some variants only: to compare one
      // across Azurite builds (KIF_AZURITE_STOCK=1) without the others' quarter of an hour.
      const only = process.env.BENCH_BACKFILL_VARIANTS?.split('+').map((n) => n.trim());
      const env = { ...stack.env, ...stack.appEnv };
      const variants = [
        { name: 'ours', child: 'backfillPages', prefix: 'bf/', count: blobs, dirs: 10 },
        { name: 'ceiling', child: 'backfillCeiling', prefix: 'bf/', count: blobs, dirs: 10 },
        { name: 'ours, a tenth', child: 'backfillPages', prefix: 'bf/0/', count: blobs / 10, dirs: 1 },
      ].filter((v) => only === undefined || only.includes(v.name));
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
              (m.liveHeapPeakMb === undefined
                ? ''
                : `, live heap peak ${round(m.liveHeapPeakMb)} MB (${m.fullGcs ?? 0} full GCs), heap reserved peak ` +
                  `${round(m.heapTotalPeakMb ?? NaN)} MB, external peak ${round(m.externalPeakMb ?? NaN)} MB, ` +
                  `heap after GC at the end ${round(m.heapAfterGcMb ?? NaN)} MB`),
          );
        }
      const m = (name: string, k: string) => median((samples[name] ?? []).map((s) => s[k] ?? NaN));
      const ours = m('ours', 'blobsPerSec');
      const ceiling = m('ceiling', 'blobsPerSec');
      // Memory the page tasks hold is the live heap: its peak just after a full collection. Peak RSS also
      // counts garbage not yet collected in the heap V8 reserves between full collections, which depends on
      // its heuristics and the run's pace, not on what the code holds (bench/README.md, scenario 10).
      const tenth = 'ours, a tenth';
      const pair = (k: string) => `${round(m('ours', k))} / ${round(m(tenth, k))}`;
      const live = m('ours', 'liveHeapPeakMb');
      const liveTenth = m(tenth, 'liveHeapPeakMb');
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
          metric: `live heap peak MB, ${blobs} / ${blobs / 10} blobs`,
          ours: live,
          note: pair('liveHeapPeakMb'),
          target: 'flat: <= 1.2x for 10x the blobs',
          met: live / liveTenth <= 1.2,
        },
        {
          scenario: 'backfill',
          metric: `heap in use after GC at the end MB, ${blobs} / ${blobs / 10} blobs`,
          ours: m('ours', 'heapAfterGcMb'),
          note: pair('heapAfterGcMb'),
        },
        {
          scenario: 'backfill',
          metric: `peak RSS MB, ${blobs} / ${blobs / 10} blobs`,
          ours: m('ours', 'peakRssMb'),
          note: `${pair('peakRssMb')}; heap reserved peak ${pair('heapTotalPeakMb')}`,
        },
      ];
      return rows;
    }),
};
