import { gzipSync } from 'node:zlib';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { BlobSASPermissions } from '@azure/storage-blob';
import {
  handleIngestBlobs,
  handleIngestPush,
  handleIngestStatus,
} from '../../shared/app/http/ingestHandlers';
import type { HttpResult } from '../../shared/app/http/httpTypes';
import { pushFingerprint, pushSourceId } from '../../shared/app/push/pushData';
import { startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { apiRequest, type RequestBody } from '../helpers/apiRequest';
import { eventually } from '../helpers/engine';
import { answeredCodes, callHandler, explainsItself, httpCorpus } from '../helpers/httpCorpus';
import { blobService } from '../helpers/stack';

let app: AppUnderTest;
beforeAll(async () => {
  app = await startAppUnderTest();
  await app.kusto.mgmt('.create table Pushed (id:long, name:string)');
  await app.kusto.mgmt('.create table Docs (id:long, name:string)');
  await app.kusto.mgmt('.create table Keyed (id:long, name:string)');
  await app.kusto.mgmt('.create table Refs (id:long, name:string)');
  await app.kusto.mgmt('.create table Corpus (id:long, name:string)');
});
afterAll(async () => {
  await app.stop();
});

const request = apiRequest;

const push = (path: string, body: RequestBody, headers: Record<string, string> = {}) =>
  handleIngestPush(request('POST', path, body, headers), app.ctx, app.log);
const status = (sourceId: string) =>
  handleIngestStatus(request('GET', `/api/ingest/status/${sourceId}`), app.ctx, app.log);
const json = (r: HttpResult) => r.jsonBody as Record<string, unknown>;

async function finalStatus(sourceId: string): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const r = json(await status(sourceId));
      return r.status === 'Pending' || r.status === 'Queuing' ? undefined : r;
    },
    20_000,
    `the status of ${sourceId}`,
  );
}

describe('POST /api/ingest/{database}/{table}', () => {
  it('streams the body to Kusto and answers 202 with the source id and a status URL; the rows land', async () => {
    const result = await push('/api/ingest/demo/Pushed', '1,one\n2,two\n', { 'content-type': 'text/csv' });
    expect(result.status).toBe(202);
    const { sourceId, statusUrl } = json(result) as { sourceId: string; statusUrl: string };
    expect(statusUrl).toBe(`http://127.0.0.1:7071/api/ingest/status/${sourceId}`);
    expect(result.headers?.location).toBe(statusUrl);
    expect(await finalStatus(sourceId)).toMatchObject({
      status: 'Succeeded',
      database: 'demo',
      table: 'Pushed',
    });
    expect(await app.kusto.count('Pushed')).toBe(2);
    const record = await app.ctx.tracking.get(sourceId);
    expect(record).toMatchObject({ kind: 'http', state: 'queued' });
    // KUSTO_INGEST_PROTOCOL auto on a cluster that prefers REST: submitted over v2, journaled first.
    expect(record?.submission).toMatch(/^kif-batch:[0-9a-f-]{36}$/);
    expect(record?.operation).toEqual(expect.any(String));
    const tagged = await app.kusto.mgmt(`.show table Pushed extents where tags has '${record?.submission}'`);
    expect(tagged.rows).toHaveLength(1);
  });

  it('takes the format from ?format= or the Content-Type, and accepts a gzip body', async () => {
    const lines = '{"id":10,"name":"x"}\n{"id":11,"name":"y"}\n';
    const ndjson = await push('/api/ingest/demo/Docs', lines, { 'content-type': 'application/x-ndjson' });
    const byQuery = await push('/api/ingest/demo/Docs?format=json', gzipSync(lines), {
      'content-encoding': 'gzip',
    });
    for (const r of [ndjson, byQuery])
      expect(await finalStatus(String(json(r).sourceId))).toMatchObject({ status: 'Succeeded' });
    expect(await app.kusto.count('Docs')).toBe(4);
  });

  it('passes ?tags, ?creationTime and ?mapping through to Kusto', async () => {
    await app.kusto.mgmt(
      `.create table Pushed ingestion csv mapping "swap" '[{"column":"id","Properties":{"Ordinal":"1"}},{"column":"name","Properties":{"Ordinal":"0"}}]'`,
    );
    const result = await push(
      '/api/ingest/demo/Pushed?mapping=swap&tags=a,drop-by:b&creationTime=2022-02-02T00:00:00Z',
      'zz,99\n',
    );
    expect(await finalStatus(String(json(result).sourceId))).toMatchObject({ status: 'Succeeded' });
    expect((await app.kusto.query('Pushed | where id == 99')).objects).toEqual([{ id: 99, name: 'zz' }]);
    const extents = (await app.kusto.mgmt('.show table Pushed extents')).objects;
    const dated = extents.find((e) => e.MinCreatedOn === '2022-02-02T00:00:00Z');
    // The caller's tags, and the app's own: the submission it came in (ingest v2's evidence).
    expect(String(dated?.Tags).split('\r\n').sort()).toEqual([
      'a',
      'drop-by:b',
      expect.stringMatching(/^kif-batch:/),
    ]);
  });
});

