import type { IngestionReceipt } from '../../../shared/ingest/types';
import { FailureReporter } from '../../../shared/app/tracking/failureReporter';
import { LEASE_MS, TrackedSources, type NewSource } from '../../../shared/app/tracking/trackedSources';
import { MemoryTrackingStore } from '../../helpers/memoryTrackingStore';

const MINUTE = 60_000;

function setup(options: { wasQueued?: 'none' | 'processed' | 'pending' } = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const store = new MemoryTrackingStore();
  const lines: string[] = [];
  const logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (l: string) => lines.push(l),
    error: (l: string) => lines.push(l),
  };
  const probes: string[] = [];
  const sources = new TrackedSources({
    store,
    reporter: new FailureReporter({ store, logger }),
    clock: () => now,
    logger,
    wasQueued: (record) => {
      probes.push(record.sourceId);
      return Promise.resolve(options.wasQueued ?? 'none');
    },
  });
  return {
    store,
    sources,
    lines,
    probes,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const source = (
  sourceId = '11111111-1111-4111-8111-111111111111',
  extra: Partial<NewSource> = {},
): NewSource => ({
  sourceId,
  kind: 'http',
  database: 'db',
  table: 't',
  props: { database: 'db', table: 't', format: 'csv' },
  ...extra,
});

const receipt = (sourceId: string): IngestionReceipt => ({
  sourceId,
  database: 'db',
  table: 't',
  flavor: 'queued',
  status: 'Pending',
  statusTable: {
    tableUrl: 'https://a.table.core.windows.net/status',
    partitionKey: sourceId,
    rowKey: sourceId,
  },
});

describe('begin', () => {
  it('lists the source, then inserts its row leased to the caller', async () => {
    const { store, sources } = setup();
    const begun = await sources.begin(source());
    expect(begun.kind).toBe('new');
    expect(store.calls.slice(0, 2)).toEqual(['markOpen', 'insert']);
    expect(sources.isLeased(begun.record)).toBe(true);
    expect(store.open.has(begun.record.sourceId)).toBe(true);
  });

  it('writes no row when the listing fails (so no row is ever unlisted)', async () => {
    const { store, sources } = setup();
    store.fail('markOpen');
    await expect(sources.begin(source())).rejects.toThrow(/markOpen failed/);
    expect(store.rows.size).toBe(0);
  });

  it('says busy while another holds the lease, with how long to wait', async () => {
    const { sources, advance } = setup();
    await sources.begin(source());
    advance(MINUTE);
    const again = await sources.begin(source());
    expect(again).toMatchObject({ kind: 'busy', retryAfterMs: LEASE_MS - MINUTE });
  });

  it('resumes a row whose holder released it, without asking the service', async () => {
    const { sources, probes } = setup();
    const first = await sources.begin(source());
    await sources.release(first.record);
    const again = await sources.begin(source());
    expect(again.kind).toBe('resumed');
    expect(probes).toEqual([]);
  });

  it('after a lease ran out, asks the service first and takes the row as queued if it processed it', async () => {
    const { sources, advance, probes } = setup({ wasQueued: 'processed' });
    await sources.begin(source());
    advance(LEASE_MS + 1);
    const again = await sources.begin(source());
    expect(again.kind).toBe('done');
    expect(again.record).toMatchObject({ state: 'queued', uncertain: false });
    expect(probes).toHaveLength(1);
  });

  it('marks a row queued but uncertain when the service has only its Pending row (the message may be unsent)', async () => {
    const { sources, advance } = setup({ wasQueued: 'pending' });
    await sources.begin(source());
    advance(LEASE_MS + 1);
    const again = await sources.begin(source());
    expect(again.record).toMatchObject({ state: 'queued', uncertain: true });
  });

  it('hands a stored push to the next caller as staged', async () => {
    const { sources, advance } = setup();
    const first = await sources.begin(source());
    await sources.stage(first.record, { blobPath: 'https://a/b/c.gz', rawDataSize: 4 });
    advance(LEASE_MS + 1);
    const again = await sources.begin(source());
    expect(again).toMatchObject({
      kind: 'staged',
      record: { state: 'uploaded', blobPath: 'https://a/b/c.gz' },
    });
  });

  it('refuses the same id for other data (an Idempotency-Key reused)', async () => {
    const { sources } = setup();
    await sources.begin(source(undefined, { fingerprint: 'a' }));
    expect((await sources.begin(source(undefined, { fingerprint: 'b' }))).kind).toBe('mismatch');
  });

  it('re-lists a source it takes over', async () => {
    const { store, sources, advance } = setup();
    const first = await sources.begin(source());
    store.open.clear(); // as an older version of the app could leave it
    advance(LEASE_MS + 1);
    await sources.begin(source());
    expect(store.open.has(first.record.sourceId)).toBe(true);
  });
});

describe('a write applied whose answer was lost', () => {
  it('an insert the retry finds already there is recognised as ours: new, not busy', async () => {
    const { store, sources } = setup();
    store.applyThenConflict('insert');
    const begun = await sources.begin(source());
    expect(begun.kind).toBe('new');
    expect(sources.isLeased(begun.record)).toBe(true);
  });

  it('an update the retry finds changed is recognised as ours, not as someone else’s', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    store.applyThenConflict('replace');
    const staged = await sources.stage(record, { blobPath: 'https://a/b/c.gz' });
    expect(staged).toMatchObject({ state: 'uploaded', blobPath: 'https://a/b/c.gz' });
  });

  it('a change by someone else is still a conflict', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    const other = await store.get(record.sourceId);
    await store.replace(other ?? record, { ...record, details: 'someone else' });
    await expect(sources.stage(record, { blobPath: 'x' })).rejects.toThrow(/changed by someone else/);
  });
});

