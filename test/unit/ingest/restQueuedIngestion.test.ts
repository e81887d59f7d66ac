/**
 * The REST submission client (ingest v2) over a scripted service: blobs of one table and properties share a
 * POST, never more than maxBlobsPerBatch; a bad blob is refused alone (checked before it joins, or found by
 * splitting a batch the service refused); an answer that may have been lost is never sent again; a 429 is;
 * one status read answers for every blob of an operation.
 */
import { errorFromStatus, IngestTransientError, mayHaveBeenApplied } from '../../../shared/errors';
import { validateProps } from '../../../shared/ingest/ingestionProps';
import { IngestionConfigurationSource } from '../../../shared/ingest/v2/ingestionConfiguration';
import { RestQueuedIngestion } from '../../../shared/ingest/v2/restQueuedIngestion';
import type { SubmissionBody } from '../../../shared/ingest/v2/restSubmission';

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const blob = (n: number, name = `b${n}`) => ({
  url: `https://acct.blob.core.windows.net/c/${name}.csv?sv=1&sig=SECRET`,
  sourceId: uuid(n),
});
const props = validateProps({ database: 'db', table: 'T', format: 'csv' });
const noDelete = { deleteAfterDownload: false };

/** The service, scripted: records each POST's body, answers by a rule. */
class ScriptedService {
  readonly posts: SubmissionBody[] = [];
  readonly gets: string[] = [];
  answer: (body: SubmissionBody, n: number) => unknown = (_b, n) => ({ ingestionOperationId: `op;${n}` });
  statusBody: unknown = {};
  maxBlobsPerBatch = 20;

