/**
 * Each queued-ingestion protocol end to end through the app: an HTTP push, a blob reference, a landing blob,
 * a backfilled blob and an operator's retry of a failure, each ingested once, on v2 (the default on a
 * cluster that prefers REST), on v1 forced by KUSTO_INGEST_PROTOCOL, and on v1 by fallback (a cluster
 * without REST ingestion: its configuration endpoint answers 404).
 */
import { BlobSASPermissions } from '@azure/storage-blob';
import type { StandinIngestProtocol } from '../../dev/standin/dmService';
import { handleIngestBlobs } from '../../shared/app/http/ingestHandlers';
import { handleRetrySource } from '../../shared/app/http/operatorHandlers';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import type { TrackingRecord } from '../../shared/app/tracking/trackingRecord';
import { apiRequest } from '../helpers/apiRequest';
import {
  blobCreatedEvent,
  closedBySweep,
  pushAccepted,
  startAppUnderTest,
  type AppUnderTest,
} from '../helpers/appUnderTest';
import { runJobToEnd, startJob } from '../helpers/backfillTasks';
import { blobService } from '../helpers/stack';

interface Mode {
  readonly name: string;
  readonly settings: Record<string, string>;
  readonly standin: StandinIngestProtocol;
  readonly expected: 'v1' | 'v2';
  readonly why: RegExp;
}

const MODES: readonly Mode[] = [
  {
    name: 'v2: auto, on a cluster that prefers REST',
    settings: {},
    standin: 'both',
    expected: 'v2',
    why: /prefers|REST|V2/i,
  },
  {
    name: 'v1: forced by KUSTO_INGEST_PROTOCOL',
    settings: { KUSTO_INGEST_PROTOCOL: 'v1' },
    standin: 'both',
    expected: 'v1',
    why: /v1/,
  },
  {
    name: 'v1 by fallback: auto, on a cluster without REST ingestion (404)',
    settings: {},
    standin: 'v1',
    expected: 'v1',
    why: /404|no REST|not/i,
  },
];

describe.each(MODES)('$name', ({ settings, standin, expected, why }) => {
  let app: AppUnderTest;
  const refs = `refs-${expected}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    app = await startAppUnderTest(settings, {}, standin);
    for (const t of ['Pushed', 'Referenced', 'Landed', 'Backfilled'])
      await app.kusto.mgmt(`.create table ${t} (id:long, name:string)`);
    await blobService(0).getContainerClient(refs).createIfNotExists();
  });
  afterAll(async () => {
    await app.stop();
  });

  /** What the row says of the protocol that queued it: an operation and a journaled submission on v2 only. */
  const expectQueuedOver = (record: TrackingRecord | undefined) => {
    if (expected === 'v2') {
      expect(record?.operation).toEqual(expect.any(String));
      expect(record?.submission).toMatch(/^kif-batch:/);
    } else {
      expect(record?.operation).toBeUndefined();
      expect(record?.submission).toBeUndefined();
    }
  };

  const rows = async (table: string, name: string) =>
    Number((await app.kusto.query(`${table} | where name == '${name}' | count`)).rows[0]?.[0]);

  it(`ingests an HTTP push, a blob reference, a landing blob and a backfilled blob once each, over ${expected}`, async () => {
    const pushedId = await pushAccepted(app, 'Pushed', '1,pushed\n');

    const ref = blobService(0).getContainerClient(refs).getBlockBlobClient('one.csv');
    await ref.upload('2,referenced\n', 13);
    const url = await ref.generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 3_600_000),
    });
    const referenced = await handleIngestBlobs(
      apiRequest(
        'POST',
        '/api/ingest/demo/Referenced/blobs',
        JSON.stringify({ blobs: [{ url }], format: 'csv' }),
      ),
      app.ctx,
      app.log,
    );
    expect(referenced.status).toBe(202);
    const refId = (referenced.jsonBody as { results: { sourceId: string }[] }).results[0]?.sourceId ?? '';

    const landing = app.ctx.landing.container.getBlockBlobClient('demo/Landed/one.csv');
    const uploaded = await landing.upload('3,landed\n', 9);
    const landed = await handleLandingEvent(
      blobCreatedEvent(landing.url, uploaded.etag ?? ''),
      app.ctx,
      app.log,
    );
    expect(landed.outcome).toBe('queued');
    const landedId = (landed as { sourceId: string }).sourceId;

    const before = app.ctx.landing.container.getBlockBlobClient('history/Backfilled/old.csv');
    await before.upload('4,backfilled\n', 13);
    const job = await startJob(app, { prefix: 'history/', database: 'demo', table: 'Backfilled' });
    expect(job.status).toBe(202);
    const done = await runJobToEnd(app, (job.jsonBody as { jobId: string }).jobId, 60_000);
    expect(done.counts).toMatchObject({ matched: 1, queued: 1, succeeded: 1, failed: 0 });

    for (const id of [pushedId, refId, landedId]) {
      const record = await closedBySweep(app, id);
      expect(record.finalStatus).toBe('Succeeded');
      expectQueuedOver(record);
    }
    expect(app.ctx.ingest.lastProtocol).toMatchObject({ protocol: expected });
    expect(app.ctx.ingest.lastProtocol?.why).toMatch(why);
    expect([
      await rows('Pushed', 'pushed'),
      await rows('Referenced', 'referenced'),
      await rows('Landed', 'landed'),
      await rows('Backfilled', 'backfilled'),
    ]).toEqual([1, 1, 1, 1]);
  });

  it(`retries a failure once its cause is fixed, and it lands once, over ${expected}`, async () => {
    const sourceId = await pushAccepted(app, 'Later', '5,later\n');
    expect(await closedBySweep(app, sourceId)).toMatchObject({
      finalStatus: 'Failed',
      errorCode: 'BadRequest_TableNotExist',
    });
    await app.kusto.mgmt('.create table Later (id:long, name:string)');
    const retried = await handleRetrySource(
      { ...apiRequest('POST', `/api/ingest/status/${sourceId}/retry`), params: { sourceId } },
      app.ctx,
      app.log,
    );
    expect(retried.status).toBe(202);
    const record = await closedBySweep(app, sourceId);
    expect(record.finalStatus).toBe('Succeeded');
    expectQueuedOver(record);
    expect(await rows('Later', 'later')).toBe(1);
  });
});
