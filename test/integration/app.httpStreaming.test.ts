import { handleIngestPush, handleIngestStatus } from '../../shared/app/http/ingestHandlers';
import { STREAMING_LIMIT_BYTES } from '../../shared';
import { apiRequest } from '../helpers/apiRequest';
import { startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';

let app: AppUnderTest;
beforeAll(async () => {
  app = await startAppUnderTest({ HTTP_INGEST_FLAVOR: 'managed-streaming' });
  await app.kusto.mgmt('.create table Fast (id:long, name:string)');
  await app.kusto.mgmt('.alter table Fast policy streamingingestion enable');
  await app.kusto.mgmt('.create table NoPolicy (id:long, name:string)');
});
afterAll(async () => {
  await app.stop();
});

const request = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  apiRequest('POST', path, body, { 'content-type': 'text/csv', ...headers });

const push = (path: string, body: string | Buffer) => handleIngestPush(request(path, body), app.ctx, app.log);

describe('HTTP_INGEST_FLAVOR=managed-streaming', () => {
  it('streams a small push and answers 200 Succeeded: the rows are there already', async () => {
    const result = await push('/api/ingest/demo/Fast', '1,a\n2,b\n');
    expect(result.status).toBe(200);
    const { sourceId, status } = result.jsonBody as { sourceId: string; status: string };
    expect(status).toBe('Succeeded');
    expect(await app.kusto.count('Fast')).toBe(2);
    const byId = await handleIngestStatus(
      apiRequest('GET', `/api/ingest/status/${sourceId}`),
      app.ctx,
      app.log,
    );
    expect(byId.jsonBody).toMatchObject({ sourceId, state: 'closed', status: 'Succeeded' });
  });

  it('queues a push over 4 MiB (202), without holding it in memory first', async () => {
    const big = Buffer.from('3,c\n'.repeat(Math.ceil((STREAMING_LIMIT_BYTES + 100) / 4)));
    const result = await push('/api/ingest/demo/Fast', big);
    expect(result.status).toBe(202);
    const { sourceId } = result.jsonBody as { sourceId: string };
    expect(await app.ctx.tracking.get(sourceId)).toMatchObject({ state: 'queued', kind: 'http' });
    await eventually(
      async () =>
        (await app.kusto.query('Fast | where id == 3 | count')).rows[0]?.[0] === big.length / 4
          ? true
          : undefined,
      30_000,
    );
  });

  it('queues (202) when the table has no streaming policy, and when streaming is off on the cluster', async () => {
    expect((await push('/api/ingest/demo/NoPolicy', '1,a\n')).status).toBe(202);
    app.dm.standin.faults.update({ streaming: 'disabled' });
    try {
      expect((await push('/api/ingest/demo/Fast', '9,z\n')).status).toBe(202);
    } finally {
      app.dm.standin.faults.reset();
    }
    await eventually(async () => ((await app.kusto.count('NoPolicy')) === 1 ? true : undefined), 30_000);
    await eventually(
      async () =>
        (await app.kusto.query('Fast | where id == 9 | count')).rows[0]?.[0] === 1 ? true : undefined,
      30_000,
    );
  });

  it('answers a permanent streaming failure with a 4xx-5xx error and leaves no open row', async () => {
    const result = await push('/api/ingest/demo/Fast?mapping=missing', '1,a\n');
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.jsonBody).toMatchObject({ error: { code: 'BadRequest' } });
    const open: string[] = [];
    for await (const { sourceId } of app.ctx.tracking.openEntries()) {
      const r = await app.ctx.tracking.get(sourceId);
      if (r?.state === 'queuing') open.push(sourceId);
    }
    expect(open).toEqual([]);
  });
});