describe('Idempotency-Key', () => {
  it('the same key twice ingests once and answers the first 202 again', async () => {
    const headers = { 'idempotency-key': 'order-1001' };
    const first = await push('/api/ingest/demo/Keyed', '1,a\n', headers);
    const second = await push('/api/ingest/demo/Keyed', '1,a\n', headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(json(second)).toMatchObject({ sourceId: json(first).sourceId, replay: true });
    expect(json(first).sourceId).toBe(pushSourceId('demo', 'Keyed', 'order-1001'));
    await finalStatus(String(json(first).sourceId));
    await app.dm.standin.worker?.drained(); // anything else queued has been ingested by now
    expect(await app.kusto.count('Keyed')).toBe(1);
  });

  it('a retry after a crash mid-upload is ingested once, with the retry’s complete data', async () => {
    const headers = { 'idempotency-key': 'crash-mid-upload' };
    async function* brokenBody() {
      yield Buffer.from('5,partial\n');
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('the connection dropped');
    }
    const broken = await push('/api/ingest/demo/Keyed', brokenBody(), headers);
    expect(broken.status).toBeGreaterThanOrEqual(500);
    const sourceId = pushSourceId('demo', 'Keyed', 'crash-mid-upload');
    expect(await app.ctx.tracking.get(sourceId)).toBeUndefined(); // nothing left behind: the key is free
    const retry = await push('/api/ingest/demo/Keyed', '5,complete\n6,complete\n', headers);
    expect(retry.status).toBe(202);
    expect(await finalStatus(sourceId)).toMatchObject({ status: 'Succeeded' });
    expect((await app.kusto.query('Keyed | where name == "complete" | count')).objects).toEqual([
      { Count: 2 },
    ]);
    expect((await app.kusto.query('Keyed | where name == "partial" | count')).objects).toEqual([
      { Count: 0 },
    ]);
  });

  it('a retry after a crash between upload and enqueue queues the staged data without uploading again', async () => {
    const sourceId = pushSourceId('demo', 'Keyed', 'crash-after-upload');
    const props = {
      database: 'demo',
      table: 'Keyed',
      format: 'csv' as const,
      sourceId,
      reportLevel: 2 as const,
      reportMethod: 1 as const,
    };
    const begun = await app.ctx.tracking.begin({
      sourceId,
      kind: 'http',
      database: 'demo',
      table: 'Keyed',
      props,
      fingerprint: pushFingerprint({ database: 'demo', table: 'Keyed', format: 'csv', tags: [] }),
    });
    if (begun.kind !== 'new') throw new Error('expected a new row');
    const staged = await app.ctx.ingest.uploadToTempStorage(['7,staged\n'], props);
    await app.ctx.tracking.stage(begun.record, staged);
    // The process stops here, holding the lease: a retry meanwhile is told to come back.
    const early = await push('/api/ingest/demo/Keyed', '8,not-this\n', {
      'idempotency-key': 'crash-after-upload',
    });
    expect(early.status).toBe(409);
    expect(Number(early.headers?.['retry-after'])).toBeGreaterThan(500);
    app.advanceClock(11 * 60_000); // the lease has run out: the process is gone
    const retry = await push('/api/ingest/demo/Keyed', '8,not-this\n', {
      'idempotency-key': 'crash-after-upload',
    });
    expect(retry.status).toBe(202);
    expect(await finalStatus(sourceId)).toMatchObject({ status: 'Succeeded' });
    expect((await app.kusto.query('Keyed | where name == "staged" | count')).objects).toEqual([{ Count: 1 }]);
    expect((await app.kusto.query('Keyed | where name == "not-this" | count')).objects).toEqual([
      { Count: 0 },
    ]);
  });
});

describe('POST /api/ingest/{database}/{table}/blobs', () => {
  it('queues existing blobs by URL, with a result per blob (one bad one does not sink the rest)', async () => {
    const container = blobService(0).getContainerClient('refs-src');
    await container.createIfNotExists();
    const urls = [];
    for (const [name, content] of [
      ['a.csv', '1,a\n'],
      ['b.csv', '2,b\n3,b\n'],
    ] as const) {
      const blob = container.getBlockBlobClient(`${Date.now()}-${name}`);
      await blob.upload(content, content.length);
      urls.push(
        await blob.generateSasUrl({
          permissions: BlobSASPermissions.parse('r'),
          expiresOn: new Date(Date.now() + 3_600_000),
        }),
      );
    }
    const body = JSON.stringify({
      blobs: [{ url: urls[0] }, { url: urls[1], rawSize: 8 }, { url: 'not a url' }],
      format: 'csv',
    });
    const result = await handleIngestBlobs(
      request('POST', '/api/ingest/demo/Refs/blobs', body),
      app.ctx,
      app.log,
    );
    expect(result.status).toBe(202);
    const results = json(result).results as Record<string, unknown>[];
    expect(results).toHaveLength(3);
    expect(results[0]).toMatchObject({
      sourceId: expect.any(String) as unknown,
      url: urls[0]?.split('?')[0],
    });
    expect(results[2]).toMatchObject({ url: 'not a url', error: { code: 'InvalidProperty' } });
    expect(JSON.stringify(results)).not.toContain('sig='); // SAS never echoed
    for (const r of results.slice(0, 2))
      expect(await finalStatus(String(r.sourceId))).toMatchObject({ status: 'Succeeded' });
    expect(await app.kusto.count('Refs')).toBe(3);
  });
});

describe('bad requests get the right 4xx and queue nothing (test/corpus/http-requests.json)', () => {
  const cases = httpCorpus.filter((c) => !c.hostOnly);

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const result = await callHandler(c, app.ctx, app.log);
    expect([result.status, answeredCodes(result.jsonBody).every((code) => code === c.code)]).toEqual([
      c.status,
      true,
    ]);
    expect(explainsItself(result.jsonBody)).toBe(true);
  });

  it('queued nothing for any of them, and leaves no open tracking row behind', async () => {
    await app.dm.standin.worker?.drained();
    expect(await app.kusto.count('Corpus')).toBe(0);
    const open: string[] = [];
    for await (const { sourceId } of app.ctx.tracking.openEntries()) {
      const record = await app.ctx.tracking.get(sourceId);
      if (record?.table === 'Corpus') open.push(`${record.table}:${record.state}`);
    }
    expect(open).toEqual([]);
  });
});

