/**
 * The app's flows (push, blob references, the landing path, settle, the sweep, an operator's retry) run over
 * fakes: the real lifecycle over the memory store, a fake ingest client that records what it was asked and
 * answers the statuses a test sets, the landing account in memory, and the test's clock. The integration
 * suites run the same flows against Azurite and the stand-in; these run in milliseconds.
 */
import { handleLandingEvent } from '../../../shared/app/landing/handleLandingEvent';
import { retrySource } from '../../../shared/app/operator/retrySource';
import { pushData, type PushRequest } from '../../../shared/app/push/pushData';
import { queueBlobRefs } from '../../../shared/app/push/queueBlobRefs';
import { settle } from '../../../shared/app/sweep/settle';
import { runSweep } from '../../../shared/app/sweep/sweep';
import { emptySummary } from '../../../shared/app/sweep/sweepSummary';
import { fakeApp, type FakeApp } from '../../helpers/fakeApp';
import type { KustoTable } from '../../../shared/kusto/v1Response';
import type { SweepPorts } from '../../../shared/app/ports';
import { errorFromStatus } from '../../../shared/errors';

const MINUTE = 60_000;
async function* csv(text: string): AsyncGenerator<Uint8Array> {
  yield await Promise.resolve(Buffer.from(text));
}
const request = (extra: Partial<PushRequest> = {}): PushRequest => ({
  database: 'demo',
  table: 'Events',
  format: 'csv',
  tags: [],
  ...extra,
});
const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const busy = () => Object.assign(new Error('server busy'), { statusCode: 503 });
/** Each protocol as the fake ingest client speaks it: v1 messages, or v2 submissions of 3 (its submissionSize). */
const PROTOCOLS: [string, number | undefined][] = [
  ['v1', undefined],
  ['v2', 3],
];

async function push(app: FakeApp, extra: Partial<PushRequest> = {}, body = '1,a\n') {
  const outcome = await pushData(app.ctx, request(extra), csv(body));
  if (outcome.kind !== 'accepted') throw new Error(`not accepted: ${outcome.kind}`);
  return outcome.sourceId;
}

describe('a push', () => {
  it('is staged, recorded, queued once, and closed by its status', async () => {
    const app = fakeApp();
    const sourceId = await push(app);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued', kind: 'http' });
    app.ingest.answer(sourceId, { status: 'Succeeded' });
    await runSweep(app.ctx, app.ctx.logger);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    expect(app.store.open.size).toBe(0);
  });

  it('whose enqueue surely failed is still accepted, and the sweep queues what was stored', async () => {
    const app = fakeApp();
    app.ingest.failNext(busy());
    const sourceId = await push(app);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(0);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'uploaded' });
    app.advance(app.ctx.tracking.leaseMs); // past the redrive window
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued' });
  });

  it('whose message may have gone out (answer lost) is queued at most once more, and only past the stale limit', async () => {
    const app = fakeApp({ STALE_AFTER_MINUTES: '10' });
    app.ingest.failNext(reset(), { applied: true });
    const sourceId = await push(app);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued', uncertain: true });
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    // Its status stays Pending (the service is slow): no second message before the stale limit...
    app.advance(5 * MINUTE);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    // ...and one after it.
    app.advance(6 * MINUTE);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
  });

  it('whose stored-state write was applied but answered with a broken connection is refused, and nothing of it stays', async () => {
    const app = fakeApp();
    app.store.applyThenLoseAnswer();
    await expect(pushData(app.ctx, request(), csv('1,a\n'))).rejects.toThrow(/socket hang up/);
    expect(app.store.rows.size).toBe(0);
    app.advance(app.ctx.tracking.leaseMs);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sent).toHaveLength(0); // refused, and never queued later
  });

  it('whose stored-state write may stand and cannot be undone is taken on (202), and the sweep queues it once', async () => {
    const app = fakeApp();
    app.store.applyThenLoseAnswer();
    app.store.fail('remove', 2);
    const sourceId = await push(app);
    expect(app.events('PushStoreUncertain')).toHaveLength(1);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'uploaded' });
    app.advance(app.ctx.tracking.leaseMs);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
  });

  it('with an Idempotency-Key is replayed, not sent again, and another body under the key is refused', async () => {
    const app = fakeApp();
    const sourceId = await push(app, { idempotencyKey: 'k-1' });
    expect(await pushData(app.ctx, request({ idempotencyKey: 'k-1' }), csv('1,a\n'))).toEqual({
      kind: 'accepted',
      sourceId,
      replay: true,
    });
    expect(
      await pushData(app.ctx, request({ idempotencyKey: 'k-1', tags: ['other'] }), csv('1,a\n')),
    ).toMatchObject({ kind: 'keyReused' });
    expect(app.ingest.sent).toHaveLength(1);
  });
});

