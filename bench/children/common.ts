/** Shared by the benchmark children: settings from the environment, a timer, the result line. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROGRESS } from '../harness';

export function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

export function benchFiles(): string[] {
  const dir = setting('BENCH_DIR');
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => join(dir, f));
}

// CPU seconds of the process during every timed section (a child may time several rounds): start-up
// (module loading) left out.
let workCpuS: number | undefined;

/** Wall seconds of `work`; its CPU seconds are added to the result line's `workCpuS`. */
export async function timed(work: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  workCpuS = (workCpuS ?? 0) + (used.user + used.system) / 1e6;
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Prints the result line, with the process's CPU and peak RSS (from the OS) in MB of 10^6 bytes. */
export function report(metrics: Record<string, number>): void {
  const usage = process.resourceUsage();
  const cpuS = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
  console.log(
    JSON.stringify({
      ...metrics,
      cpuS,
      ...(workCpuS !== undefined && { workCpuS }),
      peakRssMb: (usage.maxRSS * 1024) / 1e6,
    }),
  );
}

/** A line of progress for a long run, shown by the parent as it comes (harness.ts, runChild). */
export function progress(text: string): void {
  process.stderr.write(`${PROGRESS}${text}\n`);
}

export function run(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
}

/** p50 and p99 of latencies in ms. */
export function latencies(ms: readonly number[]): { p50Ms: number; p99Ms: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}
