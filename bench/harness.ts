/** What every benchmark shares: child processes, alternating runs, medians, the table. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Metrics = Record<string, number>;

/** How a child's stderr line starts when it is progress to show, not an error's detail. */
export const PROGRESS = 'progress: ';

/** Runs `bench/children/<name>.js` in a process of its own; its last stdout line is a JSON object of numbers. */
export function runChild(
  name: string,
  env: Record<string, string>,
  extraNodeArgs: string[] = [],
): Promise<Metrics> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...extraNodeArgs, join(__dirname, 'children', `${name}.js`)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let partial = '';
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString();
      err += text;
      // A long child tells how far it got (`progress()` in children/common.ts): shown as it comes.
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines)
        if (line.startsWith(PROGRESS)) process.stderr.write(`  [${name}] ${line.slice(PROGRESS.length)}\n`);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${name} exited with ${code}: ${childFailure(err)}`));
      try {
        // The report is the last JSON line: an SDK may print after it (the distro logs a failed export).
        const lines = out.trim().split('\n');
        resolve(JSON.parse(lines.reverse().find((l) => l.startsWith('{"')) ?? '') as Metrics);
      } catch (e) {
        reject(new Error(`${name} printed no result: ${out.slice(-300)} ${(e as Error).message}`));
      }
    });
  });
}

/**
 * What a failed child said, in one line: its last lines without stack frames, so the message of an error it
 * threw (a refusal, say) is shown rather than the frames printed under it.
 */
export function childFailure(stderr: string, lines = 5): string {
  const said = stderr
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && !/^\s+at /.test(l) && !l.startsWith(PROGRESS));
  return said.slice(-lines).join(' | ') || '(nothing on stderr)';
}

/** A sample's range, `min-max` with `digits` decimals, for a row's note; '' for no samples. */
export function spread(values: readonly number[], digits = 0): string {
  return values.length ? `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}` : '';
}

/**
 * Ours against the ceiling run by run (alternating runs, each against the one beside it): the median of
 * the per-run ratios and their spread, for a row's note. A stall in one run then moves one ratio, not both
 * medians. `label` names the pair when it is another (`v2/v1`).
 */
export function perRunRatio(
  ours: readonly number[],
  ceiling: readonly number[],
  label = 'ours/ceiling',
): string {
  const each = ours.map((x, i) => x / (ceiling[i] ?? NaN));
  return `${label} per run: median ${median(each).toFixed(2)}, spread ${spread(each, 2)}, ${each.length} runs`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/**
 * Runs the variants in turn (A B C A B C ...), `runs` times each, and keeps each metric's samples. A first
 * untimed round warms the services (Azurite's JIT, its sockets) so that no variant pays for going first.
 */
export async function alternate(
  runs: number,
  variants: readonly { name: string; run: () => Promise<Metrics> }[],
  log: (line: string) => void,
): Promise<Record<string, Record<string, number[]>>> {
  const samples: Record<string, Record<string, number[]>> = {};
  for (const v of variants) {
    const m = await v.run();
    log(
      `  ${v.name} warm-up (not counted): ${Object.entries(m)
        .map(([k, x]) => `${k}=${round(x)}`)
        .join(' ')}`,
    );
  }
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const m = await v.run();
      log(
        `  ${v.name} run ${i + 1}: ${Object.entries(m)
          .map(([k, x]) => `${k}=${round(x)}`)
          .join(' ')}`,
      );
      const bucket = (samples[v.name] ??= {});
      for (const [k, x] of Object.entries(m)) (bucket[k] ??= []).push(x);
    }
  }
  return samples;
}

export const round = (x: number): string =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);

/** One row of the summary: a scenario's metric, our median, the baselines' medians and the ratios. */
export interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly ours: number;
  readonly official?: number | undefined;
  readonly ceiling?: number | undefined;
  /** What the ratio should be at least (or, for lower-is-better metrics, at most). */
  readonly target?: string | undefined;
  readonly met?: boolean | undefined;
  readonly note?: string | undefined;
}

export function printTable(rows: readonly Row[]): string {
  const header = [
    'scenario',
    'metric',
    'ours',
    'official',
    'ceiling',
    'ours/official',
    'ours/ceiling',
    'target',
    '',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.metric,
    round(r.ours),
    r.official === undefined ? '' : round(r.official),
    r.ceiling === undefined ? '' : round(r.ceiling),
    r.official ? `${(r.ours / r.official).toFixed(2)}x` : '',
    r.ceiling ? `${((r.ours / r.ceiling) * 100).toFixed(0)}%` : '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'met' : 'MISSED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const notes = rows.filter((r) => r.note).map((r) => `${r.scenario}, ${r.metric}: ${r.note ?? ''}`);
  return [
    fmt(header),
    fmt(widths.map((w) => '-'.repeat(w))),
    ...lines.map(fmt),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

/** A simple bounded pool: runs `task(i)` for i in [0, count), `concurrency` at a time. */
export async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN where there is no /proc. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    // Fields after the command name (which may hold spaces) start at state; utime and stime are 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}