describe('sources queued over REST (ingest v2)', () => {
  it('keep their operation, and the sweep reads each operation once: 7 sources in 3 operations, 3 reads', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await push(app, {}, `${i},a\n`));
    const record = await app.store.get(ids[0] ?? '');
    expect(record?.operation).toMatch(/^kiv2\./);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.operationReads).toBe(3);
    expect(app.ingest.statusReads).toBe(0); // no status row per source was asked for
    for (const id of ids.slice(0, 5)) app.ingest.answer(id, { status: 'Succeeded' });
    app.ingest.answer(ids[5] ?? '', {
      status: 'Failed',
      errorCode: 'BadRequest_X',
      failureStatus: 'Permanent',
    });
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.operationReads).toBe(6);
    for (const id of ids.slice(0, 5))
      expect(await app.store.get(id)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    expect(await app.store.get(ids[5] ?? '')).toMatchObject({ state: 'closed', finalStatus: 'Failed' });
    expect(await app.store.get(ids[6] ?? '')).toMatchObject({ state: 'queued' }); // its operation says Pending
    expect(app.events('IngestionFailed')).toHaveLength(1);
  });
});

/**
 * The engine as v2's evidence asks it: extents tagged with a submission (those `accepted` holds) and the
 * ingestion failures recorded (`failed`: blob paths).
 */
function fakeEngine(
  app: FakeApp,
  accepted: (tag: string) => boolean,
  failed: string[] = [],
  missingTables = new Set<string>(),
) {
  const asked: string[] = [];
  const table = (columns: string[], rows: unknown[][]): KustoTable[] => [
    { name: 'Table_0', columns, rows } as unknown as KustoTable,
  ];
  (app.ctx as { engine: SweepPorts['engine'] }).engine = {
    executeMgmt: (_db: string, csl: string) => {
      asked.push(csl);
      const tag = /tags has "([^"]+)"/.exec(csl)?.[1];
      if (tag !== undefined) {
        if (missingTables.has(/^\.show table \['([^']+)'\]/.exec(csl)?.[1] ?? ''))
          // As a cluster answers for a table that does not exist.
          return Promise.reject(
            errorFromStatus({
              statusCode: 404,
              message: "Entity name 'T' of kind 'Table' does not exist.",
              serviceCode: 'NotFound',
            }),
          );
        return Promise.resolve(table(['ExtentId'], accepted(tag) ? [['e1']] : []));
      }
      if (csl.startsWith('.show ingestion failures'))
        return Promise.resolve(
          table(
            ['IngestionSourcePath', 'FailedOn', 'Database', 'Table', 'ErrorCode', 'FailureKind'],
            failed.map((path) => [
              path,
              new Date(app.ctx.clock()).toISOString(),
              'demo',
              'Events',
              'BadRequest_X',
              'Permanent',
            ]),
          ),
        );
      return Promise.reject(new Error(`not scripted: ${csl}`));
    },
  };
  return asked;
}

