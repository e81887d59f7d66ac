/**
 * `npm run bench [-- --runs N] [--only small,status,...] [--json FILE]`: every scenario of bench/README.md,
 * ours against the official SDK and the machine's ceiling, alternating runs, medians and ratios.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { commandLine } from '../dev/commandLine';
import { ensureTestCertificate, TEST_TLS_DIR } from '../dev/testRunner';
import { relaunchTrusting } from '../dev/tls';
import { cpuProbeMs } from './cpuProbe';
import { printTable, type Row } from './harness';
import { backfill } from './scenarios/backfill';
import { coldStart } from './scenarios/coldStart';
import { httpPush } from './scenarios/httpPush';
import { ingestV2 } from './scenarios/ingestV2';
import { landingPath } from './scenarios/landingPath';
import { largeFile } from './scenarios/largeFile';
import { smallFiles, smallFilesTable } from './scenarios/smallFiles';
import { statusModes } from './scenarios/statusModes';
import { statusVolume } from './scenarios/statusVolume';
import { storeEngines } from './scenarios/storeEngines';
import { telemetryCost } from './scenarios/telemetryCost';
import { sweep } from './scenarios/sweep';
import type { Scenario } from './scenarios/types';

const SCENARIOS: readonly Scenario[] = [
  smallFiles,
  smallFilesTable,
  largeFile,
  sweep,
  httpPush,
  coldStart,
  statusModes,
  landingPath,
  statusVolume,
  backfill,
  storeEngines,
  telemetryCost,
  ingestV2,
];

export interface BenchCli {
  readonly runs: number;
  readonly scenarios: readonly Scenario[];
  readonly json: string | undefined;
}

export const USAGE = `Usage: npm run bench -- [--runs 3] [--only ${SCENARIOS.map((s) => s.name).join(',')}] [--json FILE]
  --runs  runs of each variant, alternating, after one uncounted warm-up round
  --only  the scenarios to run, comma-separated (default: all)
  --json  also write the rows to FILE`;

/** The command line, checked; `undefined` for --help. Throws with a message saying what was wrong. */
export function parseBenchCli(argv: readonly string[]): BenchCli | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      runs: { type: 'string', default: '3' },
      only: { type: 'string' },
      json: { type: 'string' },
    },
  });
  if (values.help) return undefined;
  const runs = Number(values.runs);
  if (!/^\d+$/.test(values.runs) || !Number.isSafeInteger(runs) || runs < 1)
    throw new Error(`--runs must be a positive integer, got '${values.runs}'`);
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0)
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
    );
  return { runs, scenarios: SCENARIOS.filter((s) => !only || only.includes(s.name)), json: values.json };
}

async function main(): Promise<void> {
  const cli = commandLine(parseBenchCli, USAGE);
  if (cli === undefined) return; // --help
  const { runs, scenarios: selected } = cli;

  // The https Azurite of a scenario is trusted through the test CA: run again trusting it if need be.
  const tls = ensureTestCertificate();
  if (relaunchTrusting(tls.ca, TEST_TLS_DIR)) return;

  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;
  const cpuProbe = Math.round(cpuProbeMs());
  console.log(`machine: ${machine}; ${runs} runs per variant, alternating`);
  console.log(`CPU probe: ${cpuProbe} ms of fixed work (bench/cpuProbe.ts; lower is faster)\n`);
  const rows: Row[] = [];
  const failed: { scenario: string; error: string }[] = [];
  for (const scenario of selected) {
    console.log(scenario.title);
    const started = Date.now();
    try {
      rows.push(...(await scenario.run({ runs, tls, log: (line) => console.log(line) })));
    } catch (e) {
      // One broken scenario must not cost the others' numbers: report it, go on, and fail at the end.
      const error = e instanceof Error ? e.message : String(e);
      failed.push({ scenario: scenario.name, error });
      console.log(`  FAILED: ${error}`);
    }
    console.log(`  (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  console.log(printTable(rows));
  for (const f of failed) console.log(`\nscenario ${f.scenario} FAILED: ${f.error}`);
  if (cli.json) {
    writeFileSync(
      cli.json,
      JSON.stringify(
        { date: new Date().toISOString(), machine, cpuProbeMs: cpuProbe, runs, rows, failed },
        null,
        2,
      ) + '\n',
    );
    console.log(`\nwritten to ${cli.json}`);
  }
  if (failed.length > 0) process.exitCode = 1;
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  });