  client = {
    postJson: (_path: string, json: unknown) => {
      const body = json as SubmissionBody;
      this.posts.push(body);
      try {
        return Promise.resolve(this.answer(body, this.posts.length));
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
    getJson: (path: string) => {
      this.gets.push(path);
      if (path === '/v1/rest/ingestion/configuration')
        return Promise.resolve({
          containerSettings: { containers: [{ path: 'https://acct.blob.core.windows.net/temp?sig=x' }] },
          ingestionSettings: {
            maxBlobsPerBatch: this.maxBlobsPerBatch,
            maxDataSize: 1000,
            preferredIngestionMethod: 'REST',
          },
        });
      return Promise.resolve(this.statusBody);
    },
  };
}

function clientOf(service: ScriptedService, batchWindowMs = 20) {
  return new RestQueuedIngestion({
    client: service.client,
    configuration: new IngestionConfigurationSource({ client: service.client }),
    batchWindowMs,
    retry: { baseDelayInMs: 1, maxDelayInMs: 2 },
  });
}

describe('submitting blobs over REST', () => {
  it('sends blobs of one table and properties within the window in one POST, each answered alone', async () => {
    const service = new ScriptedService();
    const rest = clientOf(service);
    const answers = await Promise.all([1, 2, 3].map((n) => rest.submit(blob(n), props, noDelete)));
    expect(service.posts).toHaveLength(1);
    expect(service.posts[0]?.blobs.map((b) => b.sourceId)).toEqual([uuid(1), uuid(2), uuid(3)]);
    expect(service.posts[0]?.properties).toMatchObject({ format: 'csv', enableTracking: true });
    expect(answers.map((a) => a.operationId)).toEqual(['op;1', 'op;1', 'op;1']);
    expect(answers[0]?.handle.items).toEqual(
      [1, 2, 3].map((n) => ({ sourceId: uuid(n), url: `https://acct.blob.core.windows.net/c/b${n}.csv` })),
    );
  });

  it('never puts more than maxBlobsPerBatch in one POST, nor other tables or properties in it', async () => {
    const service = new ScriptedService();
    service.maxBlobsPerBatch = 4;
    const rest = clientOf(service);
    const other = validateProps({ database: 'db', table: 'Other', format: 'csv' });
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => rest.submit(blob(i), props, noDelete)),
      rest.submit(blob(50), other, noDelete),
      rest.submit(blob(51), props, { deleteAfterDownload: true }),
    ]);
    const sizes = service.posts.map((p) => p.blobs.length);
    expect(sizes.every((n) => n <= 4)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(12);
    expect(service.posts.filter((p) => p.properties.deleteAfterDownload === true)).toHaveLength(1);
  });

  it('starts a new POST rather than carry more than maxDataSize, or the same blob twice, in one', async () => {
    const service = new ScriptedService();
    const rest = clientOf(service);
    await Promise.all([
      rest.submit({ ...blob(1), rawSize: 600 }, props, noDelete),
      rest.submit({ ...blob(2), rawSize: 600 }, props, noDelete),
      rest.submit({ ...blob(3, 'b2'), sourceId: uuid(3) }, props, noDelete),
    ]);
    expect(service.posts.map((p) => p.blobs.map((b) => b.sourceId))).toEqual([
      [uuid(1)],
      [uuid(2)],
      [uuid(3)],
    ]);
  });

  it('refuses a bad blob alone before it joins, without its SAS in the error; its neighbours go on', async () => {
    const service = new ScriptedService();
    const rest = clientOf(service);
    const results = await Promise.allSettled([
      rest.submit(blob(1), props, noDelete),
      rest.submit({ ...blob(2), sourceId: 'not-a-guid' }, props, noDelete),
      rest.submit({ ...blob(3), rawSize: 5000 }, props, noDelete),
      rest.submit(blob(4), props, noDelete),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    for (const r of results)
      if (r.status === 'rejected') expect((r.reason as Error).message).not.toContain('SECRET');
    expect(service.posts.map((p) => p.blobs.length)).toEqual([2]);
  });

  it('splits a batch the service refuses (400) until the blob at fault is refused alone', async () => {
    const service = new ScriptedService();
    service.answer = (body, n) => {
      if (body.blobs.some((b) => b.url.includes('/poison.csv')))
        throw errorFromStatus({ statusCode: 400, message: 'BadRequest: a blob URL the service cannot use' });
      return { ingestionOperationId: `op;${n}` };
    };
    const rest = clientOf(service);
    const results = await Promise.allSettled([
      ...[1, 2, 3].map((n) => rest.submit(blob(n), props, noDelete)),
      rest.submit(blob(4, 'poison'), props, noDelete),
      ...[5, 6, 7].map((n) => rest.submit(blob(n), props, noDelete)),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    // Every good blob was accepted exactly once.
    const accepted = service.posts.filter((p) => !p.blobs.some((b) => b.url.includes('poison')));
    expect(accepted.flatMap((p) => p.blobs.map((b) => b.sourceId)).sort()).toEqual(
      [1, 2, 3, 5, 6, 7].map(uuid),
    );
  });

  it('sends a submission again after a 429, never after an answer that may have been lost', async () => {
    const throttled = new ScriptedService();
    throttled.answer = (_b, n) => {
      if (n === 1) throw errorFromStatus({ statusCode: 429, message: 'slow down', retryAfterInMs: 1 });
      return { ingestionOperationId: 'op;after-429' };
    };
    expect(await clientOf(throttled).submit(blob(1), props, noDelete)).toMatchObject({
      operationId: 'op;after-429',
    });
    expect(throttled.posts).toHaveLength(2);

    const lost = new ScriptedService();
    lost.answer = () => {
      throw new IngestTransientError('socket hang up', 'NetworkError', {
        cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      });
    };
    const rest = clientOf(lost);
    const results = await Promise.allSettled([1, 2].map((n) => rest.submit(blob(n), props, noDelete)));
    expect(lost.posts).toHaveLength(1); // not sent twice: it may have been carried out
    for (const r of results) {
      expect(r.status).toBe('rejected');
      if (r.status === 'rejected') expect(mayHaveBeenApplied(r.reason)).toBe(true);
    }
  });

  it('takes an aborted blob out of its batch before it is sent; the others go on', async () => {
    const service = new ScriptedService();
    const rest = clientOf(service, 50);
    const abort = new AbortController();
    const first = rest.submit(blob(1), props, noDelete);
    const aborted = rest.submit(blob(2), props, noDelete, abort.signal);
    const third = rest.submit(blob(3), props, noDelete);
    // Once the configuration is read, all three wait in one batch; the abort comes before it is sent.
    await new Promise((r) => setTimeout(r, 10));
    abort.abort(new Error('the caller gave up'));
    await expect(aborted).rejects.toThrow('the caller gave up');
    await Promise.all([first, third]);
    expect(service.posts.map((p) => p.blobs.map((b) => b.sourceId))).toEqual([[uuid(1), uuid(3)]]);
    // Aborted before anything: nothing is read or sent for it.
    await expect(rest.submit(blob(4), props, noDelete, AbortSignal.abort())).rejects.toThrow();
    expect(service.posts).toHaveLength(1);
  });

  it('reads the status of every blob of an operation in one GET, its id encoded', async () => {
    const service = new ScriptedService();
    const rest = clientOf(service);
    const answers = await Promise.all([1, 2, 3].map((n) => rest.submit(blob(n), props, noDelete)));
    service.statusBody = {
      status: { Succeeded: 1, Failed: 1, InProgress: 1 },
      details: [
        { sourceId: uuid(1), status: 'Succeeded' },
        {
          url: 'https://acct.blob.core.windows.net/c/b2.csv',
          status: 'Failed',
          errorCode: 'E',
          failureStatus: 'Permanent',
        },
      ],
    };
    const handle = answers[0]?.handle;
    if (!handle) throw new Error('no handle');
    const statuses = await rest.readStatus(handle);
    expect(service.gets.filter((p) => p.includes('/queued/'))).toEqual([
      '/v1/rest/ingestion/queued/db/T/op%3B1?details=true',
    ]);
    expect([...statuses.values()].map((s) => s.status)).toEqual(['Succeeded', 'Failed', 'Pending']);
    expect(rest.statusReads).toBe(1);
  });
});

describe('journaled submissions (the app records each one before it is sent)', () => {
  /** A journal that records what it was told, and fails for the blobs named in `refuse`. */
  const journalOf = (
    log: { id: string; tag: string; n: number }[],
    n: number,
    refuse = new Set<number>(),
    attempted: { tag: string; n: number }[] = [],
  ) => ({
    tagPrefix: 'kif-batch:',
    beforeSubmit: (id: string, tag: string) => {
      attempted.push({ tag, n });
      // The record's write lost its answer (it may have been written): still, nothing was sent.
      if (refuse.has(n))
        return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      log.push({ id, tag, n });
      return Promise.resolve();
    },
  });

  it('records the submission of every blob before the POST, and tags the POST with its id', async () => {
    const service = new ScriptedService();
    const log: { id: string; tag: string; n: number }[] = [];
    let postsWhenJournaled = -1;
    const rest = clientOf(service);
    const journal = (n: number) => ({
      ...journalOf(log, n),
      beforeSubmit: async (id: string, tag: string) => {
        postsWhenJournaled = Math.max(postsWhenJournaled, service.posts.length);
        await journalOf(log, n).beforeSubmit(id, tag);
      },
    });
    await Promise.all([1, 2, 3].map((n) => rest.submit(blob(n), props, noDelete, undefined, journal(n))));
    expect(postsWhenJournaled).toBe(0); // every record written before anything was sent
    expect(service.posts).toHaveLength(1);
    const ids = new Set(log.map((l) => l.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(log.map((l) => l.tag)).toEqual([1, 2, 3].map(() => `kif-batch:${id}`));
    expect(service.posts[0]?.properties['tags']).toEqual([`kif-batch:${id}`]);
  });

  it('leaves out a blob whose record failed, telling it that nothing was sent; the others go under a tag it never held', async () => {
    const service = new ScriptedService();
    const log: { id: string; tag: string; n: number }[] = [];
    const attempted: { tag: string; n: number }[] = [];
    const rest = clientOf(service);
    const results = await Promise.allSettled(
      [1, 2, 3].map((n) =>
        rest.submit(blob(n), props, noDelete, undefined, journalOf(log, n, new Set([2]), attempted)),
      ),
    );
    // Blob 2's failed record may still have been written: the tag it names is never sent, so no extent of
    // the submission can vouch for blob 2 later. Blobs 1 and 3 are recorded again under a new tag.
    const sentTag = service.posts[0]?.properties['tags'] as string[] | undefined;
    const tagsOf2 = attempted.filter((a) => a.n === 2).map((a) => a.tag);
    expect(tagsOf2).toHaveLength(1);
    expect(sentTag).toHaveLength(1);
    expect(tagsOf2).not.toContain(sentTag?.[0]);
    expect(log.filter((l) => l.tag === sentTag?.[0]).map((l) => l.n)).toEqual([1, 3]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = results[1];
    if (refused?.status === 'rejected') {
      expect(refused.reason).toMatchObject({ code: 'SubmissionNotSent', transient: true });
      expect(mayHaveBeenApplied(refused.reason)).toBe(false);
    }
    expect(service.posts.map((p) => p.blobs.map((b) => b.sourceId))).toEqual([[uuid(1), uuid(3)]]);
  });

  it('journals each part of a refused batch again under its own id; untagged blobs never share a tagged POST', async () => {
    const service = new ScriptedService();
    service.answer = (body, n) => {
      if (body.blobs.some((b) => b.url.includes('/poison.csv')))
        throw errorFromStatus({ statusCode: 400, message: 'BadRequest' });
      return { ingestionOperationId: `op;${n}` };
    };
    const log: { id: string; tag: string; n: number }[] = [];
    const rest = clientOf(service);
    await Promise.allSettled([
      rest.submit(blob(1), props, noDelete, undefined, journalOf(log, 1)),
      rest.submit(blob(2, 'poison'), props, noDelete, undefined, journalOf(log, 2)),
      rest.submit(blob(3), props, noDelete), // no journal: a POST of its own, untagged
    ]);
    const tagged = service.posts.filter((p) => Array.isArray(p.properties['tags']));
    const untagged = service.posts.filter((p) => !Array.isArray(p.properties['tags']));
    expect(untagged.map((p) => p.blobs.map((b) => b.sourceId))).toEqual([[uuid(3)]]);
    // The refused pair, then each alone: three submissions, three ids, each journaled before it went.
    expect(tagged.map((p) => p.blobs.length).sort()).toEqual([1, 1, 2]);
    const tags = tagged.map((p) => (p.properties['tags'] as string[])[0]);
    expect(new Set(tags).size).toBe(3);
    for (const tag of tags) expect(log.some((l) => l.tag === tag)).toBe(true);
    expect(log.filter((l) => l.n === 1)).toHaveLength(2);
  });
});
