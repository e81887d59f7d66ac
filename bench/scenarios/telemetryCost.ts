/**
 * Scenario 12: what the telemetry costs, on the app's two paths where it counts sources:
 * - the HTTP push handler of scenario 5 (1,000 x 4 KB bodies, 50 in flight);
 * - small files through the landing path of scenario 8 (BENCH_TELEMETRY_EVENTS, default 3,000 BlobCreated
 *   events of 1 KB blobs, through the local host's queue trigger; events/s of the median round).
 * Each with telemetry off, and on as in production (OTLP/HTTP to a local sink that reads and discards
 * what it gets, metrics every 5 s, every span exported), alternating, at least 5 runs each. Target: with
 * telemetry, at least 90% of the rate without. Scenario 1's small files go through the library alone,
 * which has no telemetry (the app's tracking does the counting): nothing to compare there.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alternate, median, type Row, spread } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

/** A local OTLP/HTTP endpoint that counts what it receives by path. */
async function otlpSink(): Promise<{ url: string; received: Record<string, number>; close: () => void }> {
  const received: Record<string, number> = {};
  const sink = createServer((req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      received[req.url ?? '?'] = (received[req.url ?? '?'] ?? 0) + 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    received,
    close: () => sink.close(),
  };
}

export const telemetryCost: Scenario = {
  name: 'telemetry',
  title: '12. The cost of telemetry: HTTP push and landing small files with telemetry off and on (OTLP)',
  run: async (ctx) => {
    const sink = await otlpSink();
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_METRIC_EXPORT_INTERVAL: '5000' };
    const runs = Math.max(ctx.runs, 5);
    try {
      return await withPausedStack(undefined, async (stack) => {
        const base = { ...stack.env, ...stack.appEnv };
        const rows: Row[] = [];
        const compare = async (
          scenario: string,
          child: string,
          env: Record<string, string>,
          metric: string,
          unit: string,
        ) => {
          const before = { ...sink.received };
          const samples = await alternate(
            runs,
            [
              freshVariant(stack, 'off', child, env, ctx.log),
              freshVariant(stack, 'on', child, { ...env, ...on, BENCH_TELEMETRY: 'on' }, ctx.log),
            ],
            ctx.log,
          );
          const got = (path: string) => (sink.received[path] ?? 0) - (before[path] ?? 0);
          ctx.log(
            `  ${scenario}: the sink received ${got('/v1/traces')} span and ${got('/v1/metrics')} metric exports`,
          );
          if (!got('/v1/traces') || !got('/v1/metrics'))
            throw new Error(
              `${scenario}: telemetry on exported no spans or no metrics: the comparison would measure nothing`,
            );
          const rate = (v: string) => samples[v]?.[metric] ?? [];
          const ratio = median(rate('on')) / median(rate('off'));
          rows.push({
            scenario,
            metric: unit,
            ours: median(rate('on')),
            official: median(rate('off')),
            target: '>= 0.90x',
            met: ratio >= 0.9,
            note: `ours = telemetry on, official = off; ${runs} runs each, spread ${spread(rate('on'), 2)} vs ${spread(rate('off'), 2)}`,
          });
          // The instrumentation's own cost, less noisy than a rate that Azurite's stalls move.
          const cpu = (v: string) => samples[v]?.cpuS ?? [];
          rows.push({
            scenario,
            metric: 'CPU s per run',
            ours: median(cpu('on')),
            official: median(cpu('off')),
            note: `ours = telemetry on, official = off; spread ${spread(cpu('on'), 2)} vs ${spread(cpu('off'), 2)}`,
          });
          if (samples.on?.p99Ms)
            rows.push({
              scenario,
              metric: 'p99 ms',
              ours: median(samples.on.p99Ms),
              official: median(samples.off?.p99Ms ?? []),
              note: 'ours = telemetry on, official = off',
            });
        };
        await compare(
          'telemetry cost, http push',
          'httpPush',
          { ...base, BENCH_REQUESTS: '1000', BENCH_CONCURRENCY: '50' },
          'requestsPerSec',
          'requests/s',
        );
        await compare(
          'telemetry cost, landing small files',
          'landingHost',
          { ...base, BENCH_EVENTS: process.env.BENCH_TELEMETRY_EVENTS ?? '3000' },
          'eventsPerSec',
          'events/s',
        );
        return rows;
      });
    } finally {
      sink.close();
    }
  },
};
