/**
 * The local host with its auth levels enforced (HOST_ENFORCE_KEYS, as Azure does): the ingestion callers'
 * function key pushes data, and is refused on every operator function (backfill, retry, replay); only the
 * master key opens those. The security review found backfill, retry and replay open to the function key.
 */
import { randomBytes } from 'node:crypto';
import type { HostKeys, LocalHost, startLocalHost } from '../../dev/host/localHost';
import { resetAppContext } from '../../shared/app/context';
import { closeIngestClients } from '../../shared/ingest/getIngestClient';
import { engine } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { connectionString } from '../helpers/stack';

let dm: PrivateStandin;
let host: LocalHost;
let keys: HostKeys;
const saved = { ...process.env };
const id = randomBytes(3).toString('hex');
const printed: string[] = [];

beforeAll(async () => {
  dm = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  Object.assign(process.env, {
    KUSTO_INGEST_URI: dm.standin.dmUrl,
    KUSTO_AUTH: 'none',
    AzureWebJobsStorage: connectionString(0),
    LandingStorage: connectionString(0),
    LANDING_CONTAINER: `hk-${id}`,
    LANDING_FAILED_CONTAINER: `hkf-${id}`,
    LANDING_EVENTS_QUEUE: `hke-${id}`,
    LANDING_BLOB_AUTH: 'account-key',
    HOST_ENFORCE_KEYS: 'true',
  });
  resetAppContext();
  jest.resetModules();
  const { startLocalHost: start } = jest.requireActual<{ startLocalHost: typeof startLocalHost }>(
    '../../dev/host/localHost',
  );
  host = await start({ port: 0, timer: false, log: (l) => printed.push(l) });
  keys = host.keys ?? { master: '', function: '' };
  await engine(dm.standin.engineUrl).mgmt('.create table Keyed (id:long, name:string)');
});
afterAll(async () => {
  await host.stop();
  closeIngestClients();
  resetAppContext();
  await dm.stop();
  process.env = saved;
});

const send = (method: string, path: string, key: string | undefined, body?: string) =>
  fetch(`${host.url}${path}`, {
    method,
    headers: {
      ...(key !== undefined && { 'x-functions-key': key }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body,
  });

const OPERATOR_CALLS: readonly [string, string, string | undefined][] = [
  ['POST', '/api/backfill', JSON.stringify({ dryRun: true })],
  ['POST', '/api/ingest/status/00000000-0000-4000-8000-000000000001/retry', '{}'],
  ['POST', '/api/ingest/retry', JSON.stringify({ database: 'demo' })],
  ['POST', '/api/landing/replay', '{}'],
  ['GET', '/api/ingest', undefined],
  ['GET', '/api/operator/audit', undefined],
  ['GET', '/api/console', undefined],
];

describe('the local host with auth levels enforced', () => {
  it('makes its keys and prints them at start', () => {
    expect(keys.master).toMatch(/^[\w-]{20,}$/);
    expect(keys.function).toMatch(/^[\w-]{20,}$/);
    expect(keys.master).not.toBe(keys.function);
    expect(printed.join('\n')).toContain(keys.master);
  });

  it.each(OPERATOR_CALLS)(
    'refuses %s %s with the ingestion function key, or none (401), and opens it to the master key',
    async (method, path, body) => {
      expect((await send(method, path, keys.function, body)).status).toBe(401);
      expect((await send(method, path, undefined, body)).status).toBe(401);
      expect((await send(method, path, `${keys.master}x`, body)).status).toBe(401);
      const opened = await send(method, path, keys.master, body);
      expect([path, opened.status]).not.toEqual([path, 401]);
      expect(opened.status).toBeLessThan(500);
    },
  );

  it('takes the function key (or the master key) for ingestion, and nothing for health and the console assets', async () => {
    const pushed = await fetch(`${host.url}/api/ingest/demo/Keyed?code=${keys.function}`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: '1,a\n',
    });
    expect(pushed.status).toBe(202);
    expect((await send('POST', '/api/ingest/demo/Keyed', undefined, '1,a\n')).status).toBe(401);
    expect((await send('GET', '/api/health', undefined)).status).toBe(200);
    expect((await send('GET', '/api/console/assets/console.js', undefined)).status).toBe(200);
  });

  it('opens its admin API to the master key only', async () => {
    expect((await send('POST', '/admin/functions/sweepStatus', keys.function)).status).toBe(401);
    expect((await send('POST', '/admin/functions/sweepStatus', keys.master)).status).toBe(202);
  });
});
