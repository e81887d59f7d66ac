/**
 * The defects a fault campaign found (issue 13), each shown on the real stack: a 2xx for data that is never
 * ingested nor reported, a report that can be lost, and the error shapes around them.
 */
import { gzipSync } from 'node:zlib';
import { RestError, type PipelinePolicy, type PipelineRequest } from '@azure/core-rest-pipeline';
import { BlobSASPermissions } from '@azure/storage-blob';
import { handleIngestBlobs, handleIngestPush } from '../../shared/app/http/ingestHandlers';
import type { HttpResult } from '../../shared/app/http/httpTypes';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { pushSourceId } from '../../shared/app/push/pushData';
import { runSweep } from '../../shared/app/sweep/sweep';
import { apiRequest, type RequestBody } from '../helpers/apiRequest';
import {
  blobCreatedEvent,
  openSourceIds,
  startAppUnderTest,
  type AppUnderTest,
} from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';
import { isQueueRequest } from '../helpers/faultPolicy';
import { blobService, tableClient } from '../helpers/stack';

/**
 * Faults the test switches on for the next matching requests. They are thrown as the storage SDK throws a
 * failed call (a RestError with its status), from a policy that runs once per call: no retry hides them.
 */
class SwitchableFaults {
  private plan: { when: (r: PipelineRequest) => boolean; remaining: number; status: number } | undefined;
  readonly failed: string[] = [];
  set(when: (r: PipelineRequest) => boolean, times = 1, status = 503): void {
    this.plan = { when, remaining: times, status };
  }
  clear(): void {
    this.plan = undefined;
  }
  policy(): PipelinePolicy {
    return {
      name: 'switchableFaults',
      sendRequest: (request, next) => {
        const plan = this.plan;
        if (plan && plan.remaining > 0 && plan.when(request)) {
          plan.remaining -= 1;
          this.failed.push(`${request.method} ${new URL(request.url).pathname}`);
          throw new RestError(
            plan.status === 503
              ? 'The server is busy (injected by the test).'
              : 'Bad request (injected by the test).',
            { statusCode: plan.status, code: plan.status === 503 ? 'ServerBusy' : 'InvalidInput', request },
          );
        }
        return next(request);
      },
    };
  }
}

const tracking = new SwitchableFaults();
const ingestStorage = new SwitchableFaults();
let app: AppUnderTest;
let id: string;

beforeAll(async () => {
  app = await startAppUnderTest(
    // Its ingestion faults are on v1's queue requests (ingest v2's are in the chaos campaign).
    { KUSTO_INGEST_PROTOCOL: 'v1' },
    {
      trackingPolicies: [tracking.policy()],
      ingestOptions: { storagePolicies: () => [ingestStorage.policy()] },
    },
  );
  id = app.env.LANDING_CONTAINER?.slice('landing-'.length) ?? '';
  for (const t of ['Corrected', 'Concurrent', 'Listed', 'Reported', 'Gz', 'Refs'])
    await app.kusto.mgmt(`.create table ${t} (id:long, name:string)`);
});
afterAll(async () => {
  await app.stop();
});
afterEach(() => {
  tracking.clear();
  ingestStorage.clear();
  app.dm.standin.faults.reset();
});

const push = (path: string, body: RequestBody, headers: Record<string, string> = {}) =>
  handleIngestPush(apiRequest('POST', path, body, headers), app.ctx, app.log);
const json = (r: HttpResult) => r.jsonBody as Record<string, unknown>;
const rows = (table: string, count: number) =>
  eventually(
    async () => ((await app.kusto.count(table)) === count ? true : undefined),
    20_000,
    `${count} rows in ${table}`,
  );
const isTable = (name: string, method?: string) => (r: PipelineRequest) =>
  new URL(r.url).pathname.includes(`/${name}${id}`) && (method === undefined || r.method === method);

async function failureRows(sourceId: string): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for await (const row of tableClient(`Failures${id}`).listEntities())
    if (row.SourceId === sourceId) found.push(row);
  return found;
}