describe('sources submitted over REST whose answer never came (ingest v2)', () => {
  const stale = (app: FakeApp) => app.advance(app.ctx.config.staleAfterMinutes * MINUTE + MINUTE);

  it('are journaled before the POST, and settled past the stale limit by the submission’s extents: accepted, ingested once', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    const asked = fakeEngine(app, (tag) => app.ingest.submittedTags.has(tag));
    app.ingest.failNext(reset(), { applied: true }); // the POST went; its answer was lost
    const sourceId = await push(app);
    const [tag] = app.ingest.journaled.get(sourceId) ?? [];
    expect(tag).toMatch(/^kif-batch:/);
    expect(await app.store.get(sourceId)).toMatchObject({
      state: 'queued',
      uncertain: true,
      submission: tag,
      operation: undefined,
    });
    await runSweep(app.ctx, app.ctx.logger);
    expect(asked).toEqual([]); // within the stale limit the service may still hold it: nothing asked
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued' });
    stale(app);
    await runSweep(app.ctx, app.ctx.logger);
    expect(asked.some((command) => command.includes(`extents where tags has "${tag}"`))).toBe(true);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1); // never sent again
    expect(app.events('SubmissionSettledByEvidence')).toMatchObject([{ sourceId, outcome: 'ingested' }]);
  });

  it('are queued again once when nothing of the submission was ingested, in a new journaled submission', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    fakeEngine(app, () => false);
    app.ingest.failNext(reset(), { applied: true });
    const sourceId = await push(app);
    stale(app);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
    const tags = app.ingest.journaled.get(sourceId) ?? [];
    expect(tags).toHaveLength(2);
    expect(tags[0]).not.toBe(tags[1]);
    // Its new submission was answered: read by its operation from now on, not by evidence.
    const again = await app.store.get(sourceId);
    expect(again).toMatchObject({ state: 'queued', submission: tags[1], requeueCount: 1 });
    expect(again?.operation).toBeDefined();
  });

  // A submission whose every blob failed made no extents: the recorded failure decides, not their absence.
  it.each([
    ['accepted (other blobs made extents)', true],
    ['without extents, its blob having failed', false],
  ])(
    'are failed once, not queued again, when the engine recorded a failure of the blob: submission %s',
    async (_name, accepted) => {
      const app = fakeApp();
      app.ingest.submissionSize = 3;
      app.ingest.failNext(reset(), { applied: true });
      const sourceId = await push(app);
      const blobPath = (await app.store.get(sourceId))?.blobPath ?? '';
      fakeEngine(app, () => accepted, [blobPath]);
      stale(app);
      await runSweep(app.ctx, app.ctx.logger);
      await runSweep(app.ctx, app.ctx.logger);
      expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Failed' });
      expect(app.events('IngestionFailed')).toHaveLength(1);
      expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    },
  );

  it('answered, but whose operation stays Pending (or is forgotten) past the stale limit, are settled by the evidence first', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    const accepted = new Set<string>();
    fakeEngine(app, (tag) => accepted.has(tag));
    const ingested = await push(app);
    const stuck = await push(app);
    const [ingestedTag] = app.ingest.journaled.get(ingested) ?? [];
    accepted.add(ingestedTag ?? '');
    for (const id of [ingested, stuck])
      expect((await app.store.get(id))?.operation).toEqual(expect.any(String)); // answered: read by operation
    stale(app);
    await runSweep(app.ctx, app.ctx.logger);
    expect(await app.store.get(ingested)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    expect(app.events('SubmissionSettledByEvidence')).toMatchObject([
      { sourceId: ingested, outcome: 'ingested' },
    ]);
    // No extents and no failure: as before, stuck (it was answered, so it is not queued again).
    expect(await app.store.get(stuck)).toMatchObject({ state: 'queued' });
    expect(app.events('IngestionStuck')).toMatchObject([{ sourceId: stuck }]);
    expect(app.ingest.sentFor(stuck)).toHaveLength(1);
  });

  it('are queued again when their table does not exist yet: a missing table holds no extents', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    fakeEngine(app, () => false, [], new Set(['Events']));
    app.ingest.failNext(reset(), { applied: true });
    const sourceId = await push(app);
    stale(app);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.events('SweepItemError')).toEqual([]);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
  });

  it('whose holder stopped after the journal are never sent again blindly: the taker waits for the evidence', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    const accepted = new Set<string>();
    fakeEngine(app, (tag) => accepted.has(tag));
    // The first holder journals its submission, sends it, and stops before the answer is written.
    app.ingest.failNext(reset(), { applied: true });
    const stopped = app.ctx.tracking.queue.bind(app.ctx.tracking);
    let journaledTag = '';
    (app.ctx.tracking as { queue: typeof stopped }).queue = (record, enqueue) =>
      stopped(record, async (call) => {
        await enqueue({
          ...call,
          journal: call.journal && {
            ...call.journal,
            beforeSubmit: async (id, tag) => {
              journaledTag = tag;
              await call.journal?.beforeSubmit(id, tag);
            },
          },
        }).catch(() => undefined);
        return new Promise<never>(() => undefined); // the process is gone: no answer, no write after
      });
    void pushData(app.ctx, request(), csv('1,a\n'));
    const sourceId = await until(async () => (await first(app.store.openEntries()))?.sourceId);
    await until(
      async () => (await app.store.get(sourceId))?.submission === journaledTag && journaledTag !== '',
    );
    (app.ctx.tracking as { queue: typeof stopped }).queue = stopped;
    accepted.add(journaledTag);
    app.advance(app.ctx.tracking.leaseMs + MINUTE); // its lease ran out
    await runSweep(app.ctx, app.ctx.logger);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued', uncertain: true });
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1); // taken over without a second submission
    stale(app);
    await runSweep(app.ctx, app.ctx.logger);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
  });

  it('whose journal write was applied but answered lost are released with the unsent submission cleared, not left for the stale limit', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    // The row takes the journal's write, but the answer never comes: the client leaves the blob out and
    // never sends the tag, while the row names it.
    const restore = loseJournalAnswers(app);
    const sourceId = await push(app);
    restore();
    expect(app.ingest.sentFor(sourceId)).toHaveLength(0);
    const released = await app.store.get(sourceId);
    expect(released).toMatchObject({ state: 'uploaded', leaseUntil: new Date(0) });
    expect(released?.submission).toBeUndefined(); // no extents will ever carry that tag: nothing to wait for
    expect(app.events('UnsentSubmissionCleared')).toMatchObject([
      { sourceId, submission: expect.stringMatching(/^kif-batch:/) as unknown },
    ]);
    expect(app.events('TrackingUpdateFailed')).toEqual([]);
    app.advance(app.ctx.tracking.leaseMs); // past the redrive window, well within the stale limit
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    const queued = await app.store.get(sourceId);
    expect(queued).toMatchObject({ state: 'queued' });
    expect(queued?.uncertain).not.toBe(true);
    expect(queued?.operation).toBeDefined();
  });

  it('requeued by the sweep, whose journal write was applied but answered lost, are queued by the next sweep, not after the stale limit', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    const sourceId = await push(app);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    app.ingest.answer(sourceId, { status: 'Failed', failureStatus: 'Transient', errorCode: 'General_Busy' });
    // The sweep requeues it; the journal write of the new submission is applied, its answer lost.
    const restore = loseJournalAnswers(app);
    await runSweep(app.ctx, app.ctx.logger);
    restore();
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1); // the new submission never went
    expect((await app.store.get(sourceId))?.submission).toBeUndefined();
    expect(app.events('UnsentSubmissionCleared')).toMatchObject([{ sourceId }]);
    app.advance(app.ctx.tracking.leaseMs + MINUTE); // the requeue's lease ran out; well within the stale limit
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
    const queued = await app.store.get(sourceId);
    // Put back by the requeue that sent nothing, it was sent by the redrive as that same attempt.
    expect(queued).toMatchObject({ state: 'queued', requeueCount: 1 });
    expect(queued?.operation).toBeDefined();
  });

  it('whose POST surely failed after the journal are released, not left conflicting with their own journal', async () => {
    const app = fakeApp();
    app.ingest.submissionSize = 3;
    app.ingest.failNext(busy());
    const sourceId = await push(app);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'uploaded', leaseUntil: new Date(0) });
    expect(app.events('TrackingUpdateFailed')).toEqual([]);
    app.advance(app.ctx.tracking.leaseMs); // past the redrive window
    await runSweep(app.ctx, app.ctx.logger); // released: taken over without asking anyone
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
    const queued = await app.store.get(sourceId);
    expect(queued).toMatchObject({ state: 'queued' });
    expect(queued?.uncertain).not.toBe(true);
    expect(queued?.operation).toBeDefined();
  });
});