describe('a keyed retry after its first attempt was abandoned', () => {
  it('takes the new data instead of replaying a 202 for an attempt that stored nothing', async () => {
    // Issue 36, defect 2: the host died mid-upload, the lease lapsed, the sweep closed the source Abandoned.
    const { sources, advance } = setup();
    const key = { fingerprint: 'fp' };
    const first = await sources.begin(source(undefined, key));
    advance(LEASE_MS + MINUTE);
    await sources.fail(first.record, {
      event: 'IngestionAbandoned',
      finalStatus: 'Abandoned',
      action: 'closed',
      key: 'abandoned',
    });
    const retry = await sources.begin(source(undefined, key));
    expect(retry.kind).toBe('resumed');
    expect(retry.record).toMatchObject({ state: 'queuing', finalStatus: undefined, requeueCount: 1 });
    expect(sources.isLeased(retry.record)).toBe(true);
    // Its reports have new keys: the abandoned attempt's report stays the only one of that attempt.
    expect(retry.record.history?.map((h) => h.outcome)).toEqual(['Abandoned', 'retried']);
  });

  it('still replays the answer of an attempt that stored its data and was queued', async () => {
    const { sources } = setup();
    const key = { fingerprint: 'fp' };
    const first = await sources.begin(source(undefined, key));
    await sources.queue(first.record, () => Promise.resolve(receipt(first.record.sourceId)));
    expect((await sources.begin(source(undefined, key))).kind).toBe('done');
  });
});

