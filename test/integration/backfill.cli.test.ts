/**
 * `npm run backfill` as a user runs it, against the local host (real HTTP, its queue triggers and its timer):
 * a dry run prints what would be ingested; a real run with --wait follows the job to the end, writes the
 * failures report, and exits non-zero because one blob could not be ingested.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalHost, startLocalHost } from '../../dev/host/localHost';
import { resetAppContext } from '../../shared/app/context';
import { closeIngestClients } from '../../shared/ingest/getIngestClient';
import { engine, eventually } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import { blobService, connectionString } from '../helpers/stack';

const id = randomBytes(3).toString('hex');
const landing = `bl-${id}`;
const table = `Cli${id}`;
const saved = { ...process.env };
let dm: PrivateStandin | undefined;
let host: LocalHost | undefined;

beforeAll(async () => {
  const standin = await startPrivateStandin({ worker: true, accountCount: 1, batchingWindowMs: 100 });
  dm = standin;
  Object.assign(process.env, {
    KUSTO_INGEST_URI: standin.standin.dmUrl,
    KUSTO_AUTH: 'none',
    AzureWebJobsStorage: connectionString(0),
    LandingStorage: connectionString(0),
    LANDING_CONTAINER: landing,
    LANDING_FAILED_CONTAINER: `blf-${id}`,
    LANDING_EVENTS_QUEUE: `ble-${id}`,
    BACKFILL_PAGES_QUEUE: `bfp-${id}`,
    BACKFILL_ITEMS_QUEUE: `bfi-${id}`,
    LANDING_BLOB_AUTH: 'account-key',
    SWEEP_SCHEDULE: '*/1 * * * * *',
  });
  resetAppContext();
  jest.resetModules();
  const { startLocalHost: start } = jest.requireActual<{ startLocalHost: typeof startLocalHost }>(
    '../../dev/host/localHost',
  );
  host = await start({ port: 0, queue: { pollIntervalMs: 100 }, log: () => undefined });
  await engine(standin.standin.engineUrl).mgmt(`.create table ${table} (id:long, name:string)`);
  const container = blobService(0).getContainerClient(landing);
  await container.createIfNotExists();
  for (let i = 0; i < 20; i++) {
    const body = `${i},row ${i}\n`;
    await container.getBlockBlobClient(`old/2023/05/0${(i % 9) + 1}/f${i}.csv`).upload(body, body.length);
  }
  // One that Kusto refuses for good: a record with a field too many.
  await container.getBlockBlobClient('old/2023/05/09/broken.csv').upload('1,a\n2,b,c\n', 10);
}, 60_000);
afterAll(async () => {
  await host?.stop();
  closeIngestClients();
  resetAppContext();
  await dm?.stop();
  process.env = saved;
});

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(__dirname, '..', '..', 'dist', 'dev', 'backfill.js'), ...args],
      {
        env: { ...process.env, KIF_APP_URL: host?.url ?? '' },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const route = [
  '--prefix',
  'old/',
  '--database',
  'demo',
  '--table',
  table,
  '--creation-time-pattern',
  "yyyy'/'MM'/'dd",
];

describe('npm run backfill', () => {
  it('--dry-run prints each blob with where it would go, and a total, and ingests nothing', async () => {
    const { code, out, err } = await cli([...route, '--dry-run']);
    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(
      new RegExp(`old/2023/05/01/f0\\.csv → demo\\.${table} \\(csv\\) created 2023-05-01T00:00:00\\.000Z`),
    );
    expect(out).toMatch(/21 blobs \(0\.0 MB\) would be ingested\./);
    expect(await engine(dm?.standin.engineUrl ?? '').count(table)).toBe(0);
  }, 60_000);

  it('--wait follows the job to the end, writes the failures report, and exits 1 because a blob failed', async () => {
    const csv = join(mkdtempSync(join(tmpdir(), 'backfill-')), 'failures.csv');
    const { code, out } = await cli([...route, '--wait', '--failures-csv', csv]);
    expect(out).toMatch(/Backfill job [0-9a-f-]{36} started\./);
    expect(out).toMatch(/listed 21 blobs .* ingested 20, failed 1, skipped 0/);
    expect(out).toMatch(/completed\./);
    expect(out).toMatch(/1 blobs failed: each with its error code and reason in/);
    expect(code).toBe(1);
    const report = readFileSync(csv, 'utf8').trim().split('\n');
    expect(report[0]).toBe('source,errorCode,reason,sourceId');
    expect(report[1]).toMatch(/broken\.csv,Stream_WrongNumberOfFields,/);
    expect(await engine(dm?.standin.engineUrl ?? '').count(table)).toBe(20);
  }, 90_000);

  it('a job whose host is stopped half-way and started again completes, every blob ingested once', async () => {
    const container = blobService(0).getContainerClient(landing);
    const count = 1_500;
    for (let i = 0; i < count; i += 100)
      await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, (_, j) => {
          const body = `${i + j},restart\n`;
          return container.getBlockBlobClient(`restart/${i + j}.csv`).upload(body, body.length);
        }),
      );
    const kusto = engine(dm?.standin.engineUrl ?? '');
    await kusto.mgmt('.create table Restarted (id:long, name:string)');
    const started = await fetch(`${host?.url ?? ''}/api/backfill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        prefix: 'restart/',
        database: 'demo',
        table: 'Restarted',
        maxBlobsPerSecond: 400,
      }),
    });
    expect(started.status).toBe(202);
    const { jobId } = (await started.json()) as { jobId: string };
    const status = async () =>
      (await (await fetch(`${host?.url ?? ''}/api/backfill/${jobId}`)).json()) as {
        state: string;
        listingDone: boolean;
        counts: { pages: number; matched: number; succeeded: number; failed: number; skipped: number };
      };
    // Stopped once the first page is listed, with its item tasks and the next page's task still waiting.
    await eventually(async () => ((await status()).counts.pages >= 1 ? true : undefined), 60_000, 'page 1');
    await host?.stop();
    const mid = await status().catch(() => undefined); // the host is down: nothing answers
    expect(mid).toBeUndefined();
    jest.resetModules();
    const { startLocalHost: start } = jest.requireActual<{ startLocalHost: typeof startLocalHost }>(
      '../../dev/host/localHost',
    );
    host = await start({ port: 0, queue: { pollIntervalMs: 100 }, log: () => undefined });
    const done = await eventually(
      async () => {
        const s = await status();
        return s.state === 'completed' ? s : undefined;
      },
      120_000,
      'the job completed after the restart',
    );
    expect(done.counts).toMatchObject({ matched: count, succeeded: count, failed: 0, skipped: 0 });
    await dm?.standin.worker?.drained();
    expect(await kusto.count('Restarted')).toBe(count);
  }, 180_000);
});
