/**
 * The app on ingest v2 when a submission's answer is lost (docs/lifecycle.md, 'The app on v2'): a proxy in
 * front of the Data Management service breaks the connection of a REST submission, after forwarding it (the
 * service carried it out) or before (it never arrived). Either way the push is answered 202 and its row
 * holds the journaled submission and no operation; past the stale limit the sweep asks the engine: extents
 * tagged with the submission settle it as ingested without sending it again, none queue it once more. Each
 * push lands once.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import { runSweep } from '../../shared/app/sweep/sweep';
import type { TrackingRecord } from '../../shared/app/tracking/trackingRecord';
import { apiRequest } from '../helpers/apiRequest';
import { closedBySweep, startAppUnderTest, type AppUnderTest } from '../helpers/appUnderTest';
import { eventually } from '../helpers/engine';

type Mode = 'pass' | 'forward-then-break' | 'break-before-forward';

let proxy: Server;
let app: AppUnderTest;
/** The app's own stand-in's DM, once the app has started it. */
let target: URL | undefined;
let mode: Mode = 'pass';
/** Submissions that reached the service, by table. */
const reached = new Map<string, number>();

const isSubmission = (method: string | undefined, url: string | undefined) =>
  method === 'POST' && /^\/v1\/rest\/ingestion\/queued\/[^/]+\/[^/?]+$/.test(url?.split('?')[0] ?? '');

beforeAll(async () => {
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const submission = isSubmission(req.method, req.url);
      if (!target || (submission && mode === 'break-before-forward')) {
        res.destroy();
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          if (submission) {
            const table = req.url?.split('?')[0]?.split('/').pop() ?? '';
            reached.set(table, (reached.get(table) ?? 0) + 1);
          }
          if (submission && mode === 'forward-then-break') {
            // The service carried it out; its answer never comes back.
            answer.resume();
            answer.on('end', () => res.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  // The ingest URI is the proxy; the engine (extents, failures) is reached directly: only the submission's
  // answer is lost.
  app = await startAppUnderTest({
    KUSTO_INGEST_URI: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    KUSTO_INGEST_PROTOCOL: 'v2',
    STALE_AFTER_MINUTES: '30',
  });
  target = new URL(app.dm.standin.dmUrl);
  for (const t of ['Accepted', 'NeverArrived'])
    await app.kusto.mgmt(`.create table ${t} (id:long, name:string)`);
});
afterAll(async () => {
  await app.stop();
  proxy.closeAllConnections();
  await new Promise((r) => proxy.close(r));
});

const rows = async (table: string) => Number((await app.kusto.query(`${table} | count`)).rows[0]?.[0]);

async function pushUnanswered(table: string, body: string): Promise<TrackingRecord> {
  const result = await handleIngestPush(
    apiRequest('POST', `/api/ingest/demo/${table}`, body),
    app.ctx,
    app.log,
  );
  // The data is stored and tracked: the caller is told so, whatever became of the submission.
  expect(result.status).toBe(202);
  const sourceId = (result.jsonBody as { sourceId: string }).sourceId;
  const record = await app.ctx.tracking.get(sourceId);
  expect(record).toMatchObject({ state: 'queued', uncertain: true });
  expect(record?.submission).toMatch(/^kif-batch:/);
  expect(record?.operation).toBeUndefined();
  return record as TrackingRecord;
}

it('a submission the service carried out is settled by its tagged extents past the stale limit, never sent again', async () => {
  mode = 'forward-then-break';
  const record = await pushUnanswered('Accepted', '1,accepted\n');
  mode = 'pass';
  expect(reached.get('Accepted')).toBe(1);
  await eventually(async () => ((await rows('Accepted')) === 1 ? true : undefined));
  // Before the stale limit the sweep waits: the service may still hold it.
  await runSweep(app.ctx, app.log);
  expect(await app.ctx.tracking.get(record.sourceId)).toMatchObject({ state: 'queued' });
  app.advanceClock(31 * 60_000);
  const done = await closedBySweep(app, record.sourceId);
  expect(done.finalStatus).toBe('Succeeded');
  expect(reached.get('Accepted')).toBe(1);
  expect(await rows('Accepted')).toBe(1);
  expect(app.log.events('SubmissionSettledByEvidence')).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        sourceId: record.sourceId,
        submission: record.submission,
        outcome: 'ingested',
      }),
    ]),
  );
});

it('a submission that never arrived is queued once more past the stale limit, in a new submission, and lands once', async () => {
  mode = 'break-before-forward';
  const record = await pushUnanswered('NeverArrived', '2,never\n');
  mode = 'pass';
  expect(reached.get('NeverArrived')).toBeUndefined();
  app.advanceClock(31 * 60_000);
  const done = await closedBySweep(app, record.sourceId);
  expect(done.finalStatus).toBe('Succeeded');
  expect(done.submission).not.toBe(record.submission);
  expect(reached.get('NeverArrived')).toBe(1);
  expect(await rows('NeverArrived')).toBe(1);
});