describe('the HTTP functions', () => {
  it('ingestHttp and ingestStatus answer through @azure/functions requests; health reports the configuration', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, app.env);
    try {
      jest.resetModules();
      /* eslint-disable @typescript-eslint/no-require-imports */
      const ingest = require('../../functions/ingestHttp') as typeof import('../../functions/ingestHttp');
      const statusFn =
        require('../../functions/ingestStatus') as typeof import('../../functions/ingestStatus');
      const health = require('../../functions/health') as typeof import('../../functions/health');
      /* eslint-enable @typescript-eslint/no-require-imports */
      expect(ingest.options).toEqual({
        methods: ['POST'],
        authLevel: 'function',
        route: 'ingest/{database}/{table}',
      });
      const context = new InvocationContext({ functionName: 'ingestHttp', logHandler: () => undefined });
      const response = await ingest.handler(
        new HttpRequest({
          method: 'POST',
          url: 'http://127.0.0.1:7071/api/ingest/demo/Pushed',
          params: { database: 'demo', table: 'Pushed' },
          headers: { 'content-type': 'text/csv' },
          body: { string: '77,fn\n' },
        }),
        context,
      );
      expect(response.status).toBe(202);
      const sourceId = (response.jsonBody as { sourceId: string }).sourceId;
      const statusResponse = await statusFn.handler(
        new HttpRequest({
          method: 'GET',
          url: `http://127.0.0.1:7071/api/ingest/status/${sourceId}`,
          params: { sourceId },
        }),
        context,
      );
      expect(statusResponse.status).toBe(200);
      expect(statusResponse.jsonBody).toMatchObject({ sourceId, database: 'demo', table: 'Pushed' });

      const ok = await health.handler(
        new HttpRequest({ method: 'GET', url: 'http://x/api/health' }),
        context,
      );
      expect(ok).toMatchObject({
        status: 200,
        jsonBody: {
          status: 'ok',
          ingestProtocol: {
            setting: 'auto',
            inUse: 'v2',
            why: expect.stringContaining('the cluster prefers REST ingestion') as unknown,
          },
        },
      });
      expect(JSON.stringify(ok.jsonBody)).not.toMatch(/https?:|sig=/);
      delete process.env.KUSTO_INGEST_URI;
      process.env.FAILURE_WEBHOOK_URL = 'ftp://hooks.example/x?sig=SECRET';
      const bad = await health.handler(
        new HttpRequest({ method: 'GET', url: 'http://x/api/health' }),
        context,
      );
      expect(bad.status).toBe(503);
      const problems = (bad.jsonBody as { problems: string[] }).problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^KUSTO_INGEST_URI is required/),
          expect.stringMatching(/^FAILURE_WEBHOOK_URL/),
        ]),
      );
      expect(JSON.stringify(problems)).not.toContain('SECRET');
    } finally {
      process.env = saved;
    }
  });
});
