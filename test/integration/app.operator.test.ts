import { handleIngestStatus } from '../../shared/app/http/ingestHandlers';
import {
  handleListSources,
  handleReplayLanding,
  handleRetryMany,
  handleRetrySource,
} from '../../shared/app/http/operatorHandlers';
import { handleLandingEvent } from '../../shared/app/landing/handleLandingEvent';
import { runSweep } from '../../shared/app/sweep/sweep';
import { apiRequest } from '../helpers/apiRequest';
import {
  blobCreatedEvent,
  closedBySweep,
  pushAccepted,
  startAppUnderTest,
  type AppUnderTest,
} from '../helpers/appUnderTest';
import { blobService } from '../helpers/stack';

let app: AppUnderTest;
beforeAll(async () => {
  app = await startAppUnderTest();
});
afterAll(async () => {
  await app.stop();
});

interface Listed {
  sourceId: string;
  database: string;
  table: string;
  kind: string;
  state: string;
  finalStatus: string | null;
  errorCode: string | null;
  attempts: number;
  retryable: boolean;
}

async function land(path: string, content: string): Promise<string> {
  const blob = app.ctx.landing.container.getBlockBlobClient(path);
  const response = await blob.upload(content, Buffer.byteLength(content));
  const outcome = await handleLandingEvent(blobCreatedEvent(blob.url, response.etag ?? ''), app.ctx, app.log);
  expect(outcome.outcome).toBe('queued');
  return (outcome as { sourceId: string }).sourceId;
}

async function list(query: string): Promise<{ items: Listed[]; continuationToken: string | null }> {
  const result = await handleListSources(apiRequest('GET', `/api/ingest?${query}`), app.ctx, app.log);
  expect(result.status).toBe(200);
  return result.jsonBody as { items: Listed[]; continuationToken: string | null };
}

function retry(sourceId: string) {
  const request = { ...apiRequest('POST', `/api/ingest/status/${sourceId}/retry`), params: { sourceId } };
  return handleRetrySource(request, app.ctx, app.log);
}

async function status(sourceId: string): Promise<Record<string, unknown>> {
  const result = await handleIngestStatus(
    { ...apiRequest('GET', `/api/ingest/status/${sourceId}`), params: { sourceId } },
    app.ctx,
    app.log,
  );
  return result.jsonBody as Record<string, unknown>;
}

