import { randomBytes } from 'node:crypto';
import type { StandinIngestProtocol } from '../../dev/standin/dmService';
import { createAppContext, type AppContext, type AppContextOptions } from '../../shared/app/context';
import { handleIngestPush } from '../../shared/app/http/ingestHandlers';
import { loadConfig } from '../../shared/app/settings';
import { runSweep } from '../../shared/app/sweep/sweep';
import { readStatus } from '../../shared/app/tracking/statusLookup';
import type { TrackingRecord } from '../../shared/app/tracking/trackingRecord';
import { closeIngestClients } from '../../shared/ingest/getIngestClient';
import type { IngestionStatus } from '../../shared/ingest/types';
import type { Logger } from '../../shared/log';
import { apiRequest } from './apiRequest';
import { engine, eventually } from './engine';
import { startPrivateStandin, type PrivateStandin } from './privateStandin';
import { connectionString } from './stack';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
}

/** A logger that keeps what it is told, for tests to assert on. */
export function collectingLogger(): Logger & {
  lines: LogLine[];
  events(name: string): Record<string, unknown>[];
} {
  const lines: LogLine[] = [];
  const add = (level: LogLine['level']) => (message: string) => {
    lines.push({ level, message });
  };
  return {
    lines,
    debug: add('debug'),
    info: add('info'),
    warn: add('warn'),
    error: add('error'),
    events: (name) =>
      lines.flatMap((l): Record<string, unknown>[] => {
        try {
          const parsed = JSON.parse(l.message) as Record<string, unknown>;
          return parsed.event === name ? [{ level: l.level, ...parsed }] : [];
        } catch {
          return [];
        }
      }),
  };
}

export interface AppUnderTest {
  readonly ctx: AppContext;
  /** Moves the app's clock forward (leases run out, items age) without waiting. */
  advanceClock(ms: number): void;
  readonly dm: PrivateStandin;
  readonly kusto: ReturnType<typeof engine>;
  readonly log: ReturnType<typeof collectingLogger>;
  readonly env: Record<string, string>;
  /**
   * The service's word on a tracked source, as the sweep reads it: by its operation (v2) or its status row
   * (v1); Pending while there is none yet.
   */
  serviceStatus(sourceId: string): Promise<IngestionStatus>;
  stop(): Promise<void>;
}

/**
 * The app's shared context wired to Azurite and a stand-in of its own (worker on), with its own landing
 * container and tracking tables: test files run in parallel without seeing each other's items.
 */
export async function startAppUnderTest(
  settings: Record<string, string> = {},
  options: Omit<AppContextOptions, 'tables' | 'logger' | 'clock'> = {},
  /** Which queued-ingestion protocols the stand-in serves (default both, REST preferred). */
  standinProtocol?: StandinIngestProtocol,
): Promise<AppUnderTest> {
  let offsetMs = 0;
  const dm = await startPrivateStandin({
    worker: true,
    accountCount: 1,
    batchingWindowMs: 100,
    ...(standinProtocol && { ingestProtocol: standinProtocol }),
  });
  const id = randomBytes(3).toString('hex');
  const env: Record<string, string> = {
    KUSTO_INGEST_URI: dm.standin.dmUrl,
    KUSTO_ENGINE_URI: dm.standin.engineUrl,
    KUSTO_AUTH: 'none',
    AzureWebJobsStorage: connectionString(0),
    LandingStorage: connectionString(0),
    LANDING_CONTAINER: `landing-${id}`,
    LANDING_FAILED_CONTAINER: `landing-failed-${id}`,
    LANDING_EVENTS_QUEUE: `landing-events-${id}`,
    LANDING_DONE_CONTAINER: `landing-done-${id}`,
    LANDING_DEADLETTER_CONTAINER: `landing-dl-${id}`,
    BACKFILL_PAGES_QUEUE: `backfill-pages-${id}`,
    BACKFILL_ITEMS_QUEUE: `backfill-items-${id}`,
    LANDING_BLOB_AUTH: 'account-key',
    ...settings,
  };
  const log = collectingLogger();
  const ctx = createAppContext(loadConfig(env), {
    ...options,
    clock: () => Date.now() + offsetMs,
    logger: log,
    tables: {
      tracking: `Tracking${id}`,
      open: `Open${id}`,
      failures: `Failures${id}`,
      index: `Index${id}`,
      backfill: `Backfill${id}`,
    },
  });
  await ctx.ready();
  return {
    ctx,
    advanceClock: (ms) => {
      offsetMs += ms;
    },
    dm,
    kusto: engine(dm.standin.engineUrl),
    log,
    env,
    serviceStatus: async (sourceId) => {
      const record = await ctx.tracking.get(sourceId);
      return record ? readStatus(ctx.ingest, record) : { sourceId, status: 'Pending' };
    },
    stop: async () => {
      closeIngestClients();
      await dm.stop();
    },
  };
}

/** A BlobCreated event as Event Grid delivers it to a storage queue (Event Grid schema). */
export function blobCreatedEvent(url: string, eTag: string, contentLength = 0): Record<string, unknown> {
  return {
    topic:
      '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: `/blobServices/default/containers/${new URL(url).pathname.split('/').slice(2).join('/').replace('/', '/blobs/')}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    id: randomBytes(16).toString('hex'),
    data: {
      api: 'PutBlob',
      eTag,
      contentType: 'application/octet-stream',
      contentLength,
      blobType: 'BlockBlob',
      url,
      sequencer: '0000000000000000000000000000000000000000000000000',
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}

/** The ids on the app's open list. */
export async function openSourceIds(app: AppUnderTest): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of app.ctx.tracking.openEntries()) ids.push(entry.sourceId);
  return ids;
}

/** Sweeps until the source is closed, and returns its row. */
export function closedBySweep(app: AppUnderTest, sourceId: string): Promise<TrackingRecord> {
  return eventually(
    async () => {
      await runSweep(app.ctx, app.log);
      const record = await app.ctx.tracking.get(sourceId);
      return record?.state === 'closed' ? record : undefined;
    },
    30_000,
    `${sourceId} closed by the sweep`,
  );
}

/** Pushes a body to `demo.<table>` through the HTTP handler; it must be accepted (202). Its source id. */
export async function pushAccepted(app: AppUnderTest, table: string, body: string): Promise<string> {
  const result = await handleIngestPush(
    apiRequest('POST', `/api/ingest/demo/${table}`, body),
    app.ctx,
    app.log,
  );
  expect(result.status).toBe(202);
  return (result.jsonBody as { sourceId: string }).sourceId;
}
