import { MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import { retrySource } from '../../shared/app/operator/retrySource';
import { runSweep } from '../../shared/app/sweep/sweep';
import { ATTR, METRIC } from '../../shared/app/telemetry/sourceTelemetry';
import { startTelemetry, type StartedTelemetry } from '../../shared/app/telemetry/startTelemetry';
import { apiRequest } from '../helpers/apiRequest';
import { startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';

/** Reads the metrics when the test asks, as an exporter would at its interval. */
class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const spans = new InMemorySpanExporter();
const reader = new OnDemandReader();
let telemetry: StartedTelemetry;
let app: AppUnderTest;

beforeAll(async () => {
  telemetry = startTelemetry({ spanExporter: spans, metricReader: reader });
  app = await startAppUnderTest({ MAX_REQUEUE_ATTEMPTS: '1', STALE_AFTER_MINUTES: '30' });
  for (const t of ['TelGood', 'TelBad', 'TelFlaky'])
    await app.kusto.mgmt(`.create table ${t} (id:long, name:string)`);
});
afterAll(async () => {
  await app.stop();
  await telemetry.shutdown();
});
afterEach(() => app.dm.standin.faults.reset());

async function metric(name: string): Promise<MetricData | undefined> {
  const { resourceMetrics } = await reader.collect();
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
}

/** The sum of a counter's points whose attributes include `where`. */
async function count(name: string, where: Record<string, unknown>): Promise<number> {
  const m = await metric(name);
  return (m?.dataPoints ?? [])
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : 0), 0);
}

/** How many values a histogram recorded for points whose attributes include `where`. */
async function recorded(name: string, where: Record<string, unknown>): Promise<number> {
  const m = await metric(name);
  return (m?.dataPoints ?? [])
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + ((p.value as { count?: number }).count ?? 0), 0);
}

const spansOf = (sourceId: string, name: string): ReadableSpan[] =>
  spans.getFinishedSpans().filter((s) => s.name === name && s.attributes[ATTR.sourceId] === sourceId);

async function push(table: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  const result = await handleIngestPush(
    apiRequest('POST', `/api/ingest/demo/${table}`, body, headers),
    app.ctx,
    app.log,
  );
  expect(result.status).toBe(202);
  return (result.jsonBody as { sourceId: string }).sourceId;
}

async function settled(sourceId: string): Promise<void> {
  await eventually(
    async () => {
      const s = await app.serviceStatus(sourceId);
      return s.status === 'Pending' ? undefined : s;
    },
    20_000,
    `the service's verdict on ${sourceId}`,
  );
}

const table = (t: string) => ({ [ATTR.kind]: 'http', [ATTR.database]: 'demo', [ATTR.table]: t });

describe('telemetry: metrics and one trace per source', () => {
  it('a success: accepted, queued, bytes, succeeded, both latencies, and the final span linked to the trigger span', async () => {
    const body = '1,a\n2,b\n';
    const id = await push('TelGood', body);
    expect(await count(METRIC.accepted, table('TelGood'))).toBe(1);
    expect(await count(METRIC.queued, table('TelGood'))).toBe(1);
    expect(await count(METRIC.bytes, table('TelGood'))).toBe(Buffer.byteLength(body));
    expect(await recorded(METRIC.queueLatency, table('TelGood'))).toBe(1);
    await settled(id);
    await runSweep(app.ctx, app.log);
    expect(await count(METRIC.succeeded, table('TelGood'))).toBe(1);
    expect(await recorded(METRIC.finalLatency, { ...table('TelGood'), [ATTR.status]: 'Succeeded' })).toBe(1);
    const [accepted] = spansOf(id, 'source accepted');
    const [final] = spansOf(id, 'source final');
    expect(accepted).toBeDefined();
    expect(final?.links).toEqual([
      expect.objectContaining({
        context: expect.objectContaining({
          traceId: accepted?.spanContext().traceId,
          spanId: accepted?.spanContext().spanId,
        }) as unknown,
      }),
    ]);
    const gauge = await metric(METRIC.open);
    expect(gauge?.dataPoints.length).toBe(1);
  });

  it('a repeated push with the same Idempotency-Key counts as a duplicate, not a second source', async () => {
    const headers = { 'idempotency-key': 'telemetry-duplicate-1' };
    const first = await push('TelGood', '3,c\n', headers);
    const again = await push('TelGood', '3,c\n', headers);
    expect(again).toBe(first);
    expect(await count(METRIC.accepted, table('TelGood'))).toBe(2);
    expect(await count(METRIC.duplicates, table('TelGood'))).toBe(1);
  });

  it('a failure: counted by error code and permanence, its final span an error', async () => {
    const id = await push('TelBad', '1,a,extra\n2,b\n');
    await settled(id);
    await runSweep(app.ctx, app.log);
    const failed = {
      ...table('TelBad'),
      [ATTR.errorCode]: 'Stream_WrongNumberOfFields',
      [ATTR.permanent]: true,
    };
    expect(await count(METRIC.failed, failed)).toBe(1);
    const [final] = spansOf(id, 'source final');
    expect(final?.status).toEqual(
      expect.objectContaining({ code: 2, message: 'Stream_WrongNumberOfFields' }),
    );
  });

  it("a re-queue by the sweep and an operator's retry are counted, and the queue latency only once", async () => {
    app.dm.standin.faults.update({ failIngestionsTransient: 1 });
    const id = await push('TelFlaky', '5,flaky\n');
    await settled(id);
    await runSweep(app.ctx, app.log);
    expect(await count(METRIC.requeued, table('TelFlaky'))).toBe(1);
    expect(await count(METRIC.queued, table('TelFlaky'))).toBe(2);
    expect(await recorded(METRIC.queueLatency, table('TelFlaky'))).toBe(1);

    // The re-queued attempt fails too (MAX_REQUEUE_ATTEMPTS 1): then an operator retries it.
    app.dm.standin.faults.update({ failIngestionsTransient: 1 });
    await eventually(async () => {
      await runSweep(app.ctx, app.log);
      return (await app.ctx.tracking.get(id))?.state === 'closed' ? true : undefined;
    }, 30_000);
    expect(await count(METRIC.failed, { ...table('TelFlaky'), [ATTR.permanent]: false })).toBe(1);
    app.dm.standin.faults.reset();
    const outcome = await retrySource(app.ctx, app.log, id);
    expect(outcome).toEqual(expect.objectContaining({ sourceId: id }));
    expect(await count(METRIC.retried, table('TelFlaky'))).toBe(1);
    await eventually(async () => {
      await runSweep(app.ctx, app.log);
      return (await app.ctx.tracking.get(id))?.finalStatus === 'Succeeded' ? true : undefined;
    }, 30_000);
    expect(await count(METRIC.succeeded, table('TelFlaky'))).toBe(1);
  });
});