/**
 * Until the returned function is called, every journal write of the app's REST submissions is applied by
 * storage but its answer is lost (the client then leaves the blob out and never sends the tag).
 */
function loseJournalAnswers(app: FakeApp): () => void {
  const queue = app.ctx.tracking.queue.bind(app.ctx.tracking);
  const tracking = app.ctx.tracking as { queue: typeof queue };
  tracking.queue = (record, enqueue) =>
    queue(record, (call) =>
      enqueue({
        ...call,
        journal: call.journal && {
          ...call.journal,
          beforeSubmit: (id, tag) => {
            app.store.applyThenLoseAnswer();
            return call.journal?.beforeSubmit(id, tag) ?? Promise.resolve();
          },
        },
      }),
    );
  return () => {
    tracking.queue = queue;
  };
}

async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}

/** Polls `probe` until it gives a truthy value, for at most two seconds. */
async function until<T>(probe: () => Promise<T>): Promise<NonNullable<T>> {
  const deadline = Date.now() + 2_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met within 2 s');
    await new Promise((r) => setImmediate(r));
  }
}

describe('blob references', () => {
  it('are each queued by URL and tracked; a refused URL writes nothing', async () => {
    const app = fakeApp();
    const results = await queueBlobRefs(app.ctx, {
      database: 'demo',
      table: 'Events',
      format: 'csv',
      blobs: [
        { url: 'https://acct.blob.core.windows.net/c/a.csv?sig=x' },
        { url: 'http://evil.example/b.csv' },
      ],
    });
    const [good, bad] = results;
    expect(good).toMatchObject({ url: 'https://acct.blob.core.windows.net/c/a.csv' });
    expect(bad).toHaveProperty('error');
    expect(app.ingest.sent.map((m) => m.url)).toEqual(['https://acct.blob.core.windows.net/c/a.csv?sig=x']);
    expect(app.store.rows.size).toBe(1);
  });

  it('whose mark-queued write failed after the message may have gone out is answered as taken, not refused', async () => {
    const app = fakeApp();
    app.ingest.failNext(reset(), { applied: true });
    app.store.fail('replace');
    const [result] = await queueBlobRefs(app.ctx, {
      database: 'demo',
      table: 'Events',
      format: 'csv',
      blobs: [{ url: 'https://acct.blob.core.windows.net/c/a.csv?sig=x' }],
    });
    expect(result).toHaveProperty('sourceId');
    expect(app.store.rows.size).toBe(1); // kept for the sweep to ask the service about
  });
});

