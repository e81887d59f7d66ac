/**
 * End to end through the local host, as a user runs it: real HTTP to the host's port, blobs dropped into
 * the landing container and announced by the landing watcher, the queue trigger, the admin endpoint.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { QueueClient } from '@azure/storage-queue';
import { blobCreatedEventFor, LandingWatcher } from '../../dev/host/landingWatcher';
import type { LocalHost, startLocalHost } from '../../dev/host/localHost';
import { getAppContext, resetAppContext } from '../../shared/app/context';
import { canonicalBlobUrl, landingSourceId } from '../../shared/app/landing/landingBlob';
import { pushSourceId } from '../../shared/app/push/pushData';
import { closeIngestClients } from '../../shared/ingest/getIngestClient';
import { engine, eventually } from '../helpers/engine';
import { answeredCodes, corpusBody, explainsItself, httpCorpus } from '../helpers/httpCorpus';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, connectionString, tableClient } from '../helpers/stack';

let dm: PrivateStandin;
let host: LocalHost;
let watcher: LandingWatcher;
let kusto: ReturnType<typeof engine>;
const saved = { ...process.env };
const id = randomBytes(3).toString('hex');
const names = { landing: `hl-${id}`, failed: `hlf-${id}`, events: `hle-${id}` };
const logs: string[] = [];

beforeAll(async () => {
  dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  kusto = engine(dm.standin.engineUrl);
  Object.assign(process.env, {
    KUSTO_INGEST_URI: dm.standin.dmUrl,
    KUSTO_AUTH: 'none',
    AzureWebJobsStorage: connectionString(0),
    LandingStorage: connectionString(0),
    LANDING_CONTAINER: names.landing,
    LANDING_FAILED_CONTAINER: names.failed,
    LANDING_EVENTS_QUEUE: names.events,
    LANDING_BLOB_AUTH: 'account-key',
  });
  resetAppContext();
  // The functions read their trigger settings at load: load them now, with these settings.
  jest.resetModules();
  const { startLocalHost: start } = jest.requireActual<{ startLocalHost: typeof startLocalHost }>(
    '../../dev/host/localHost',
  );
  host = await start({
    port: 0,
    timer: false,
    queue: { visibilityTimeoutSeconds: 1, maxDequeueCount: 2, pollIntervalMs: 100 },
    log: (l) => logs.push(l),
  });
  watcher = new LandingWatcher({
    container: blobService(0).getContainerClient(names.landing),
    queue: new QueueClient(connectionString(0), names.events),
    intervalMs: 200,
  });
  await watcher.start();
  for (const t of ['Landed', 'Pushed', 'Twice', 'Broken', 'Corpus'])
    await kusto.mgmt(`.create table ${t} (id:long, name:string)`);
});
afterAll(async () => {
  await watcher.stop();
  await host.stop();
  closeIngestClients();
  resetAppContext();
  await dm.stop();
  process.env = saved;
});

describe('the local host', () => {
  it('ingests a blob dropped into landing: watcher → queue trigger → Kusto', async () => {
    await blobService(0)
      .getContainerClient(names.landing)
      .getBlockBlobClient('demo/Landed/a.csv')
      .upload('1,a\n2,b\n', 8);
    await eventually(
      async () => ((await kusto.count('Landed')) === 2 ? true : undefined),
      30_000,
      'the landed rows',
    );
    expect(watcher.posted).toBeGreaterThanOrEqual(1);
  });

  it('serves the HTTP API on its port: push, then status, with the body streamed', async () => {
    const push = await fetch(`${host.url}/api/ingest/demo/Pushed`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'idempotency-key': `host-${id}` },
      body: '1,x\n2,y\n3,z\n',
    });
    expect(push.status).toBe(202);
    const { sourceId, statusUrl } = (await push.json()) as { sourceId: string; statusUrl: string };
    expect(statusUrl).toBe(`${host.url}/api/ingest/status/${sourceId}`);
    const status = await eventually(
      async () => {
        const s = (await (await fetch(statusUrl)).json()) as { status: string };
        return s.status === 'Succeeded' ? s : undefined;
      },
      30_000,
      'Succeeded',
    );
    expect(status).toMatchObject({ sourceId, database: 'demo', table: 'Pushed', status: 'Succeeded' });
    const again = await fetch(`${host.url}/api/ingest/demo/Pushed`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'idempotency-key': `host-${id}` },
      body: '1,x\n',
    });
    expect(((await again.json()) as { sourceId: string }).sourceId).toBe(sourceId);
    expect(await kusto.count('Pushed')).toBe(3);
  });

  it('answers unknown routes and wrong methods in the API error shape', async () => {
    const missing = await fetch(`${host.url}/api/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('RouteNotFound');
    const wrong = await fetch(`${host.url}/api/ingest/demo/Pushed`, { method: 'GET' });
    expect(wrong.status).toBe(405);
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
  });

  it('runs a function now through the admin endpoint', async () => {
    const r = await fetch(`${host.url}/admin/functions/sweepStatus`, { method: 'POST' });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ function: 'sweepStatus', status: 'completed' });
    expect(logs.some((l) => l.includes('SweepCompleted'))).toBe(true);
    expect((await fetch(`${host.url}/admin/functions/nope`, { method: 'POST' })).status).toBe(404);
  });

  it('moves a landing message that is no event to the poison queue at once, and the sweep counts it', async () => {
    await new QueueClient(connectionString(0), names.events).sendMessage(
      Buffer.from('{"not":"an event"}').toString('base64'),
    );
    const poison = new QueueClient(connectionString(0), `${names.events}-poison`);
    await eventually(
      async () => ((await poison.getProperties()).approximateMessagesCount === 1 ? true : undefined),
      30_000,
      'the poison message',
    );
    const r = await fetch(`${host.url}/admin/functions/sweepStatus`, { method: 'POST' });
    expect(r.status).toBe(202);
    expect(logs.some((l) => l.includes('LandingPoisonMessages'))).toBe(true);
    expect(getAppContext().config.landingEventsQueue).toBe(names.events);
  });
});

describe('stopping the local host', () => {
  it('answers a request under way before it stops, instead of resetting it', async () => {
    const { startLocalHost: start } = jest.requireActual<{ startLocalHost: typeof startLocalHost }>(
      '../../dev/host/localHost',
    );
    const second = await start({
      port: 0,
      timer: false,
      queue: { pollIntervalMs: 100 },
      log: () => undefined,
    });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('1,draining\n'));
        await gate;
        controller.enqueue(new TextEncoder().encode('2,draining\n'));
        controller.close();
      },
    });
    const key = `drain-${id}`;
    const pending = fetch(`${second.url}/api/ingest/demo/Pushed`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'idempotency-key': key },
      body,
      duplex: 'half',
    });
    // The request is at work: its source is tracked.
    await eventually(async () =>
      (await getAppContext().tracking.get(pushSourceId('demo', 'Pushed', key))) ? true : undefined,
    );
    const stopped = second.stop();
    release();
    expect((await pending).status).toBe(202);
    await stopped;
    await expect(fetch(`${second.url}/api/health`)).rejects.toThrow(); // and it takes nothing new
  });
});

describe('the local host, end to end', () => {
  it('ingests once when Event Grid delivers the same event twice', async () => {
    const container = blobService(0).getContainerClient(names.landing);
    const blob = container.getBlockBlobClient('demo/Twice/t.csv');
    const etag = (await blob.upload('1,t\n', 4)).etag ?? '';
    const event = Buffer.from(
      JSON.stringify(blobCreatedEventFor(blob.url, etag.replace(/"/g, ''), 4, 'text/csv')),
    ).toString('base64');
    const queue = new QueueClient(connectionString(0), names.events);
    await queue.sendMessage(event); // the watcher announces it too: three deliveries in all
    await queue.sendMessage(event);
    await eventually(
      async () => ((await kusto.count('Twice')) === 1 ? true : undefined),
      30_000,
      'the row',
    ).catch((e: unknown) => {
      throw new Error(
        `${(e as Error).message}; host log: ${logs
          .filter((l) => l.includes('Twice') || l.includes('error'))
          .slice(-8)
          .join(' | ')}`,
      );
    });
    // All three deliveries handled (one queued it, two found it taken), and whatever they queued ingested:
    const sourceId = landingSourceId(canonicalBlobUrl(blob.url), etag);
    await eventually(
      () => {
        const handled = logs.filter((l) => l.includes('LandingHandled') && l.includes(sourceId));
        return Promise.resolve(handled.length >= 3 ? true : undefined);
      },
      30_000,
      'three deliveries handled',
    );
    await dm.standin.worker?.drained();
    expect(await kusto.count('Twice')).toBe(1);
  });

  it('reports a malformed landing file once, with its error code, and quarantines it, when the sweep runs', async () => {
    await blobService(0)
      .getContainerClient(names.landing)
      .getBlockBlobClient('demo/Broken/bad.csv')
      .upload('1,a\n2,b,c\n', 10);
    await eventually(
      async () => {
        const failures = (await kusto.mgmt('.show ingestion failures')).objects;
        return failures.some((f) => String(f.IngestionSourcePath).endsWith('/bad.csv')) ? true : undefined;
      },
      30_000,
      'the failure',
    );
    await fetch(`${host.url}/admin/functions/sweepStatus`, { method: 'POST' });
    await fetch(`${host.url}/admin/functions/sweepStatus`, { method: 'POST' });
    const reports: Record<string, unknown>[] = [];
    for await (const row of tableClient('IngestionFailures').listEntities()) {
      if (String(row.Source).endsWith(`${names.landing}/demo/Broken/bad.csv`)) reports.push(row);
    }
    expect(reports).toEqual([
      expect.objectContaining({ Event: 'IngestionFailed', ErrorCode: 'Stream_WrongNumberOfFields' }),
    ]);
    expect(
      await blobService(0).getContainerClient(names.failed).getBlobClient('demo/Broken/bad.csv').exists(),
    ).toBe(true);
  });

  it(`answers every request of the bad-request corpus (${httpCorpus.length}) with its 4xx, stays up, and queues nothing`, async () => {
    const before = dm.standin.worker?.processed ?? 0;
    expect(httpCorpus.length).toBeGreaterThanOrEqual(80);
    for (const c of httpCorpus) {
      const body = corpusBody(c);
      const response = await fetch(`${host.url}${c.path}`, {
        method: c.method,
        ...(c.headers && { headers: c.headers }),
        ...(body !== undefined && { body }),
      });
      const answer: unknown = await response.json();
      const codes = answeredCodes(answer);
      expect([
        c.name,
        response.status,
        codes.length > 0 && codes.every((code) => code === c.code),
        explainsItself(answer),
      ]).toEqual([c.name, c.status, true, true]);
    }
    expect((await fetch(`${host.url}/api/health`)).status).toBe(200);
    await dm.standin.worker?.drained();
    expect(dm.standin.worker?.processed ?? 0).toBe(before);
    expect(await kusto.count('Corpus')).toBe(0);
  });

  it('closes the socket of a request it answered before reading its body (a 413), so keep-alive reuses no half-read socket', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, body?: Buffer) =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const req = httpRequest(
          `${host.url}${path}`,
          { method, agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      const big = Buffer.from(
        JSON.stringify({ blobs: [{ url: `https://a.blob.core.windows.net/c/${'x'.repeat(1_200_000)}` }] }),
      );
      const refused = await send('POST', '/api/ingest/demo/Corpus/blobs', big);
      expect(refused).toEqual({ status: 413, connection: 'close' });
      // The next request through the same one-socket agent is answered (before: reset, seconds later).
      expect(await send('GET', '/api/health')).toMatchObject({ status: 200 });
    } finally {
      agent.destroy();
    }
  });
});
