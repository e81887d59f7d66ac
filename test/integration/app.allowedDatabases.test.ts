/**
 * ALLOWED_DATABASES on every path that names a database, and a retry that never goes where routing refused
 * (the security review: a source rejected with DatabaseNotAllowed kept the refused database in its stored
 * properties, and Retry queued those).
 */
import { randomBytes } from 'node:crypto';
import { handleIngestBlobs, handleIngestPush } from '../../shared/app/http/ingestHandlers';
import { handleRetrySource } from '../../shared/app/http/operatorHandlers';
import type { LandingRouting } from '../../shared/app/routing/routeBlob';
import { runSweep } from '../../shared/app/sweep/sweep';
import { apiRequest } from '../helpers/apiRequest';
import { startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { runJobToEnd, startJob } from '../helpers/backfillTasks';
import { eventually } from '../helpers/engine';

let app: AppUnderTest;
const id = randomBytes(3).toString('hex');

beforeAll(async () => {
  app = await startAppUnderTest({ ALLOWED_DATABASES: 'demo', BACKFILL_SOURCES: 'devstoreaccount1/*' });
  await app.kusto.mgmt('.create database other');
  await app.kusto.mgmt('.create table Guarded (id:long, name:string)', 'other');
}, 60_000);
afterAll(async () => {
  await app.stop();
});

const retry = (sourceId: string) =>
  handleRetrySource(
    { ...apiRequest('POST', `/api/ingest/status/${sourceId}/retry`), params: { sourceId } },
    app.ctx,
    app.log,
  );

describe('ALLOWED_DATABASES', () => {
  it('refuses a push and blob references to another database with 403, and tracks nothing', async () => {
    const pushed = await handleIngestPush(
      apiRequest('POST', '/api/ingest/other/Guarded', '1,a\n', { 'content-type': 'text/csv' }),
      app.ctx,
      app.log,
    );
    expect(pushed).toMatchObject({ status: 403, jsonBody: { error: { code: 'DatabaseNotAllowed' } } });
    const blobs = await handleIngestBlobs(
      apiRequest(
        'POST',
        '/api/ingest/other/Guarded/blobs',
        JSON.stringify({ blobs: [{ url: 'https://acct.blob.core.windows.net/c/a.csv?sig=x' }] }),
      ),
      app.ctx,
      app.log,
    );
    expect(blobs).toMatchObject({ status: 403, jsonBody: { error: { code: 'DatabaseNotAllowed' } } });
    let open = 0;
    for await (const _ of app.ctx.tracking.openEntries()) open++;
    expect(open).toBe(0);
  });

  it('rejects a backfilled blob routed elsewhere, and its retry is refused: nothing reaches that database', async () => {
    const archive = app.ctx.landing.service.getContainerClient(`archive-${id}`);
    await archive.createIfNotExists();
    for (const [path, body] of Object.entries({
      'other/Guarded/a.csv': '1,refused\n',
      'demo/Later/b.csv': '2,later\n', // its table does not exist yet: fails, then is retried once fixed
    }))
      await archive.getBlockBlobClient(path).upload(body, Buffer.byteLength(body));
    const started = await startJob(app, { container: archive.containerName });
    expect(started.status).toBe(202);
    const jobId = (started.jsonBody as { jobId: string }).jobId;
    const done = await runJobToEnd(app, jobId, 90_000);
    expect(done.counts).toMatchObject({ matched: 2, failed: 2 });

    const rejected = app.log.events('IngestionFailed').concat(app.log.events('LandingRejected'));
    const refusedId = rejected.find((e) => e.errorCode === 'DatabaseNotAllowed')?.sourceId;
    const laterId = rejected.find((e) => e.errorCode === 'BadRequest_TableNotExist')?.sourceId;
    expect(refusedId).toBeDefined();
    expect(laterId).toBeDefined();

    // The refused one: routed again under today's settings, refused again; its stored properties never queued.
    const processed = app.dm.standin.worker?.processed ?? 0;
    const again = await retry(String(refusedId));
    expect(again).toMatchObject({ status: 403, jsonBody: { error: { code: 'DatabaseNotAllowed' } } });
    expect(await app.ctx.tracking.get(String(refusedId))).toMatchObject({
      state: 'closed',
      finalStatus: 'Rejected',
    });
    await app.dm.standin.worker?.drained();
    expect(app.dm.standin.worker?.processed ?? 0).toBe(processed);
    expect(await app.kusto.count('Guarded', 'other')).toBe(0);

    // The other, once its cause is fixed, is retried as before.
    await app.kusto.mgmt('.create table Later (id:long, name:string)');
    expect(await retry(String(laterId))).toMatchObject({ status: 202 });
    await eventually(
      async () => {
        await runSweep(app.ctx, app.log);
        return (await app.ctx.tracking.get(String(laterId)))?.finalStatus === 'Succeeded' || undefined;
      },
      60_000,
      'the fixed source was retried and ingested',
    );
    expect(await app.kusto.count('Later')).toBe(1);
  }, 120_000);

  it('refuses to retry a source whose route changed since (409 RouteChanged): it is not queued under its old route', async () => {
    const archive = app.ctx.landing.service.getContainerClient(`moved-${id}`);
    await archive.createIfNotExists();
    const body = '3,moved\n';
    await archive.getBlockBlobClient('demo/Moved/c.csv').upload(body, Buffer.byteLength(body));
    const started = await startJob(app, { container: archive.containerName });
    const jobId = (started.jsonBody as { jobId: string }).jobId;
    expect((await runJobToEnd(app, jobId, 90_000)).counts).toMatchObject({ matched: 1, failed: 1 });
    const failedId = app.log
      .events('IngestionFailed')
      .find(
        (e) => typeof e.source === 'string' && e.source.includes(`moved-${id}/demo/Moved/c.csv`),
      )?.sourceId;
    expect(failedId).toBeDefined();

    // The operator changes the routing (a rules file, read at start: a new process would have it) so that
    // these paths now go to another table; the old route's table then appears.
    const context = app.ctx as { routing: LandingRouting };
    const before = context.routing;
    context.routing = { ...before, rules: [{ match: 'demo/Moved/**', table: 'Elsewhere' }, ...before.rules] };
    try {
      await app.kusto.mgmt('.create table Moved (id:long, name:string)');
      const processed = app.dm.standin.worker?.processed ?? 0;
      const again = await retry(String(failedId));
      expect(again).toMatchObject({ status: 409, jsonBody: { error: { code: 'RouteChanged' } } });
      expect((again.jsonBody as { error: { message: string } }).error.message).toMatch(/demo\.Elsewhere/);
      expect(await app.ctx.tracking.get(String(failedId))).toMatchObject({
        state: 'closed',
        finalStatus: 'Failed',
        requeueCount: 0,
      });
      await app.dm.standin.worker?.drained();
      expect(app.dm.standin.worker?.processed ?? 0).toBe(processed);
      expect(await app.kusto.count('Moved')).toBe(0);
    } finally {
      context.routing = before;
    }
    // Under the route it had, the same retry goes through.
    expect(await retry(String(failedId))).toMatchObject({ status: 202 });
  }, 120_000);
});
