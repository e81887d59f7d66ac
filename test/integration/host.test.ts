/**
 * End to end through the local host, as a user runs it: real HTTP to the host's port, blobs dropped into
 * the landing container and announced by the landing watcher, the queue trigger, the admin endpoint.
 */
import { randomBytes } from 'node:crypto';
import { QueueClient } from '@azure/storage-queue';
import { LandingWatcher } from '../../dev/host/landingWatcher';
import type { LocalHost, startLocalHost } from '../../dev/host/localHost';
import { getAppContext, resetAppContext } from '../../shared/app/appContext';
import { closeIngestClients } from '../../shared/ingest/getIngestClient';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, connectionString } from '../helpers/stack';

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
    LANDING_SAS_MODE: 'account-key',
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
    visibilityTimeoutSeconds: 1,
    maxDequeueCount: 2,
    queuePollIntervalMs: 100,
    log: (l) => logs.push(l),
  });
  watcher = new LandingWatcher({
    container: blobService(0).getContainerClient(names.landing),
    queue: new QueueClient(connectionString(0), names.events),
    intervalMs: 200,
  });
  await watcher.start();
  for (const t of ['Landed', 'Pushed']) await kusto.mgmt(`.create table ${t} (id:long, name:string)`);
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
      headers: { 'idempotency-key': `host-${id}` },
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

  it('moves a malformed landing message to the poison queue after maxDequeueCount tries, and the sweep counts it', async () => {
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