describe('queue', () => {
  it('enqueues under a fresh lease without another write, then marks the row queued', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    const writes = store.calls.length;
    const queued = await sources.queue(record, () => Promise.resolve(receipt(record.sourceId)));
    expect(store.calls.slice(writes)).toEqual(['replace']);
    expect(queued).toMatchObject({
      state: 'queued',
      statusTableUrl: 'https://a.table.core.windows.net/status',
    });
    expect(queued.leaseUntil).toBeUndefined();
  });

  it('renews a lease with little left before enqueueing', async () => {
    const { store, sources, advance } = setup();
    const { record } = await sources.begin(source());
    advance(LEASE_MS - MINUTE);
    let leaseAtEnqueue = 0;
    await sources.queue(record, async () => {
      leaseAtEnqueue = (await store.get(record.sourceId))?.leaseUntil?.getTime() ?? 0;
      return receipt(record.sourceId);
    });
    expect(leaseAtEnqueue - (Date.parse('2026-01-01T00:00:00Z') + LEASE_MS - MINUTE)).toBe(LEASE_MS);
  });

  it('marks a source queued but uncertain when the enqueue may have gone through (the connection broke)', async () => {
    const { sources } = setup();
    const { record } = await sources.begin(source());
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const queued = await sources.queue(record, () => Promise.reject(reset));
    expect(queued).toMatchObject({ state: 'queued', uncertain: true });
    expect(queued.leaseUntil).toBeUndefined();
  });

  it('keeps the lease when an uncertain enqueue cannot be recorded: the next taker asks the service, and never queues twice', async () => {
    // Issue 36, defect 1: the Put Message reached the queue, its answer was lost, and the next writes of the
    // row failed. The caller releases, as on any failure: that release must not say "nothing was queued".
    const { store, sources, probes, advance, lines } = setup({ wasQueued: 'pending' });
    const { record } = await sources.begin(source());
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    let enqueues = 0;
    store.fail('replace');
    await expect(
      sources.queue(record, () => {
        enqueues += 1;
        return Promise.reject(reset);
      }),
    ).rejects.toThrow(/replace failed/);
    await sources.release(record);
    expect(lines).toContainEqual(expect.stringMatching(/"event":"LeaseKept"/));
    expect(sources.isLeased((await store.get(record.sourceId)) ?? record)).toBe(true);
    // A retry during the lease waits; after it, the taker asks the service, which has the Pending row.
    expect((await sources.begin(source())).kind).toBe('busy');
    advance(LEASE_MS + MINUTE);
    const again = await sources.begin(source());
    expect(probes).toEqual([record.sourceId]);
    expect(again).toMatchObject({ kind: 'done', record: { state: 'queued', uncertain: true } });
    expect(enqueues).toBe(1);
  });

  it('keeps, rather than forgets, a source whose enqueue may have gone out when the caller discards it', async () => {
    // The chaos run, seed 5: a blob reference's Put Message answer was lost, marking it uncertain failed,
    // and the handler discarded it and answered 503; the client sent it again as a new source: twice.
    const { store, sources, lines } = setup();
    const { record } = await sources.begin(source());
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    store.fail('replace');
    await expect(sources.queue(record, () => Promise.reject(reset))).rejects.toThrow(/replace failed/);
    expect(await sources.discard(record)).toBe('kept');
    expect(lines).toContainEqual(expect.stringMatching(/"event":"LeaseKept"/));
    expect(await store.get(record.sourceId)).toBeDefined();
    expect(store.open.has(record.sourceId)).toBe(true);
    // An enqueue that surely failed is forgotten as before.
    const other = await sources.begin(source('22222222-2222-4222-8222-222222222222'));
    const busy = Object.assign(new Error('server busy'), { statusCode: 503 });
    await expect(sources.queue(other.record, () => Promise.reject(busy))).rejects.toThrow('server busy');
    expect(await sources.discard(other.record)).toBe('discarded');
    expect(await store.get(other.record.sourceId)).toBeUndefined();
  });

  it('keeps a source whose row cannot be removed: a refusal would leave behind a row the sweep acts on', async () => {
    // The chaos run (10,000 items): a push's stage write was applied with its answer lost and the retry
    // answered 503, the removal then failed, and the push was refused while its stored row stayed: the
    // sweep queued it and it was ingested.
    const { store, sources, lines } = setup();
    const { record } = await sources.begin(source());
    store.fail('remove');
    expect(await sources.discard(record)).toBe('kept');
    expect(lines).toContainEqual(expect.stringMatching(/"event":"LeaseKept".*could not be removed/));
    expect(await store.get(record.sourceId)).toBeDefined();
    expect(store.open.has(record.sourceId)).toBe(true);
  });

  it('still releases at once after an enqueue that surely failed, for an immediate retry', async () => {
    const { store, sources, probes } = setup();
    const { record } = await sources.begin(source());
    const busy = Object.assign(new Error('server busy'), { statusCode: 503 });
    await expect(sources.queue(record, () => Promise.reject(busy))).rejects.toThrow('server busy');
    await sources.release(record);
    expect(sources.isLeased((await store.get(record.sourceId)) ?? record)).toBe(false);
    expect((await sources.begin(source())).kind).toBe('resumed');
    expect(probes).toEqual([]); // a released row: nothing was queued, nothing to ask
  });

  it('leaves the row to the caller when the enqueue surely failed (refused, busy)', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    const busy = Object.assign(new Error('server busy'), { statusCode: 503 });
    await expect(sources.queue(record, () => Promise.reject(busy))).rejects.toThrow('server busy');
    expect((await store.get(record.sourceId))?.state).toBe('queuing');
  });

  it('refuses to enqueue a source someone else took over', async () => {
    const { sources, advance } = setup();
    const stale = await sources.begin(source());
    advance(LEASE_MS + 1);
    await sources.begin(source()); // another delivery takes over
    let enqueued = false;
    await expect(
      sources.queue(stale.record, () => {
        enqueued = true;
        return Promise.resolve(receipt(stale.record.sourceId));
      }),
    ).rejects.toThrow(/changed by someone else/);
    expect(enqueued).toBe(false);
  });
});

