/**
 * `node dist/bench/pooledRuns.js [--ours v2] [--base ceiling] [--metric filesPerSec] [--target 1.5] FILE...`:
 * one ratio over several saved benchmark logs (bench/results/*.txt). A run's ratio on this VM moves with what
 * a request costs at that moment more than with the code (bench/README.md, scenario 13), so one log meeting
 * or missing a target says little; pooled, the per-run ratios of every log on the same code do. Reads the
 * lines the harness prints for each counted run (`  v2 run 3: filesPerSec=455 ...`; warm-ups are skipped)
 * and pairs the two variants' runs by number within each log. One scenario per log (`--only`): a variant's
 * name is its name within the scenario, so a log of several would mix theirs.
 */
import { readFileSync } from 'node:fs';
import { median, spread } from './harness';

/** Each variant's counted runs in one log: run number to its metrics. */
export type RunLog = Map<string, Map<number, Record<string, number>>>;

const RUN_LINE = /^\s+(.+?) run (\d+): (.+)$/;

export function parseRunLog(text: string): RunLog {
  const log: RunLog = new Map();
  for (const line of text.split('\n')) {
    const m = RUN_LINE.exec(line);
    if (!m?.[1] || !m[2] || !m[3]) continue;
    const metrics: Record<string, number> = {};
    for (const pair of m[3].trim().split(/\s+/)) {
      const [key, value] = pair.split('=');
      if (key && value !== undefined && Number.isFinite(Number(value))) metrics[key] = Number(value);
    }
    const runs = log.get(m[1]) ?? new Map<number, Record<string, number>>();
    runs.set(Number(m[2]), metrics);
    log.set(m[1], runs);
  }
  return log;
}

export interface PairedRatios {
  /** ours over base, one per run present in both with the metric. */
  readonly perRun: number[];
  readonly ours: number[];
  readonly base: number[];
}

/** Pairs run i of `ours` with run i of `base` (the harness alternates them) and divides `metric`. */
export function pairedRatios(log: RunLog, ours: string, base: string, metric: string): PairedRatios {
  const result: PairedRatios = { perRun: [], ours: [], base: [] };
  const baseRuns = log.get(base);
  for (const [run, metrics] of log.get(ours) ?? []) {
    const a = metrics[metric];
    const b = baseRuns?.get(run)?.[metric];
    if (a === undefined || b === undefined || b === 0) continue;
    result.perRun.push(a / b);
    result.ours.push(a);
    result.base.push(b);
  }
  return result;
}

export function summarizeRatios(r: PairedRatios, target?: number): string {
  if (r.perRun.length === 0) return 'no paired runs';
  const fixed = (x: number) => x.toFixed(2);
  const parts = [
    `${r.perRun.length} runs`,
    `per run median ${fixed(median(r.perRun))}x (${spread(r.perRun, 2)})`,
    `ratio of the medians ${fixed(median(r.ours) / median(r.base))}x`,
  ];
  if (target !== undefined)
    parts.push(`${r.perRun.filter((x) => x >= target).length} of ${r.perRun.length} at ${target}x or more`);
  return parts.join(', ');
}

export interface PoolArgs {
  readonly ours: string;
  readonly base: string;
  readonly metric: string;
  readonly target?: number | undefined;
  readonly files: readonly string[];
}

/** The command line: options with their defaults, then the saved logs; anything malformed is an error. */
export function parsePoolArgs(argv: readonly string[]): PoolArgs {
  const args = [...argv];
  const option = (name: string, fallback: string): string => {
    const at = args.indexOf(name);
    if (at === -1) return fallback;
    const value = args[at + 1];
    if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
    args.splice(at, 2);
    return value;
  };
  const ours = option('--ours', 'v2');
  const base = option('--base', 'ceiling');
  const metric = option('--metric', 'filesPerSec');
  const targetText = option('--target', '');
  const target = targetText === '' ? undefined : Number(targetText);
  if (target !== undefined && !(target > 0))
    throw new Error(`--target must be a positive ratio, not '${targetText}'`);
  const unknown = args.find((a) => a.startsWith('--'));
  if (unknown) throw new Error(`unknown option ${unknown} (--ours, --base, --metric, --target)`);
  if (args.length === 0) throw new Error('name the saved logs to pool (bench/results/*.txt)');
  return { ours, base, metric, target, files: args };
}

function main(): void {
  const { ours, base, metric, target, files } = parsePoolArgs(process.argv.slice(2));
  const pooled: PairedRatios = { perRun: [], ours: [], base: [] };
  for (const file of files) {
    const r = pairedRatios(parseRunLog(readFileSync(file, 'utf8')), ours, base, metric);
    console.log(`${file}: ${summarizeRatios(r, target)}`);
    pooled.perRun.push(...r.perRun);
    pooled.ours.push(...r.ours);
    pooled.base.push(...r.base);
  }
  console.log(`pooled, ${metric} of ${ours} over ${base}: ${summarizeRatios(pooled, target)}`);
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
}
