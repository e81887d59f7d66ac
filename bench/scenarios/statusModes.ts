/**
 * Scenario 7: what each STATUS_MODE costs at volume. Storage requests per item, every party counted (the
 * app's pushes and tracking writes, the service's reads and reports, the sweep), and the sweep's time over
 * BENCH_STATUS_ITEMS open sources (default 10,000), pending and then closing.
 */
import { median, round, runChild, type Metrics, type Row } from '../harness';
import { withPausedStack } from './pausedStack';
import type { Scenario } from './types';

const MODES = ['table', 'queue', 'failures-only'] as const;
/** A 5-minute sweep and items pending 2 minutes: the share of items a sweep finds still pending. */
const PENDING_SHARE = 2 / 5;

/** Requests per item over an item's life: each phase once, the pending sweep for the share it sees. */
export function perItem(m: Metrics): number {
  return (
    (m.enqueuePerItem ?? NaN) +
    PENDING_SHARE * (m.pendingPerItem ?? NaN) +
    (m.servicePerItem ?? NaN) +
    (m.closingPerItem ?? NaN)
  );
}

export const statusModes: Scenario = {
  name: 'statusModes',
  title:
    '7. Status modes at volume: storage requests per item (all parties), and the sweep over open sources',
  run: (ctx) =>
    withPausedStack(undefined, async (stack) => {
      const items = process.env.BENCH_STATUS_ITEMS ?? '10000';
      const env = {
        ...stack.env,
        ...stack.appEnv,
        BENCH_ACCOUNTS: JSON.stringify(stack.accounts),
        BENCH_ITEMS: items,
      };
      const results = new Map<string, Metrics[]>(MODES.map((m) => [m, []]));
      for (let run = 0; run < ctx.runs; run++) {
        for (const mode of MODES) {
          const m = await runChild('statusModes', { ...env, BENCH_STATUS_MODE: mode });
          results.get(mode)?.push(m);
          ctx.log(
            `  ${mode} run ${run + 1}: ${round(perItem(m))} requests/item ` +
              `(enqueue ${round(m.enqueuePerItem ?? NaN)}, pending sweep ${round(m.pendingPerItem ?? NaN)} x ${PENDING_SHARE}, ` +
              `service ${round(m.servicePerItem ?? NaN)}, closing ${round(m.closingPerItem ?? NaN)}); ` +
              `status reads/item ${round(m.statusReadsPerItem ?? NaN)}, pending-sweep row reads/item ${round(m.pendingRowReadsPerItem ?? NaN)}; ` +
              `sweep over ${m.pendingOpen} open: ${round(m.pendingSweepSeconds ?? NaN)} s pending, ${round(m.closingSweepSeconds ?? NaN)} s closing`,
          );
        }
      }
      const med = (mode: string, f: (m: Metrics) => number) => median((results.get(mode) ?? []).map(f));
      const rows: Row[] = [];
      for (const mode of MODES) {
        rows.push(
          {
            scenario: 'status modes',
            metric: `${mode}: requests/item`,
            ours: med(mode, perItem),
            note: `enqueue ${round(med(mode, (m) => m.enqueuePerItem ?? NaN))} + ${PENDING_SHARE} x pending ${round(med(mode, (m) => m.pendingPerItem ?? NaN))} + service ${round(med(mode, (m) => m.servicePerItem ?? NaN))} + closing ${round(med(mode, (m) => m.closingPerItem ?? NaN))}`,
          },
          {
            scenario: 'status modes',
            metric: `${mode}: sweep s, ${items} pending`,
            ours: med(mode, (m) => m.pendingSweepSeconds ?? NaN),
          },
          {
            scenario: 'status modes',
            metric: `${mode}: sweep s, ${items} closing`,
            ours: med(mode, (m) => m.closingSweepSeconds ?? NaN),
          },
        );
      }
      const table = med('table', perItem);
      const queue = med('queue', perItem);
      const queueReads = med('queue', (m) => (m.statusReadsPerItem ?? 0) + (m.pendingRowReadsPerItem ?? 0));
      rows.push({
        scenario: 'status modes',
        metric: 'table - queue, requests/item',
        ours: table - queue,
        target: `queue: no per-item status or open-row read (is ${round(queueReads)}), >= 1 request/item fewer (is ${round(table - queue)})`,
        met: queueReads === 0 && table - queue >= 1,
      });
      return rows;
    }),
};