describe('discard', () => {
  it('removes a row that a write of its own changed, though that write seemed to fail (its answer lost)', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    store.applyThenLoseAnswer();
    await expect(sources.stage(record, { blobPath: 'https://x/temp/a.csv.gz' })).rejects.toThrow(
      /socket hang up/,
    );
    expect(store.rows.get(record.sourceId)?.state).toBe('uploaded'); // the write stands
    expect(await sources.discard(record)).toBe('discarded');
    expect(store.rows.size).toBe(0);
    expect(store.open.size).toBe(0);
  });

  it('keeps, rather than refuses, a source whose row a lost write of its own may have changed and that cannot be removed', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    store.applyThenLoseAnswer();
    await expect(sources.stage(record, { blobPath: 'https://x/temp/a.csv.gz' })).rejects.toThrow();
    store.fail('remove', 2);
    expect(await sources.discard(record)).toBe('kept');
    expect(store.rows.get(record.sourceId)?.state).toBe('uploaded'); // left for the sweep to queue
  });

  it('does not remove a row someone else changed since (not one of its own writes)', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    store.applyThenLoseAnswer();
    await expect(sources.stage(record, { blobPath: 'https://x/temp/a.csv.gz' })).rejects.toThrow();
    const mine = store.rows.get(record.sourceId);
    if (!mine) throw new Error('no row');
    // Someone else writes the row after the lost write (a taker, after the lease).
    await store.replace(mine, { ...mine, writeId: 'theirs', state: 'queued' });
    expect(await sources.discard(record)).toBe('kept');
    expect(store.rows.get(record.sourceId)?.writeId).toBe('theirs');
  });

  it('removes the row and its listing, so the id is free for a corrected retry', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    await sources.discard(record);
    expect(store.rows.size).toBe(0);
    expect(store.open.size).toBe(0);
    expect((await sources.begin(source())).kind).toBe('new');
  });
});

describe('fail', () => {
  const failure = {
    event: 'IngestionFailed' as const,
    finalStatus: 'Failed',
    errorCode: 'Stream_WrongNumberOfFields',
    failureStatus: 'Permanent',
    details: 'bad row',
    action: 'quarantined',
    key: 'final-0',
  };

  it('reports, then acts, then closes and unlists', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    const order: string[] = [];
    const closed = await sources.fail(record, failure, () => {
      order.push(`act after ${store.failures.size} report(s)`);
      return Promise.resolve();
    });
    expect(order).toEqual(['act after 1 report(s)']);
    expect(closed).toMatchObject({ state: 'closed', finalStatus: 'Failed', reportedFailure: 'final-0' });
    expect(store.open.size).toBe(0);
  });

  it('when the action fails, the repeat reports nothing new and finishes the close', async () => {
    const { store, sources, lines } = setup();
    const { record } = await sources.begin(source());
    await expect(
      sources.fail(record, failure, () => Promise.reject(new Error('storage down'))),
    ).rejects.toThrow();
    const marked = await store.get(record.sourceId);
    expect(marked).toMatchObject({ state: 'queuing', reportedFailure: 'final-0' });
    await sources.fail(marked ?? record, failure, () => Promise.resolve());
    expect(store.failures.size).toBe(1); // one row: the same key
    expect((await store.get(record.sourceId))?.state).toBe('closed');
    expect(lines.filter((l) => l.includes('"IngestionFailed"'))).toHaveLength(2); // the log line repeats, the key says it is one
  });

  it('a later attempt of the same source that fails again is a report of its own, not a repeat of the first', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    const abandoned = { ...failure, event: 'IngestionAbandoned' as const, key: 'abandoned' };
    const first = await sources.fail(record, abandoned);
    // An operator's retry (or a keyed retry) reopened it as attempt 1, and that attempt was abandoned too.
    const second = await sources.fail({ ...first, requeueCount: 1 }, abandoned);
    expect([...store.failures.keys()].sort()).toEqual([
      `${record.sourceId}-abandoned`,
      `${record.sourceId}-abandoned-1`,
    ]);
    // A key that names its attempt already keeps it.
    await sources.fail(second, { ...failure, key: 'final-1' });
    expect(store.failures.has(`${record.sourceId}-final-1`)).toBe(true);
  });

  it('when the report cannot be written, nothing is acted on or closed', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    store.fail('recordFailure');
    let acted = false;
    await expect(
      sources.fail(record, failure, () => {
        acted = true;
        return Promise.resolve();
      }),
    ).rejects.toThrow();
    expect(acted).toBe(false);
    expect((await store.get(record.sourceId))?.reportedFailure).toBeUndefined();
  });
});

describe('requeue', () => {
  it('reports, counts the attempt and leases it before the enqueue', async () => {
    const { store, sources } = setup();
    const { record } = await sources.begin(source());
    const queued = await sources.queue(record, () => Promise.resolve(receipt(record.sourceId)));
    let seen: unknown;
    const again = await sources.requeue(
      queued,
      { sourceId: record.sourceId, status: 'Failed', failureStatus: 'Transient', errorCode: 'X' },
      3,
      async () => {
        seen = await store.get(record.sourceId);
        return receipt(record.sourceId);
      },
    );
    expect(seen).toMatchObject({ requeueCount: 1, errorCode: 'X' });
    expect(sources.isLeased(seen as typeof again)).toBe(true);
    expect(again).toMatchObject({ state: 'queued', requeueCount: 1 });
    expect([...store.failures.values()].map((f) => f.key)).toEqual(['requeue-1']);
  });
});
