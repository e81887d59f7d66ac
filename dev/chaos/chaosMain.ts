/**
 * `npm run chaos [-- --items 2000 --seed 1 --restarts 1 --kills 1 --outage 25 --trace run.log]`: the fault campaign at full size
 * (dev/chaos/chaos.ts). Exits non-zero on any item lost, ingested twice, or left behind by a refusal.
 */
import { parseArgs } from 'node:util';
import { describeReport, runChaos } from './chaos';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      items: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '24' },
      restarts: { type: 'string', default: '1' },
      kills: { type: 'string', default: '1' },
      outage: { type: 'string', default: '25' },
      trace: { type: 'string' },
    },
  });
  const started = Date.now();
  console.log(`Chaos: ${values.items} items, seed ${values.seed}`);
  const report = await runChaos({
    items: Number(values.items),
    seed: Number(values.seed),
    concurrency: Number(values.concurrency),
    azuriteRestarts: Number(values.restarts),
    hostKills: Number(values.kills),
    outageSeconds: Number(values.outage),
    ...(values.trace !== undefined && { traceFile: values.trace }),
  });
  const { text, passed } = describeReport(report);
  console.log(`${text}\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  process.exitCode = passed ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
