/**
 * Backfill of blobs the app does not own: another container of the landing account, and a container of
 * another account read with the app's identity (the test's https Azurite, `--oauth basic`, standing in for
 * it). They are ingested from where they are, and never moved, deleted or tagged: a failure is reported and
 * retried by URL.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { handleBackfillFailures } from '../../shared/app/http/backfillHandlers';
import { handleRetrySource } from '../../shared/app/http/operatorHandlers';
import { canonicalBlobUrl } from '../../shared/app/landing/landingBlob';
import { runSweep } from '../../shared/app/sweep/sweep';
import { apiRequest } from '../helpers/apiRequest';
import { startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { drainTasks, jobStatus, runJobToEnd, startJob } from '../helpers/backfillTasks';
import { runPage } from '../../shared/app/backfill/backfillJob';
import { EmulatorTokenCredential, httpsBlobEndpoint } from '../helpers/emulatorToken';
import { eventually } from '../helpers/engine';

let app: AppUnderTest;
let other: BlobServiceClient;
const credential = new EmulatorTokenCredential();
const id = randomBytes(3).toString('hex');

beforeAll(async () => {
  const endpoint = httpsBlobEndpoint();
  other = new BlobServiceClient(endpoint, credential);
  app = await startAppUnderTest(
    // Deleting ingested landing blobs: a backfilled blob elsewhere must still be left alone.
    // Both emulators' account is devstoreaccount1: the operator allows its containers, and the other
    // emulator (https, another port) is read as another account would be.
    { LANDING_ON_SUCCESS: 'delete', BACKFILL_SOURCES: 'devstoreaccount1/*' },
    { storageCredential: credential },
  );
  for (const t of ['Archived', 'Remote']) await app.kusto.mgmt(`.create table ${t} (id:long, name:string)`);
}, 60_000);
afterAll(async () => {
  await app.stop();
});

async function upload(container: ContainerClient, files: Record<string, string>): Promise<void> {
  await container.createIfNotExists();
  await Promise.all(
    Object.entries(files).map(([path, body]) =>
      container.getBlockBlobClient(path).upload(body, Buffer.byteLength(body)),
    ),
  );
}

const jobIdOf = (r: { jsonBody?: unknown }) => (r.jsonBody as { jobId: string }).jobId;

describe('backfill of a container the app does not own', () => {
  it('fails a job whose container goes away before its listing: the state says so and why, and no retry is left', async () => {
    const gone = app.ctx.landing.service.getContainerClient(`gone-${id}`);
    await upload(gone, { 'demo/Archived/a.csv': '1,a\n' });
    const started = await startJob(app, { container: gone.containerName, prefix: 'demo/' });
    expect(started.status).toBe(202);
    await gone.delete();
    const jobId = jobIdOf(started);
    expect(await drainTasks(app.ctx.backfill.pages, (m) => runPage(app.ctx, app.log, m))).toBe(1);
    const status = await jobStatus(app, jobId);
    expect(status).toMatchObject({ state: 'failed', error: { code: 'ContainerNotFound' } });
    expect((status as unknown as { error: { message: string } }).error.message).toMatch(
      /^Page 0 could not be listed/,
    );
    // Permanent: the page task ended without throwing, so nothing is left to retry.
    expect((await app.ctx.backfill.pages.getProperties()).approximateMessagesCount).toBe(0);
  });

  it('ingests another container of the landing account in place; a failure is reported, left there, and retried by URL', async () => {
    const archive = app.ctx.landing.service.getContainerClient(`archive-${id}`);
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++)
      files[`demo/Archived/2023/0${(i % 9) + 1}/part-${i}.csv`] = `${i},archived\n`;
    files['demo/Later/only.csv'] = '100,later\n'; // its table does not exist yet: fails for good
    await upload(archive, files);

    const started = await startJob(app, { container: archive.containerName, prefix: 'demo/' });
    expect(started.status).toBe(202);
    const done = await runJobToEnd(app, jobIdOf(started), 90_000);
    expect(done.counts).toMatchObject({ matched: 13, queued: 13, succeeded: 12, failed: 1, skipped: 0 });
    await app.dm.standin.worker?.drained();
    expect(await app.kusto.count('Archived')).toBe(12);

    // Nothing left its container: not deleted after success (LANDING_ON_SUCCESS=delete is for landing), not
    // quarantined after the failure.
    for (const path of Object.keys(files))
      expect([path, await archive.getBlobClient(path).exists()]).toEqual([path, true]);
    expect(await app.ctx.landing.failed.getBlobClient('demo/Later/only.csv').exists()).toBe(false);

    // The failure is listed with its URL and reason.
    const jobId = jobIdOf(started);
    const failures = await handleBackfillFailures(
      { ...apiRequest('GET', `/api/backfill/${jobId}/failures`), params: { jobId } },
      app.ctx,
      app.log,
    );
    const listed = (failures.jsonBody as { failures: Record<string, string>[] }).failures;
    expect(listed).toEqual([
      expect.objectContaining({
        source: canonicalBlobUrl(archive.getBlobClient('demo/Later/only.csv').url),
        errorCode: 'BadRequest_TableNotExist',
      }),
    ]);
    const failed = listed[0]?.sourceId ?? '';
    expect(await app.ctx.tracking.get(failed)).toMatchObject({
      kind: 'backfill',
      finalStatus: 'Failed',
      jobId,
    });
    expect(app.log.events('IngestionFailed').find((e) => e.sourceId === failed)).toMatchObject({
      action: 'reported',
    });

    // Fixed, then retried: the same source, read again from where it is.
    await app.kusto.mgmt('.create table Later (id:long, name:string)');
    const retried = await handleRetrySource(
      { ...apiRequest('POST', `/api/ingest/status/${failed}/retry`), params: { sourceId: failed } },
      app.ctx,
      app.log,
    );
    expect(retried).toMatchObject({ status: 202, jsonBody: { sourceId: failed } });
    await eventually(
      async () => {
        await runSweep(app.ctx, app.log);
        const record = await app.ctx.tracking.get(failed);
        return record?.state === 'closed' ? record : undefined;
      },
      60_000,
      'the retried blob closed',
    );
    expect(await app.ctx.tracking.get(failed)).toMatchObject({ finalStatus: 'Succeeded' });
    await app.dm.standin.worker?.drained();
    expect(await app.kusto.count('Later')).toBe(1);
    expect(await archive.getBlobClient('demo/Later/only.csv').exists()).toBe(true);

    // Run again: every blob version is tracked already.
    const rerun = await startJob(app, { container: archive.containerName, prefix: 'demo/' });
    expect((await runJobToEnd(app, jobIdOf(rerun), 60_000)).counts).toMatchObject({
      matched: 13,
      skipped: 13,
      queued: 0,
    });
  }, 180_000);

  it("ingests a container of another account, read with the app's identity, and Kusto reads it by a delegation SAS", async () => {
    const remote = other.getContainerClient(`exports-${id}`);
    const files: Record<string, string> = {};
    for (let i = 0; i < 8; i++) files[`2024/02/1${i}/rows-${i}.csv`] = `${i},remote\n`;
    files['2024/02/19/notes.txt'] = 'not data\n';
    await upload(remote, files);

    const accountUrl = httpsBlobEndpoint();
    const started = await startJob(app, {
      accountUrl,
      container: remote.containerName,
      include: ['**/*.csv'],
      database: 'demo',
      table: 'Remote',
      format: 'csv',
      creationTimePattern: "yyyy'/'MM'/'dd",
    });
    expect(started.status).toBe(202);
    const done = await runJobToEnd(app, jobIdOf(started), 90_000);
    expect(done.counts).toMatchObject({ matched: 8, queued: 8, succeeded: 8, failed: 0 });
    await app.dm.standin.worker?.drained();
    expect(await app.kusto.count('Remote')).toBe(8);
    const extents = await app.kusto.mgmt('.show table Remote extents');
    expect(JSON.stringify(extents.rows)).toMatch(/2024-02-1\d/);
    for (const path of Object.keys(files)) expect(await remote.getBlobClient(path).exists()).toBe(true);
    const sourceId = app.log
      .events('LandingQueued')
      .find((e) =>
        String(e.source).startsWith(canonicalBlobUrl(`${accountUrl}/${remote.containerName}/`)),
      )?.sourceId;
    expect(await app.ctx.tracking.get(String(sourceId))).toMatchObject({ kind: 'backfill' });
  }, 120_000);

  it.each([
    [{ container: 'no-such-container' }, 400, 'ContainerNotFound'],
    // Another host than Azure Storage's or the local emulator's (loopback): never read with the app's token.
    [{ accountUrl: 'https://10.0.0.1/devstoreaccount1', container: 'c1c' }, 400, 'InvalidProperty'],
    [{ accountUrl: 'https://storage.contoso.com', container: 'c1c' }, 400, 'InvalidProperty'],
  ])('refuses %j at once: %i %s', async (job, status, code) => {
    const r = await startJob(app, job);
    expect(r).toMatchObject({ status, jsonBody: { error: { code } } });
  });

  it('refuses the app’s own quarantine and done containers, and a missing container of the other account', async () => {
    for (const container of [app.env.LANDING_FAILED_CONTAINER, app.env.LANDING_DONE_CONTAINER]) {
      const r = await startJob(app, { container });
      expect(r.status).toBe(403);
      expect(JSON.stringify(r.jsonBody)).toMatch(/cannot be backfilled/);
    }
    const missing = await startJob(app, { accountUrl: httpsBlobEndpoint(), container: `gone-${id}` });
    expect(missing).toMatchObject({ status: 400, jsonBody: { error: { code: 'ContainerNotFound' } } });
    expect(JSON.stringify(missing.jsonBody)).toContain(httpsBlobEndpoint());
  });

  it("refuses the Functions host's containers of the app's own account whatever BACKFILL_SOURCES says, and reads nothing of them", async () => {
    // The host's secrets, as they sit on the app's storage account (the landing account here, as locally).
    const secrets = app.ctx.landing.service.getContainerClient('azure-webjobs-secrets');
    await upload(secrets, { 'host.json': '{"masterKey":{"value":"SECRET"}}' });
    for (const job of [
      { container: 'azure-webjobs-secrets' },
      { container: 'azure-webjobs-secrets', dryRun: true },
    ]) {
      const r = await startJob(app, job);
      expect(r).toMatchObject({ status: 403, jsonBody: { error: { code: 'SourceNotAllowed' } } });
      expect(JSON.stringify(r.jsonBody)).not.toContain('SECRET');
    }
    // The same name on another account is that account's own data: allowed by its entry.
    const otherContainer = other.getContainerClient('azure-webjobs-secrets');
    await upload(otherContainer, { 'demo/Remote/x.csv': '1,x\n' });
    const elsewhere = await startJob(app, {
      accountUrl: httpsBlobEndpoint(),
      container: 'azure-webjobs-secrets',
      dryRun: true,
    });
    expect(elsewhere.status).toBe(202);
  });
});