describe('the operator API: list failures, fix the cause, retry', () => {
  it('lists a failed push and a failed landing blob, retries each once the table exists, and their rows land once', async () => {
    const pushed = await pushAccepted(app, 'Fixme', '1,pushed\n');
    const landed = await land('demo/Fixme/file.csv', '2,landed\n');
    const [pushRecord, landRecord] = await Promise.all([
      closedBySweep(app, pushed),
      closedBySweep(app, landed),
    ]);
    expect(pushRecord).toMatchObject({ finalStatus: 'Failed', errorCode: 'BadRequest_TableNotExist' });
    expect(landRecord).toMatchObject({ finalStatus: 'Failed', errorCode: 'BadRequest_TableNotExist' });
    // The landing blob was quarantined: it left landing.
    expect(await app.ctx.landing.failed.getBlobClient('demo/Fixme/file.csv').exists()).toBe(true);

    const failed = await list('status=FAILED&database=demo&table=Fixme');
    expect(failed.items.map((i) => i.sourceId).sort()).toEqual([pushed, landed].sort());
    expect(failed.items[0]).toMatchObject({
      database: 'demo',
      table: 'Fixme',
      state: 'closed',
      finalStatus: 'Failed',
      errorCode: 'BadRequest_TableNotExist',
      attempts: 1,
      retryable: true,
    });
    // Newest first, and paged.
    const first = await list('status=failed&database=demo&table=Fixme&pageSize=1');
    expect(first.items.map((i) => i.sourceId)).toEqual([landed]);
    const second = await list(
      `status=failed&database=demo&table=Fixme&pageSize=1&continuationToken=${first.continuationToken ?? ''}`,
    );
    expect(second.items.map((i) => i.sourceId)).toEqual([pushed]);
    // The time range is honoured; other categories do not show them.
    expect((await list('status=failed&database=demo&until=2020-01-01T00:00:00Z')).items).toEqual([]);
    expect((await list('status=succeeded&database=demo&table=Fixme')).items).toEqual([]);
    expect((await list('database=demo')).items.map((i) => i.sourceId)).toEqual(
      expect.arrayContaining([pushed, landed]),
    );

    // Not fixed yet would fail again; fix the cause, then retry.
    await app.kusto.mgmt('.create table Fixme (id:long, name:string)');
    const pushRetry = await retry(pushed);
    expect(pushRetry).toMatchObject({ status: 202, jsonBody: { sourceId: pushed } });
    const landRetry = await retry(landed);
    expect(landRetry.status).toBe(202);
    const newLanded = (landRetry.jsonBody as { sourceId: string; replaces: string }).sourceId;
    expect(landRetry.jsonBody).toMatchObject({ replaces: landed });
    expect(newLanded).not.toBe(landed);
    // Moved back: in landing again (without the quarantine metadata), gone from quarantine.
    const back = await app.ctx.landing.container.getBlobClient('demo/Fixme/file.csv').getProperties();
    expect(Object.keys(back.metadata ?? {}).filter((k) => k.startsWith('quarantine'))).toEqual([]);
    expect(await app.ctx.landing.failed.getBlobClient('demo/Fixme/file.csv').exists()).toBe(false);

    expect(await closedBySweep(app, pushed)).toMatchObject({ finalStatus: 'Succeeded', requeueCount: 1 });
    expect(await closedBySweep(app, newLanded)).toMatchObject({ finalStatus: 'Succeeded' });
    expect(await app.kusto.count('Fixme')).toBe(2);
    await runSweep(app.ctx, app.log);
    expect(await app.kusto.count('Fixme')).toBe(2);

    // Each source's history tells the story; the old landing source names its successor.
    const pushStatus = await status(pushed);
    expect(
      (pushStatus.history as { outcome: string; attempt: number }[]).map((h) => [h.attempt, h.outcome]),
    ).toEqual([
      [1, 'Failed'],
      [1, 'retried'],
      [2, 'Succeeded'],
    ]);
    expect(await status(landed)).toMatchObject({ retriedAs: newLanded, status: 'Failed' });
    const succeeded = (await list('status=succeeded&database=demo&table=Fixme')).items;
    expect(succeeded.map((i) => i.sourceId).sort()).toEqual([pushed, newLanded].sort());
    expect(succeeded.map((i) => i.retryable)).toEqual([false, false]);
    // The old landing source stays failed, but is no longer offered for a retry: it was retried as a new one.
    expect((await list('status=failed&database=demo&table=Fixme')).items).toEqual([
      expect.objectContaining({ sourceId: landed, finalStatus: 'Failed', retryable: false }),
    ]);

    // A second retry of what succeeded, or of the replaced source, is refused.
    expect(await retry(pushed)).toMatchObject({ status: 409, jsonBody: { error: { code: 'NotFailed' } } });
    expect(await retry(landed)).toMatchObject({ status: 409, jsonBody: { error: { code: 'NotFailed' } } });
    expect((await retry('00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('answers 410 StagedBlobGone when a push’s temp blob was cleaned up', async () => {
    const pushed = await pushAccepted(app, 'NoTableHere', '1,a\n');
    const record = await closedBySweep(app, pushed);
    expect(record.finalStatus).toBe('Failed');
    // As the service's clean-up of temp storage would.
    const path = new URL(record.blobPath ?? '').pathname.split('/').slice(2);
    await blobService(0)
      .getContainerClient(path[0] ?? '')
      .getBlobClient(decodeURIComponent(path.slice(1).join('/')))
      .delete();
    expect(await retry(pushed)).toMatchObject({
      status: 410,
      jsonBody: { error: { code: 'StagedBlobGone' } },
    });
  });

  it('retries in bulk by database, table and error code', async () => {
    const ids = [
      await pushAccepted(app, 'Bulk', '1,a\n'),
      await pushAccepted(app, 'Bulk', '2,b\n'),
      await pushAccepted(app, 'Bulk', '3,c\n'),
    ];
    for (const id of ids) await closedBySweep(app, id);
    await app.kusto.mgmt('.create table Bulk (id:long, name:string)');
    const other = await handleRetryMany(
      apiRequest(
        'POST',
        '/api/ingest/retry',
        JSON.stringify({ database: 'demo', table: 'Bulk', errorCode: 'Nope' }),
      ),
      app.ctx,
      app.log,
    );
    expect(other).toMatchObject({ status: 202, jsonBody: { retried: 0 } });
    const bulk = await handleRetryMany(
      apiRequest(
        'POST',
        '/api/ingest/retry',
        JSON.stringify({ database: 'demo', table: 'Bulk', errorCode: 'badrequest_tablenotexist' }),
      ),
      app.ctx,
      app.log,
    );
    expect(bulk).toMatchObject({ status: 202, jsonBody: { retried: 3, more: false } });
    for (const id of ids) expect(await closedBySweep(app, id)).toMatchObject({ finalStatus: 'Succeeded' });
    expect(await app.kusto.count('Bulk')).toBe(3);
    const refused = await handleRetryMany(
      apiRequest('POST', '/api/ingest/retry', '{"table":"Bulk"}'),
      app.ctx,
      app.log,
    );
    expect(refused).toMatchObject({ status: 400, jsonBody: { error: { code: 'InvalidProperty' } } });
  });

  it('refuses bad listing filters with what to do', async () => {
    for (const [query, pattern] of [
      ['status=broken', /status 'broken' is not one of/],
      ['table=T', /Give the database/],
      ['database=demo&since=yesterday', /not a date and time/],
      ['pageSize=100000', /pageSize/],
      ['continuationToken=abc', /continuationToken/],
    ] as const) {
      const result = await handleListSources(apiRequest('GET', `/api/ingest?${query}`), app.ctx, app.log);
      expect(result.status).toBe(400);
      expect(JSON.stringify(result.jsonBody)).toMatch(pattern);
    }
  });
});

describe('replaying what never became a source', () => {
  it('moves the poison queue’s messages and Event Grid’s dead letters back to the landing queue', async () => {
    await app.kusto.mgmt('.create table Replayed (id:long, name:string)');
    const blobs = await Promise.all(
      ['demo/Replayed/poisoned.csv', 'demo/Replayed/deadlettered.csv'].map(async (path, i) => {
        const blob = app.ctx.landing.container.getBlockBlobClient(path);
        const response = await blob.upload(`${i},x\n`, 4);
        return blobCreatedEvent(blob.url, response.etag ?? '');
      }),
    );
    await app.ctx.landing.poison.createIfNotExists();
    await app.ctx.landing.poison.sendMessage(Buffer.from(JSON.stringify(blobs[0])).toString('base64'));
    await app.ctx.landing.deadLetters.createIfNotExists();
    const deadLetter = [
      { ...blobs[1], deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 30 },
    ];
    const text = JSON.stringify(deadLetter);
    await app.ctx.landing.deadLetters
      .getBlockBlobClient('landing-events/2026/12/01/x.json')
      .upload(text, text.length);
    await app.ctx.landing.deadLetters.getBlockBlobClient('junk.txt').upload('not json', 8);

    const result = await handleReplayLanding(apiRequest('POST', '/api/landing/replay'), app.ctx, app.log);
    expect(result).toMatchObject({
      status: 200,
      jsonBody: { poisonMessages: 1, deadLetteredEvents: 1, unreadableDeadLetters: 1 },
    });
    expect((await app.ctx.landing.poison.peekMessages()).peekedMessageItems).toEqual([]);

    const { receivedMessageItems: items } = await app.ctx.landing.events.receiveMessages({
      numberOfMessages: 32,
    });
    expect(items).toHaveLength(2);
    const outcomes = await Promise.all(
      items.map((m) =>
        handleLandingEvent(Buffer.from(m.messageText, 'base64').toString('utf8'), app.ctx, app.log),
      ),
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(['queued', 'queued']);
    for (const o of outcomes) await closedBySweep(app, (o as { sourceId: string }).sourceId);
    expect(await app.kusto.count('Replayed')).toBe(2);
  });
});
