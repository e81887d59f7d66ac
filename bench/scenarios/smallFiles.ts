/**
 * Scenarios 1 and 2: many small files, queued, 50 in flight, ours against the official SDK against the
 * raw storage requests that queued ingestion needs (the ceiling), on the same stack in the same run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate, median, perRunRatio, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario, ScenarioContext } from './types';

export function smallCsvFiles(count: number, bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'kif-bench-small-'));
  for (let i = 0; i < count; i++) {
    let body = '';
    for (let row = 0; body.length < bytes; row++)
      body += `${i},${row},user-${(i * 31 + row) % 1000},${(row * 37) % 1000}\n`;
    writeFileSync(join(dir, `file-${String(i).padStart(5, '0')}.csv`), body.slice(0, bytes - 1) + '\n');
  }
  return dir;
}

interface SmallOptions {
  readonly files: number;
  readonly status: 'queue' | 'table';
  readonly https: boolean;
}

async function measure(ctx: ScenarioContext, o: SmallOptions) {
  return withPausedStack(o.https ? ctx.tls : undefined, async (stack) => {
    const dir = smallCsvFiles(o.files, 1024);
    try {
      const env = { ...stack.env, BENCH_DIR: dir, BENCH_CONCURRENCY: '50', BENCH_STATUS: o.status };
      const samples = await alternate(
        ctx.runs,
        [
          freshVariant(stack, 'ours', 'smallFilesOurs', env, ctx.log),
          freshVariant(stack, 'official', 'smallFilesOfficial', env, ctx.log),
          freshVariant(stack, 'ceiling', 'smallFilesCeiling', env, ctx.log),
        ],
        ctx.log,
      );
      const m = (name: string, metric: string) => median(samples[name]?.[metric] ?? []);
      const ratio = (metric: string) =>
        perRunRatio(samples.ours?.[metric] ?? [], samples.ceiling?.[metric] ?? []);
      return { m, ratio };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

export const smallFiles: Scenario = {
  name: 'small',
  title: '1. Small files: 1,000 x 1 KB, queued, status to queue, 50 in flight',
  async run(ctx) {
    const files = 1000;
    const { m, ratio } = await measure(ctx, { files, status: 'queue', https: false });
    const ours = m('ours', 'filesPerSec');
    const ceiling = m('ceiling', 'filesPerSec');
    // CPU of the timed work only (module loading left out), per 1,000 files.
    const cpu = (name: string) => (m(name, 'workCpuS') * 1000) / files;
    const rows: Row[] = [
      {
        scenario: 'small files',
        metric: 'files/s',
        ours,
        official: m('official', 'filesPerSec'),
        ceiling,
        target: '>= 90% of ceiling',
        met: ours >= 0.9 * ceiling,
        note: ratio('filesPerSec'),
      },
      {
        scenario: 'small files',
        metric: 'CPU s per 1,000 files',
        ours: cpu('ours'),
        official: cpu('official'),
        ceiling: cpu('ceiling'),
        target: '<= 130% of ceiling',
        met: cpu('ours') <= 1.3 * cpu('ceiling'),
        note: ratio('workCpuS'),
      },
      {
        scenario: 'small files',
        metric: 'peak RSS MB',
        ours: m('ours', 'peakRssMb'),
        official: m('official', 'peakRssMb'),
      },
    ];
    return rows;
  },
};

export const smallFilesTable: Scenario = {
  name: 'status',
  title: '2. Small files with status in table: 200 x 1 KB, ReportMethod Table, https Azurite, 50 in flight',
  async run(ctx) {
    const { m } = await measure(ctx, { files: 200, status: 'table', https: true });
    const ours = m('ours', 'filesPerSec');
    const official = m('official', 'filesPerSec');
    const ceiling = m('ceiling', 'filesPerSec');
    return [
      {
        scenario: 'status in table',
        metric: 'files/s',
        ours,
        official,
        ceiling,
        target: '>= 8x official, >= 80% of ceiling',
        met: ours >= 8 * official && ours >= 0.8 * ceiling,
      },
      {
        scenario: 'status in table',
        metric: 'peak RSS MB',
        ours: m('ours', 'peakRssMb'),
        official: m('official', 'peakRssMb'),
      },
    ];
  },
};
