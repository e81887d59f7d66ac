/**
 * `npm run chaos [-- --items 2000 --seed 1 --restarts 1 --kills 1 --outage 25 --trace run.log]`: the fault campaign at full size
 * (dev/chaos/chaos.ts). Exits non-zero on any item lost, ingested twice, or left behind by a refusal.
 */
import { parseArgs } from 'node:util';
import { commandLine } from '../commandLine';
import { describeReport, runChaos, type ChaosOptions } from './chaos';

export const USAGE = `Usage: npm run chaos -- [--items 2000] [--seed 1] [--concurrency 24] [--restarts 1] [--kills 1]
  [--outage 25] [--trace run.log]
  --items        items to submit (pushes, landing blobs, blob references, backfills)
  --seed         seed of every random choice: the same seed, the same campaign
  --concurrency  items in flight at once
  --restarts     Azurite stops and restarts during the run
  --kills        host kills (SIGKILL) with requests in flight
  --outage       seconds the ingestion service answers 503 after each kill
  --trace        a file for the run's whole record`;

/** The command line, checked; `undefined` for --help. Throws with a message saying what was wrong. */
export function parseChaosCli(argv: readonly string[]): ChaosOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      items: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '24' },
      restarts: { type: 'string', default: '1' },
      kills: { type: 'string', default: '1' },
      outage: { type: 'string', default: '25' },
      trace: { type: 'string' },
    },
  });
  if (values.help) return undefined;
  const count = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min)
      throw new Error(`--${name} must be a whole number of at least ${min}, got '${text}'`);
    return n;
  };
  return {
    items: count('items', values.items, 1),
    seed: count('seed', values.seed, 0),
    concurrency: count('concurrency', values.concurrency, 1),
    azuriteRestarts: count('restarts', values.restarts, 0),
    hostKills: count('kills', values.kills, 0),
    outageSeconds: count('outage', values.outage, 0),
    ...(values.trace !== undefined && { traceFile: values.trace }),
  };
}

async function main(): Promise<void> {
  const options = commandLine(parseChaosCli, USAGE);
  if (options === undefined) return; // --help
  const started = Date.now();
  console.log(`Chaos: ${options.items} items, seed ${options.seed}`);
  const report = await runChaos(options);
  const { text, passed } = describeReport(report);
  console.log(`${text}\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  process.exitCode = passed ? 0 : 1;
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  });