/**
 * After the sweep of `now` (the same app, or its restart) sent the requeued attempt: queued as attempt 1,
 * closed as ingested once it lands, sent twice in all, requeued once, never reported stuck.
 */
async function closesAsSentOnceMore(app: FakeApp, now: FakeApp, sourceId: string) {
  expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
  expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued', requeueCount: 1 });
  app.ingest.answer(sourceId, { status: 'Succeeded' });
  await runSweep(now.ctx, now.ctx.logger);
  expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
  expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
  expect(app.events('IngestionRequeued')).toHaveLength(1);
  expect(app.events('IngestionStuck')).toEqual([]);
}

describe('the landing path', () => {
  /** Uploads a blob to landing and delivers its BlobCreated event; `deliver` delivers the same event again. */
  async function land(app: FakeApp, path: string, body: string) {
    const etag = app.blobs.put('landing', path, body);
    const url = app.ctx.landing.container.getBlobClient(path).url;
    const event = {
      eventType: 'Microsoft.Storage.BlobCreated',
      subject: `/blobServices/default/containers/landing/blobs/${path}`,
      data: { url, eTag: etag, api: 'PutBlob', contentLength: body.length },
    };
    const deliver = () => handleLandingEvent(event, app.ctx, app.ctx.logger);
    return Object.assign(await deliver(), { deliver });
  }

  it('routes a blob by its path, queues it by a signed URL, and ingests a redelivery once', async () => {
    const app = fakeApp();
    const first = await land(app, 'demo/Events/a.csv', '1,a\n');
    expect(first).toMatchObject({ outcome: 'queued' });
    expect(await first.deliver()).toMatchObject({ outcome: 'duplicate' });
    expect(app.ingest.sent).toHaveLength(1);
    expect(app.ingest.sent[0]).toMatchObject({ props: { database: 'demo', table: 'Events', format: 'csv' } });
    expect(app.ingest.sent[0]?.url).toMatch(/\/landing\/demo\/Events\/a\.csv\?sig=fake$/);
  });

  it('quarantines a blob that failed for good, with the reason on it, after reporting it once', async () => {
    const app = fakeApp();
    const taken = await land(app, 'demo/Events/bad.csv', '1,a,extra\n');
    const sourceId = (taken as { sourceId: string }).sourceId;
    app.ingest.answer(sourceId, {
      status: 'Failed',
      failureStatus: 'Permanent',
      errorCode: 'Stream_WrongNumberOfFields',
      details: 'bad row',
    });
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.blobs.get('landing', 'demo/Events/bad.csv')).toBeUndefined();
    expect(app.blobs.get('landing-failed', 'demo/Events/bad.csv')?.metadata).toMatchObject({
      quarantine_error_code: 'Stream_WrongNumberOfFields',
      quarantine_source_id: sourceId,
    });
    expect(app.events('IngestionFailed')).toEqual([
      expect.objectContaining({ sourceId, action: 'quarantined to landing-failed' }),
    ]);
  });

  it.each(PROTOCOLS)(
    'sends again a requeue of a landing blob whose process stopped before its enqueue, from the blob (%s)',
    async (_protocol, submissionSize) => {
      const app = fakeApp({ STALE_AFTER_MINUTES: '10' });
      app.ingest.submissionSize = submissionSize;
      const taken = await land(app, 'demo/Events/a.csv', '1,a\n');
      const sourceId = (taken as { sourceId: string }).sourceId;
      app.ingest.answer(sourceId, {
        status: 'Failed',
        failureStatus: 'Transient',
        errorCode: 'General_Busy',
      });
      app.ingest.stopNext();
      void runSweep(app.ctx, app.ctx.logger); // this process stops inside the requeue's enqueue
      // Counted and held as a landing blob not yet queued: what a lapsed lease hands to the landing path.
      const held = await until(async () => {
        const row = await app.store.get(sourceId);
        return row?.requeueCount === 1 ? row : undefined;
      });
      expect(held).toMatchObject({ state: 'queuing' });
      const next = app.restart();
      next.advance(next.ctx.tracking.leaseMs + MINUTE);
      await runSweep(next.ctx, next.ctx.logger);
      expect(app.ingest.sentFor(sourceId)[1]?.url).toMatch(/\/landing\/demo\/Events\/a\.csv\?sig=fake$/);
      await closesAsSentOnceMore(app, next, sourceId);
    },
  );

  it('rejects a blob routed to a database ALLOWED_DATABASES refuses: quarantined, nothing queued', async () => {
    const app = fakeApp({ ALLOWED_DATABASES: 'demo' });
    const outcome = await land(app, 'other/Events/a.csv', '1,a\n');
    expect(outcome).toMatchObject({ outcome: 'rejected' });
    expect(app.ingest.sent).toHaveLength(0);
    expect(app.blobs.get('landing-failed', 'other/Events/a.csv')).toBeDefined();
  });
});

