/**
 * Scenario 7, one STATUS_MODE (BENCH_STATUS_MODE): BENCH_ITEMS HTTP pushes through the app and a stand-in of
 * this process's own (worker on), every storage request of every party counted by phase, and the sweep timed:
 *   enqueue  - the pushes (upload, message, tracking writes; the status row in table mode);
 *   pending  - a sweep while every item is still pending (the service has not got to them);
 *   service  - the stand-in's worker ingesting and reporting them;
 *   closing  - the sweep that closes them all (failures-only: once the batching window has passed).
 * Requests are counted at the HTTP client (diagnostics_channel), by the storage port they go to.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import type { HttpRequestLike } from '../../shared/app/http/httpTypes';
import { runSweep } from '../../shared/app/sweep/sweep';
import { emptySummary } from '../../shared/app/sweep/sweepSummary';
import { silentLogger } from '../../shared/log';
import { pool } from '../harness';
import { progress, report, run, setting, timed } from './common';
import { privateStack } from './privateStack';

interface Counts {
  blob: number;
  queue: number;
  table: number;
  /** GETs of one table entity: a point read of a tracking or status row. */
  rowReads: number;
  /** Point reads of the service's status table. */
  statusReads: number;
}

const zero = (): Counts => ({ blob: 0, queue: 0, table: 0, rowReads: 0, statusReads: 0 });

function request(i: number): HttpRequestLike {
  return {
    method: 'POST',
    url: 'http://localhost:7071/api/ingest/demo/Status',
    headers: new Headers({ 'content-type': 'text/csv' }),
    query: new URLSearchParams(),
    params: { database: 'demo', table: 'Status' },
    body: new Blob([`${i},item ${i}\n`]).stream(),
  };
}

run(async () => {
  const mode = setting('BENCH_STATUS_MODE');
  const items = Number(setting('BENCH_ITEMS', '1000'));
  let offsetMs = 0;
  const { standin, ctx, accounts, id } = await privateStack({
    statusMode: mode,
    workerPaused: true,
    batchingWindowMs: 200,
    clock: () => Date.now() + offsetMs,
  });
  const portOf = (url: string) => new URL(url).port;
  const services = new Map<string, keyof Counts>();
  for (const a of accounts) {
    services.set(portOf(a.blobEndpoint), 'blob');
    services.set(portOf(a.queueEndpoint), 'queue');
    services.set(portOf(a.tableEndpoint), 'table');
  }
  let counts = zero();
  subscribe('http.client.request.start', (message) => {
    const req = (message as { request: ClientRequest }).request;
    const host = String(req.getHeader('host') ?? '');
    const service = services.get(host.split(':')[1] ?? '');
    if (!service) return;
    counts[service] += 1;
    if (service === 'table' && req.method === 'GET' && req.path.includes('(PartitionKey=')) {
      counts.rowReads += 1;
      if (req.path.includes(`/status${id}(`)) counts.statusReads += 1;
    }
  });
  const phase = async (name: string, work: () => Promise<void>) => {
    counts = zero();
    const seconds = await timed(work);
    const c = counts;
    progress(`${mode}: ${name} of ${items} items done in ${seconds.toFixed(1)} s`);
    return { seconds, c };
  };

  await fetch(`${standin.engineUrl}/v1/rest/mgmt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ db: 'demo', csl: '.create table Status (id:long, name:string)' }),
  });
  const push = async (i: number) => {
    const result = await handleIngestPush(request(i), ctx, silentLogger);
    if (result.status !== 202)
      throw new Error(`push ${i}: ${result.status} ${JSON.stringify(result.jsonBody)}`);
  };
  const sweep = () => runSweep(ctx, silentLogger, { drain: { visibilityTimeoutInSeconds: 600 } });
  // What the service's default batching window (5 min) and the margin ask failures-only to wait.
  const settle = () => {
    if (mode === 'failures-only') offsetMs += (5 + ctx.config.settleMarginMinutes + 1) * 60_000;
  };

  // Warm-up, not counted: resources, connections, tables.
  for (let i = 0; i < 5; i++) await push(-1 - i);
  standin.faults.update({ workerPaused: false });
  await standin.worker?.drained();
  settle();
  await sweep();
  standin.faults.update({ workerPaused: true });

  const enqueue = await phase('enqueue', () => pool(items, 50, push));
  let pendingSummary = emptySummary();
  const pending = await phase('pending', async () => {
    pendingSummary = await sweep();
  });
  standin.faults.update({ workerPaused: false });
  const service = await phase('service', async () => {
    await standin.worker?.drained();
  });
  settle();
  let closingSummary = emptySummary();
  const closing = await phase('closing', async () => {
    closingSummary = await sweep();
  });
  const open = (await sweep()).open;
  await standin.stop();
  if (closingSummary.succeeded !== items || open !== 0)
    throw new Error(`${closingSummary.succeeded} of ${items} closed as ingested, ${open} still open`);
  const per = (c: Counts) => (c.blob + c.queue + c.table) / items;
  report({
    items,
    enqueuePerItem: per(enqueue.c),
    pendingPerItem: per(pending.c),
    servicePerItem: per(service.c),
    closingPerItem: per(closing.c),
    pendingRowReadsPerItem: pending.c.rowReads / items,
    statusReadsPerItem: (pending.c.statusReads + closing.c.statusReads) / items,
    closingRowReadsPerItem: closing.c.rowReads / items,
    pendingSweepSeconds: pending.seconds,
    closingSweepSeconds: closing.seconds,
    pendingOpen: pendingSummary.open,
    succeeded: closingSummary.succeeded,
  });
});
