/**
 * A fixed piece of CPU work timed before the scenarios, printed with the machine line: this VM's share of its
 * host changes over a day (bench/results/2026-12-04-machine-slower.txt: the same code took up to 1.7x the
 * CPU seconds in the afternoon), which moves every variant's absolute numbers alike. Ratios within a run
 * stay fair; the probe tells whether two runs' absolute numbers can be compared.
 */
import { createHash } from 'node:crypto';

/** Milliseconds of the fastest of `rounds` rounds of hashing and JSON work (the first warms the JIT up). */
export function cpuProbeMs(rounds = 7): number {
  const data = Buffer.alloc(8 * 2 ** 20, 7);
  const doc = Array.from({ length: 20_000 }, (_, i) => ({ name: `bf/${i % 10}/blob-${i}.csv`, size: i }));
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    createHash('sha256').update(data).digest();
    for (let i = 0; i < 5; i++) JSON.parse(JSON.stringify(doc));
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return Math.min(...times);
}
