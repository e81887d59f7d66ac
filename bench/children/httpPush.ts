/**
 * Scenario 5, ours: the HTTP push handler (what `POST /api/ingest/{db}/{table}` runs) called with 4 KB CSV
 * bodies, 50 requests in flight, on the app's real storage and the stand-in: requests/s and latency.
 * BENCH_REQUESTS (default 1000). BENCH_TELEMETRY=on starts the app's telemetry as in production, from the
 * environment (the telemetry scenario points OTEL_EXPORTER_OTLP_ENDPOINT at a local sink and sets
 * OTEL_METRIC_EXPORT_INTERVAL, as for the landing child, whose host starts it).
 */
import { createAppContext } from '../../shared/app/context';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import type { HttpRequestLike } from '../../shared/app/http/httpTypes';
import { loadConfig } from '../../shared/app/settings';
import { startTelemetry } from '../../shared/app/telemetry/startTelemetry';
import { silentLogger } from '../../shared/log';
import { pool } from '../harness';
import { latencies, report, run, setting, timed } from './common';
import { body4k } from './httpBody';

function request(data: Buffer): HttpRequestLike {
  const headers = new Headers({ 'content-type': 'text/csv' });
  return {
    method: 'POST',
    url: 'http://localhost:7071/api/ingest/bench/Push',
    headers,
    query: new URLSearchParams(),
    params: { database: 'bench', table: 'Push' },
    body: new Blob([data]).stream(),
  };
}

run(async () => {
  const telemetry = process.env.BENCH_TELEMETRY === 'on' ? startTelemetry() : undefined;
  const ctx = createAppContext(loadConfig(process.env), { logger: silentLogger });
  await ctx.ready();
  const count = Number(setting('BENCH_REQUESTS', '1000'));
  const concurrency = Number(setting('BENCH_CONCURRENCY', '50'));
  const bodies = Array.from({ length: count }, (_, i) => body4k(i));
  const send = async (i: number): Promise<number> => {
    const started = process.hrtime.bigint();
    const result = await handleIngestPush(request(bodies[i] ?? Buffer.alloc(0)), ctx, silentLogger);
    if (result.status !== 202)
      throw new Error(`push ${i} answered ${result.status}: ${JSON.stringify(result.jsonBody)}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  for (let i = 0; i < 5; i++) await send(i); // warm-up: resources, connections
  const ms: number[] = [];
  const seconds = await timed(() =>
    pool(count, concurrency, async (i) => {
      ms.push(await send(i));
    }),
  );
  await telemetry?.shutdown(); // flushes what is buffered, outside the timed part
  report({ requestsPerSec: count / seconds, ...latencies(ms) });
});