describe('settle', () => {
  /** A push, queued, whose status then says the service gave up on it for a passing reason. */
  async function pushThatFailedTransiently(submissionSize: number | undefined) {
    const app = fakeApp({ STALE_AFTER_MINUTES: '10' });
    app.ingest.submissionSize = submissionSize;
    const sourceId = await push(app);
    // The service's word on the first attempt: it stays so (a v1 status row) until a new attempt is sent.
    app.ingest.answer(sourceId, { status: 'Failed', failureStatus: 'Transient', errorCode: 'General_Busy' });
    return { app, sourceId };
  }

  it('queues a failure the service gave up on once more, then reports it when it fails again', async () => {
    const app = fakeApp({ MAX_REQUEUE_ATTEMPTS: '1' });
    const sourceId = await push(app);
    const record = async () => {
      const r = await app.store.get(sourceId);
      if (!r) throw new Error('no row');
      return r;
    };
    const transient = {
      sourceId,
      status: 'Failed',
      failureStatus: 'Transient',
      errorCode: 'General_Busy',
    } as const;
    await settle(app.ctx, app.ctx.logger, await record(), transient, emptySummary());
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
    expect(await record()).toMatchObject({ state: 'queued', requeueCount: 1 });
    await settle(app.ctx, app.ctx.logger, await record(), transient, emptySummary());
    expect(await record()).toMatchObject({ state: 'closed', finalStatus: 'Failed' });
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
    expect(app.events('IngestionFailed')).toHaveLength(1);
  });

  it.each(PROTOCOLS)(
    'puts a requeue whose enqueue surely failed back to be sent by the sweep, as the same attempt (%s)',
    async (_protocol, submissionSize) => {
      const { app, sourceId } = await pushThatFailedTransiently(submissionSize);
      app.ingest.failNext(busy());
      await runSweep(app.ctx, app.ctx.logger);
      expect(app.ingest.sentFor(sourceId)).toHaveLength(1); // the requeue sent nothing
      // Not left `queued` with nothing to read (Pending, then stuck for ever): stored, released, counted once.
      expect(await app.store.get(sourceId)).toMatchObject({
        state: 'uploaded',
        requeueCount: 1,
        leaseUntil: new Date(0),
      });
      expect(app.events('RequeueNotSent')).toMatchObject([{ sourceId, attempt: 1, state: 'uploaded' }]);
      app.ingest.answer(sourceId, { status: 'Pending' }); // what the service says of a source it never got
      app.advance(app.ctx.tracking.leaseMs); // past the redrive window, well within the stale limit
      await runSweep(app.ctx, app.ctx.logger);
      await closesAsSentOnceMore(app, app, sourceId);
    },
  );

  it.each(PROTOCOLS)(
    'sends a requeue whose process stopped before its enqueue once the lease lapses, never leaving it Pending (%s)',
    async (_protocol, submissionSize) => {
      const { app, sourceId } = await pushThatFailedTransiently(submissionSize);
      app.ingest.stopNext();
      void runSweep(app.ctx, app.ctx.logger); // this process stops inside the requeue's enqueue
      await until(async () => (await app.store.get(sourceId))?.requeueCount === 1);
      expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
      const next = app.restart();
      next.advance(next.ctx.tracking.leaseMs + MINUTE); // the lease lapsed; well within the stale limit
      // Nothing says this attempt went: on v2 no status row names the source and nothing was submitted; on v1
      // the status row still holds the failure the last attempt ended with. The sweep sends this same attempt.
      await runSweep(next.ctx, next.ctx.logger);
      await closesAsSentOnceMore(app, next, sourceId);
    },
  );

  it('reports a source stuck in Pending once past the stale limit, and closes it when it lands', async () => {
    const app = fakeApp({ STALE_AFTER_MINUTES: '10' });
    const sourceId = await push(app);
    app.advance(11 * MINUTE);
    await runSweep(app.ctx, app.ctx.logger);
    await runSweep(app.ctx, app.ctx.logger);
    expect(app.events('IngestionStuck').map((e) => e.sourceId)).toEqual([sourceId]);
    app.ingest.answer(sourceId, { status: 'Succeeded' });
    await runSweep(app.ctx, app.ctx.logger);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
  });
});

