/**
 * The bad-landing-input corpus (test/corpus/landing-inputs.json): blobs that cannot be ingested and queue
 * messages that are no event. Each comes to what it must (reported and quarantined, poisoned at once, or
 * ignored with a reason), the handler never throws for them, and nothing of them reaches Kusto.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { handleLandingEvent, type LandingOutcome } from '../../shared/app/landing/handleLandingEvent';
import { blobCreatedEvent, startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';

interface LandingCase {
  readonly name: string;
  readonly kind: 'blob' | 'message';
  readonly path?: string;
  readonly content?: string;
  readonly metadata?: Record<string, string>;
  readonly message?: string;
  readonly expect: { outcome: LandingOutcome['outcome']; code?: string; reason?: string };
}

const cases = (
  JSON.parse(readFileSync(join(__dirname, '..', 'corpus', 'landing-inputs.json'), 'utf8')) as {
    cases: LandingCase[];
  }
).cases;

let app: AppUnderTest;
beforeAll(async () => {
  app = await startAppUnderTest();
  await app.kusto.mgmt('.create table Corpus (id:long, name:string)');
  await app.ctx.landing.poison.createIfNotExists();
});
afterAll(async () => {
  await app.stop();
});

const poisonCount = async () => (await app.ctx.landing.poison.getProperties()).approximateMessagesCount ?? 0;

describe('bad landing inputs (test/corpus/landing-inputs.json)', () => {
  it('holds at least 20 blobs and messages', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases.filter((c) => c.kind === 'blob').map((c) => [c.name, c] as const))(
    'blob: %s is reported with its code and quarantined',
    async (_name, c) => {
      const blob = app.ctx.landing.container.getBlockBlobClient(c.path ?? '');
      const body = Buffer.from(c.content ?? '');
      const uploaded = await blob.upload(body, body.length, { metadata: c.metadata ?? {} });
      const outcome = await handleLandingEvent(
        blobCreatedEvent(blob.url, uploaded.etag ?? ''),
        app.ctx,
        app.log,
      );
      expect(outcome).toMatchObject({ outcome: 'rejected' });
      const sourceId = (outcome as { sourceId: string }).sourceId;
      expect(app.log.events('LandingRejected').filter((e) => e.sourceId === sourceId)).toEqual([
        expect.objectContaining({ errorCode: c.expect.code, failureStatus: 'Permanent' }),
      ]);
      expect(await blob.exists()).toBe(false);
      const quarantined = await app.ctx.landing.failed.getBlobClient(c.path ?? '').getProperties();
      expect(quarantined.metadata?.quarantine_error_code).toBe(c.expect.code);
    },
  );

  it.each(cases.filter((c) => c.kind === 'message').map((c) => [c.name, c] as const))(
    'message: %s',
    async (_name, c) => {
      const before = await poisonCount();
      const text = (c.message ?? '').replace('{landing}', app.ctx.landing.container.url);
      let message: unknown = text;
      try {
        message = JSON.parse(text); // as the host hands a JSON message to the function
      } catch {
        // text stays text
      }
      const outcome = await handleLandingEvent(message, app.ctx, app.log);
      expect(outcome.outcome).toBe(c.expect.outcome);
      if (c.expect.reason) expect((outcome as { reason: string }).reason).toContain(c.expect.reason);
      expect(await poisonCount()).toBe(before + (c.expect.outcome === 'poisoned' ? 1 : 0));
    },
  );

  it('queued nothing for any of them', async () => {
    await app.dm.standin.worker?.drained();
    expect(app.dm.standin.worker?.processed ?? 0).toBe(0);
    expect(await app.kusto.count('Corpus')).toBe(0);
  });
});
