/**
 * Scenario 12: what the telemetry costs. The HTTP push handler of scenario 5 (1,000 x 4 KB bodies, 50 in
 * flight) with telemetry off, and on as in production (metrics every 5 s and every span exported over
 * OTLP/HTTP to a local sink that reads and discards them), alternating, at least 5 runs each. Target: with
 * telemetry, at least 90% of the requests/s without.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { alternate, median, type Row } from '../harness';
import { freshVariant, withPausedStack } from './pausedStack';
import type { Scenario } from './types';

const spread = (values: readonly number[]) =>
  values.length ? `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}` : '';

export const telemetryCost: Scenario = {
  name: 'telemetry',
  title: '12. The cost of telemetry: the HTTP push handler with telemetry off and on (OTLP to a local sink)',
  run: async (ctx) => {
    const received: Record<string, number> = {};
    const sink = createServer((req, res) => {
      req.on('data', () => undefined);
      req.on('end', () => {
        received[req.url ?? '?'] = (received[req.url ?? '?'] ?? 0) + 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    try {
      return await withPausedStack(undefined, async (stack) => {
        const env = { ...stack.env, ...stack.appEnv, BENCH_REQUESTS: '1000', BENCH_CONCURRENCY: '50' };
        const samples = await alternate(
          Math.max(ctx.runs, 5),
          [
            freshVariant(stack, 'off', 'httpPush', env, ctx.log),
            freshVariant(
              stack,
              'on',
              'httpPush',
              { ...env, BENCH_TELEMETRY: 'on', OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
              ctx.log,
            ),
          ],
          ctx.log,
        );
        ctx.log(`  the sink received: ${JSON.stringify(received)}`);
        if (!received['/v1/traces'] || !received['/v1/metrics'])
          throw new Error(
            'telemetry on exported no spans or no metrics: the comparison would measure nothing',
          );
        const rate = (v: string) => samples[v]?.requestsPerSec ?? [];
        const ratio = median(rate('on')) / median(rate('off'));
        const rows: Row[] = [
          {
            scenario: 'telemetry cost, http push',
            metric: 'requests/s',
            ours: median(rate('on')),
            official: median(rate('off')),
            target: '>= 0.90x',
            met: ratio >= 0.9,
            note: `ours = telemetry on, official = off; spread ${spread(rate('on'))} vs ${spread(rate('off'))}`,
          },
          {
            scenario: 'telemetry cost, http push',
            metric: 'p99 ms',
            ours: median(samples.on?.p99Ms ?? []),
            official: median(samples.off?.p99Ms ?? []),
            note: 'ours = telemetry on, official = off',
          },
        ];
        return rows;
      });
    } finally {
      sink.close();
    }
  },
};