describe('a rejected request does not consume its Idempotency-Key (defect 1)', () => {
  it.each([
    ['an empty body', '', {}],
    ['a body claiming gzip that is not', '1,a\n', { 'content-encoding': 'gzip' }],
  ])('after %s, the corrected retry is ingested, not answered as a replay', async (_name, bad, headers) => {
    const key = `corrected-${Math.random()}`;
    const refused = await push('/api/ingest/demo/Corrected', bad, { 'idempotency-key': key, ...headers });
    expect(refused.status).toBe(400);
    expect(await app.ctx.tracking.get(pushSourceId('demo', 'Corrected', key))).toBeUndefined();
    const before = await app.kusto.count('Corrected');
    const fixed = await push('/api/ingest/demo/Corrected', '1,fixed\n', { 'idempotency-key': key });
    expect(fixed.status).toBe(202);
    expect(json(fixed).replay).toBeUndefined();
    await rows('Corrected', before + 1);
  });
});

describe('a concurrent retry is refused while the first request works (defect 2)', () => {
  it('answers 409 with Retry-After, and the first request then ingests its data once', async () => {
    const key = 'concurrent-1';
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    async function* slowBody() {
      yield Buffer.from('1,first\n');
      await gate;
      yield Buffer.from('2,first\n');
    }
    const first = push('/api/ingest/demo/Concurrent', slowBody(), { 'idempotency-key': key });
    const sourceId = pushSourceId('demo', 'Concurrent', key);
    await eventually(async () => ((await app.ctx.tracking.get(sourceId)) ? true : undefined));
    const retry = await push('/api/ingest/demo/Concurrent', '9,retry\n', { 'idempotency-key': key });
    expect(retry.status).toBe(409);
    expect(json(retry).error).toMatchObject({ code: 'RequestInProgress' });
    expect(Number(retry.headers?.['retry-after'])).toBeGreaterThan(0);
    // Logged as every refusal is, with the source it concerns.
    expect(app.log.events('HttpIngestRefused').filter((e) => e.sourceId === sourceId)).toMatchObject([
      { level: 'warn', status: 409, code: 'RequestInProgress' },
    ]);
    release();
    const answered = await first;
    expect(answered.status).toBe(202);
    expect(json(answered).replay).toBeUndefined();
    await rows('Concurrent', 2);
    expect((await app.kusto.query('Concurrent | where name == "retry" | count')).rows[0]?.[0]).toBe(0);
  });

  it('answers 422 when the key is reused for a push with other parameters', async () => {
    const key = 'reused-for-other-data';
    expect((await push('/api/ingest/demo/Concurrent', '3,a\n', { 'idempotency-key': key })).status).toBe(202);
    const other = await push('/api/ingest/demo/Concurrent?tags=x', '3,a\n', { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(json(other).error).toMatchObject({ code: 'IdempotencyKeyReused' });
    const sourceId = pushSourceId('demo', 'Concurrent', key);
    expect(app.log.events('HttpIngestRefused').filter((e) => e.sourceId === sourceId)).toMatchObject([
      { level: 'warn', status: 422, code: 'IdempotencyKeyReused' },
    ]);
  });
});

describe('every tracked source is on the open list (defect 3)', () => {
  it.each([
    ['the open-list write', 'Open'],
    ['the tracking-row insert', 'Tracking'],
  ])('when %s fails, the retry is tracked, swept and its failure reported', async (_name, table) => {
    const key = `listed-${table}`;
    tracking.set(isTable(table, table === 'Open' ? 'PUT' : 'POST'));
    const failed = await push('/api/ingest/demo/Listed', '1,a\n', { 'idempotency-key': key });
    expect(failed.status).toBe(503);
    expect(tracking.failed.at(-1)).toContain(`/${table}${id}`);
    await app.dm.standin.worker?.drained(); // the fault below must hit this push, not an earlier one
    app.dm.standin.faults.update({ failIngestionsPermanent: 1 });
    const retried = await push('/api/ingest/demo/Listed', '1,a\n', { 'idempotency-key': key });
    expect(retried.status).toBe(202);
    const sourceId = pushSourceId('demo', 'Listed', key);
    expect(await openSourceIds(app)).toContain(sourceId);
    await eventually(async () => {
      const s = await app.serviceStatus(sourceId).catch(() => undefined);
      return s && s.status !== 'Pending' ? s : undefined;
    });
    await runSweep(app.ctx, app.log);
    expect(app.log.events('IngestionFailed').filter((e) => e.sourceId === sourceId)).toHaveLength(1);
    expect(await failureRows(sourceId)).toHaveLength(1);
  });
});

describe('a landing rejection is reported before the blob is moved (defect 4)', () => {
  it('when the report cannot be written, the redelivery reports it once and quarantines the blob', async () => {
    const blob = app.ctx.landing.container.getBlockBlobClient('nowhere.csv'); // no database/table: unroutable
    const uploaded = await blob.upload('1,a\n', 4);
    const event = blobCreatedEvent(blob.url, uploaded.etag ?? '');
    tracking.set(isTable('Failures'));
    await expect(handleLandingEvent(event, app.ctx, app.log)).rejects.toThrow();
    expect(await blob.exists()).toBe(true); // not moved before its report is written
    const outcome = await handleLandingEvent(event, app.ctx, app.log); // the queue delivers it again
    expect(outcome).toMatchObject({ outcome: 'rejected' });
    const sourceId = (outcome as { sourceId: string }).sourceId;
    expect(await failureRows(sourceId)).toEqual([expect.objectContaining({ Event: 'LandingRejected' })]);
    expect(await blob.exists()).toBe(false);
    expect(await app.ctx.landing.failed.getBlobClient('nowhere.csv').exists()).toBe(true);
    expect(await handleLandingEvent(event, app.ctx, app.log)).toMatchObject({ outcome: 'ignored' });
    expect(await failureRows(sourceId)).toHaveLength(1);
  });

  it('names the database and table it could tell in the report', async () => {
    const blob = app.ctx.landing.container.getBlockBlobClient('demo/Reported/data.xlsx');
    const uploaded = await blob.upload('x', 1);
    const outcome = await handleLandingEvent(
      blobCreatedEvent(blob.url, uploaded.etag ?? ''),
      app.ctx,
      app.log,
    );
    expect(outcome).toMatchObject({ outcome: 'rejected' });
    const sourceId = (outcome as { sourceId: string }).sourceId;
    expect(app.log.events('LandingRejected').find((e) => e.sourceId === sourceId)).toMatchObject({
      database: 'demo',
      table: 'Reported',
      errorCode: 'InvalidFormat',
    });
  });
});

describe('the gzip check reads the first two bytes, however the body is split (defect 5)', () => {
  it('refuses one 0x1f byte followed by plain text', async () => {
    const sneaky = [Buffer.from([0x1f]), Buffer.from('1,plain\n')];
    const result = await push('/api/ingest/demo/Gz', sneaky, { 'content-encoding': 'gzip' });
    expect(result.status).toBe(400);
    expect(json(result).error).toMatchObject({ code: 'InvalidProperty' });
  });

  it('accepts real gzip split the same way', async () => {
    const gz = gzipSync('5,split\n');
    const split = [gz.subarray(0, 1), gz.subarray(1)];
    expect((await push('/api/ingest/demo/Gz', split, { 'content-encoding': 'gzip' })).status).toBe(202);
    await rows('Gz', 1);
  });
});

describe('POST .../blobs', () => {
  async function sasUrl(name: string): Promise<string> {
    const container = blobService(0).getContainerClient(`refs-${id}`);
    await container.createIfNotExists();
    const blob = container.getBlockBlobClient(name);
    await blob.upload('1,ref\n', 6);
    return blob.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
  }
  const blobs = (body: unknown) =>
    handleIngestBlobs(
      apiRequest('POST', '/api/ingest/demo/Refs/blobs', JSON.stringify(body)),
      app.ctx,
      app.log,
    );

  it('answers 503 with Retry-After when storage fails every blob (defect 6)', async () => {
    const url = await sasUrl('outage.csv');
    ingestStorage.set(isQueueRequest, 1000);
    const result = await blobs({ blobs: [{ url }, { url }] });
    expect(result.status).toBe(503);
    expect(result.headers?.['retry-after']).toBeDefined();
  });

  it('refuses http, internal hosts and credential suffixes, and writes nothing for them (defects 7, 9)', async () => {
    const before = await countRows(`Tracking${id}`);
    const bad = [
      'http://acct.blob.core.windows.net/c/b.csv',
      'https://169.254.169.254/metadata/instance',
      'https://127.0.0.1:8081/c/b.csv',
      'https://acct.blob.core.windows.net/c/b.csv;managed_identity=system',
      'https://example.com/c/b.csv',
    ];
    const result = await blobs({ blobs: bad.map((url) => ({ url })) });
    expect(result.status).toBe(400);
    const results = json(result).results as { error: { code: string; message: string } }[];
    expect(results.map((r) => r.error.code)).toEqual(bad.map(() => 'InvalidProperty'));
    expect(await countRows(`Tracking${id}`)).toBe(before);
  });
});

async function countRows(table: string): Promise<number> {
  let n = 0;
  for await (const _ of tableClient(table).listEntities()) n += 1;
  return n;
}

describe('the sweep gives up on a source it can never process (issue 36, defect 3)', () => {
  /** The source's own tracking row: every read and write of it. */
  const aboutSource = (sourceId: string) => (r: PipelineRequest) =>
    isTable('Tracking')(r) && r.url.includes(sourceId);

  async function queuedPush(table: string): Promise<string> {
    const pushed = await push(`/api/ingest/demo/${table}`, '1,a\n', { 'content-type': 'text/csv' });
    expect(pushed.status).toBe(202);
    return String(json(pushed).sourceId);
  }

  it('closes and reports once a source whose storage calls answer a permanent 4xx, after a few sweeps', async () => {
    const sourceId = await queuedPush('Listed');
    await rows('Listed', 1);
    // Every call on the source's row now answers 400: it can be neither read nor written.
    tracking.set(aboutSource(sourceId), Number.POSITIVE_INFINITY, 400);
    const summaries = [];
    for (let i = 0; i < 3; i++) summaries.push(await runSweep(app.ctx, app.log));
    expect(summaries.map((s) => s.unresolved)).toEqual([0, 0, 1]);
    expect(app.log.events('SweepItemError').filter((e) => e.sourceId === sourceId)).toEqual([
      expect.objectContaining({
        code: 'BadRequest',
        transient: false,
        sweeps: 1,
        message: expect.stringMatching(/\S/) as unknown,
      }),
      expect.objectContaining({ sweeps: 2 }),
      expect.objectContaining({ sweeps: 3 }),
    ]);
    tracking.clear();
    expect(app.log.events('IngestionUnresolved').filter((e) => e.sourceId === sourceId)).toEqual([
      expect.objectContaining({ errorCode: 'SweepFailed', failureStatus: 'Unknown' }),
    ]);
    expect(await failureRows(sourceId)).toEqual([expect.objectContaining({ Event: 'IngestionUnresolved' })]);
    expect(await openSourceIds(app)).not.toContain(sourceId);
    // Later sweeps have nothing of it left: no second report, no more errors.
    await runSweep(app.ctx, app.log);
    expect(app.log.events('IngestionUnresolved').filter((e) => e.sourceId === sourceId)).toHaveLength(1);
    expect(app.log.events('SweepItemError').filter((e) => e.sourceId === sourceId)).toHaveLength(3);
  });

  it('rides out a transient failure, and gives up only past the bound (sweeps and time)', async () => {
    const sourceId = await queuedPush('Reported');
    await rows('Reported', 1);
    tracking.set(aboutSource(sourceId), Number.POSITIVE_INFINITY, 503);
    const options = { giveUp: { transientSweeps: 3, transientMs: 30 * 60_000 } };
    for (let i = 0; i < 4; i++) expect((await runSweep(app.ctx, app.log, options)).unresolved).toBe(0);
    app.advanceClock(31 * 60_000);
    expect((await runSweep(app.ctx, app.log, options)).unresolved).toBe(1);
    tracking.clear();
    expect(app.log.events('IngestionUnresolved').filter((e) => e.sourceId === sourceId)).toHaveLength(1);
    expect(await openSourceIds(app)).not.toContain(sourceId);
  });
});
