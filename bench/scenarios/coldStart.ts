/**
 * Cold start: a fresh process loads the deploy package (`npm run package`) and answers its first HTTP push,
 * against a minimal @azure/functions app that loads the same Azure SDKs and makes the same requests raw
 * (bench/coldstart/baselineApp.ts). Targets: at most 1.1x the baseline for both, package at most 25 MB zipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import { alternate, median, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

function filesOf(base: string, at = base): string[] {
  return readdirSync(at).flatMap((name) => {
    const path = join(at, name);
    return statSync(path).isDirectory() ? filesOf(base, path) : [relative(base, path)];
  });
}

/** The package's size as azd uploads it: a zip at deflate's default level. */
function zippedBytes(dir: string): { bytes: number; files: number } {
  const files = filesOf(dir);
  const zip = zipSync(Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f))])), { level: 6 });
  return { bytes: zip.length, files: files.length };
}

export const coldStart: Scenario = {
  name: 'coldstart',
  title: '6. Cold start: process start to every function registered, and to the first HTTP push answered',
  run: (ctx) => {
    const dir = mkdtempSync(join(tmpdir(), 'kif-coldstart-'));
    const packaged = spawnSync(
      process.execPath,
      [join(__dirname, '..', '..', '..', 'dev', 'package.mjs'), dir],
      {
        encoding: 'utf8',
      },
    );
    if (packaged.status !== 0) throw new Error(`npm run package failed: ${packaged.stderr}`);
    const size = zippedBytes(dir);
    return withPausedStack(undefined, async (stack) => {
      try {
        const env = { ...stack.env, ...stack.appEnv, BENCH_PACKAGE_DIR: dir };
        // Telemetry on as the Bicep deploys it: Application Insights through the distro, with the identity.
        // Nothing is exported within a cold start (the exporters send at intervals), so the endpoints are
        // never reached; what is measured is loading and starting the SDK.
        const insights = {
          ...env,
          APPLICATIONINSIGHTS_CONNECTION_STRING:
            'InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://127.0.0.1:9/',
          AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
        };
        const samples = await alternate(
          Math.max(ctx.runs, 5),
          [
            freshVariant(stack, 'ours', 'coldStart', { ...env, BENCH_APP: 'ours' }, ctx.log),
            freshVariant(stack, 'baseline', 'coldStart', { ...env, BENCH_APP: 'baseline' }, ctx.log),
            freshVariant(stack, 'unbundled', 'coldStart', { ...env, BENCH_APP: 'unbundled' }, ctx.log),
            freshVariant(stack, 'ours+ai', 'coldStart', { ...insights, BENCH_APP: 'ours' }, ctx.log),
            freshVariant(stack, 'baseline+ai', 'coldStart', { ...insights, BENCH_APP: 'baseline' }, ctx.log),
          ],
          ctx.log,
        );
        const m = (name: string, metric: string) => median(samples[name]?.[metric] ?? []);
        const ratio = (metric: string, ours = 'ours', baseline = 'baseline') =>
          m(ours, metric) / m(baseline, metric);
        const telemetryNote = 'with Application Insights: ours and the baseline each start the distro';
        const note = 'official = a minimal @azure/functions app loading the same SDKs';
        const rows: Row[] = [
          {
            scenario: 'cold start',
            metric: 'ms to all registered',
            ours: m('ours', 'registeredMs'),
            official: m('baseline', 'registeredMs'),
            target: '<= 1.1x',
            met: ratio('registeredMs') <= 1.1,
            note,
          },
          {
            scenario: 'cold start',
            metric: 'ms to first push answered',
            ours: m('ours', 'firstPushMs'),
            official: m('baseline', 'firstPushMs'),
            target: '<= 1.1x',
            met: ratio('firstPushMs') <= 1.1,
            note,
          },
          {
            scenario: 'cold start',
            metric: 'ms to first push, unbundled',
            ours: m('unbundled', 'firstPushMs'),
            official: m('baseline', 'firstPushMs'),
            note: 'for reference: the repository build over node_modules, as a remote build would deploy it',
          },
          {
            scenario: 'cold start, telemetry on',
            metric: 'ms to all registered',
            ours: m('ours+ai', 'registeredMs'),
            official: m('baseline+ai', 'registeredMs'),
            target: '<= 1.1x',
            met: ratio('registeredMs', 'ours+ai', 'baseline+ai') <= 1.1,
            note: telemetryNote,
          },
          {
            scenario: 'cold start, telemetry on',
            metric: 'ms to first push answered',
            ours: m('ours+ai', 'firstPushMs'),
            official: m('baseline+ai', 'firstPushMs'),
            target: '<= 1.1x',
            met: ratio('firstPushMs', 'ours+ai', 'baseline+ai') <= 1.1,
            note: telemetryNote,
          },
          {
            scenario: 'cold start, telemetry on',
            metric: 'ms to first push vs baseline without',
            ours: m('ours+ai', 'firstPushMs'),
            official: m('baseline', 'firstPushMs'),
            note: 'for reference: ours with the distro against the baseline without any telemetry',
          },
          {
            scenario: 'cold start',
            metric: 'peak RSS MB',
            ours: m('ours', 'peakRssMb'),
            official: m('baseline', 'peakRssMb'),
          },
          {
            scenario: 'package',
            metric: 'MB zipped',
            ours: size.bytes / 1e6,
            target: '<= 25',
            met: size.bytes / 1e6 <= 25,
          },
          { scenario: 'package', metric: 'files', ours: size.files },
        ];
        return rows;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
};