describe("an operator's retry", () => {
  it('queues a failed push again from its staged blob, as its next attempt, and refuses what is not failed', async () => {
    const app = fakeApp();
    const sourceId = await push(app);
    expect(await retrySource(app.ctx, app.ctx.logger, sourceId)).toMatchObject({ kind: 'notFailed' });
    app.ingest.answer(sourceId, {
      status: 'Failed',
      failureStatus: 'Permanent',
      errorCode: 'BadRequest_TableNotExist',
    });
    await runSweep(app.ctx, app.ctx.logger);
    expect(await retrySource(app.ctx, app.ctx.logger, sourceId)).toEqual({ kind: 'retried', sourceId });
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
    expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued', requeueCount: 1 });
  });

  it.each([
    // The row still says how the first attempt failed, with the error the history noted: not this attempt's.
    ['Failed', 'BadRequest_TableNotExist', 0],
    // Part of the first attempt's data was ingested, so its word is not matched like a failure's; but storage
    // last wrote the row an hour before this attempt began (the operator fixed the mapping, then retried):
    // the first attempt's. Taken as this attempt's, the retry would be reported again and never made.
    ['PartiallySucceeded', 'BadRequest_InvalidRecords', 60 * MINUTE],
  ] as const)(
    'of a %s source whose process stopped before the enqueue is sent by the sweep, not ended again by the old status row (v1)',
    async (status, errorCode, operatorDelayMs) => {
      const app = fakeApp();
      const sourceId = await push(app);
      app.ingest.answer(sourceId, { status, failureStatus: 'Permanent', errorCode });
      await runSweep(app.ctx, app.ctx.logger);
      expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: status });
      expect(app.events('IngestionFailed')).toHaveLength(1);
      app.advance(operatorDelayMs);
      app.ingest.stopNext();
      void retrySource(app.ctx, app.ctx.logger, sourceId); // this process stops inside the retry's enqueue
      await until(async () => (await app.store.get(sourceId))?.requeueCount === 1);
      const next = app.restart();
      next.advance(next.ctx.tracking.leaseMs + MINUTE); // past the lease (and the redrive window)
      await runSweep(next.ctx, next.ctx.logger);
      // The retry the operator asked for is made.
      expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
      expect(await app.store.get(sourceId)).toMatchObject({ state: 'queued', requeueCount: 1 });
      expect(app.events('IngestionFailed')).toHaveLength(1);
      app.ingest.answer(sourceId, { status: 'Succeeded' });
      await runSweep(next.ctx, next.ctx.logger);
      expect(await app.store.get(sourceId)).toMatchObject({ state: 'closed', finalStatus: 'Succeeded' });
    },
  );

  it('of a PartiallySucceeded source is not sent twice when its message went before the process stopped (v1)', async () => {
    const app = fakeApp();
    const sourceId = await push(app);
    app.ingest.answer(sourceId, { status: 'PartiallySucceeded', errorCode: 'BadRequest_InvalidRecords' });
    await runSweep(app.ctx, app.ctx.logger);
    app.advance(60 * MINUTE);
    app.ingest.failNext(new Error('socket hang up'), { applied: true }); // sent, then the process lost it
    await retrySource(app.ctx, app.ctx.logger, sourceId).catch(() => undefined);
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
    app.ingest.answer(sourceId, { status: 'PartiallySucceeded', errorCode: 'BadRequest_InvalidRecords' });
    const next = app.restart();
    next.advance(next.ctx.tracking.leaseMs + MINUTE);
    await runSweep(next.ctx, next.ctx.logger);
    // This attempt's row (written as its message went, then by the service) is newer than the attempt: its
    // word stands, and nothing is sent a third time.
    expect(app.ingest.sentFor(sourceId)).toHaveLength(2);
    expect(await app.store.get(sourceId)).toMatchObject({
      state: 'closed',
      finalStatus: 'PartiallySucceeded',
    });
    expect(app.events('IngestionFailed')).toHaveLength(2);
  });

  it('says the data is gone when the staged blob was cleaned up', async () => {
    const app = fakeApp();
    const sourceId = await push(app);
    app.ingest.answer(sourceId, { status: 'Failed', failureStatus: 'Permanent', errorCode: 'X' });
    await runSweep(app.ctx, app.ctx.logger);
    app.ingest.staged.clear();
    expect(await retrySource(app.ctx, app.ctx.logger, sourceId)).toMatchObject({
      kind: 'gone',
      code: 'StagedBlobGone',
    });
    expect(app.ingest.sentFor(sourceId)).toHaveLength(1);
  });
});

describe('a streamed push (managed-streaming)', () => {
  afterEach(() => jest.useRealTimers());

  /** The app with a managed-streaming client that streams every body it is given. */
  function streaming() {
    const app = fakeApp();
    const managed = {
      tryStream: async (body: AsyncIterable<Uint8Array>) => {
        let bytes = 0;
        for await (const chunk of body) bytes += chunk.length;
        return { streamed: bytes > 0 };
      },
    } as unknown as NonNullable<FakeApp['ctx']['managed']>;
    return { app, ctx: { ...app.ctx, managed } };
  }

  it('is closed as streamed, with nothing queued', async () => {
    const { app, ctx } = streaming();
    const outcome = await pushData(ctx, request(), csv('1,a\n'));
    expect(outcome).toMatchObject({ kind: 'streamed' });
    expect(app.ingest.sent).toHaveLength(0);
    expect(await app.store.get((outcome as { sourceId: string }).sourceId)).toMatchObject({
      state: 'closed',
      finalStatus: 'Succeeded',
    });
  });

  it('whose row cannot be closed is still answered as streamed, never refused (a resend would ingest it twice)', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { app, ctx } = streaming();
    app.store.fail('replace', 3); // the close, and both of its retries
    const answered = pushData(ctx, request(), csv('1,a\n'));
    await jest.advanceTimersByTimeAsync(5_000); // the retries' backoff, on the fake clock
    const outcome = await answered;
    expect(outcome).toMatchObject({ kind: 'streamed' });
    const sourceId = (outcome as { sourceId: string }).sourceId;
    expect(app.events('StreamedNotRecorded')).toEqual([expect.objectContaining({ sourceId })]);
    expect(await app.store.get(sourceId)).toBeDefined(); // kept, not discarded
  });
});
