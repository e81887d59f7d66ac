import type { BlobClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { Counters } from '../../shared/app/counters';
import { DEFAULT_LANDING_EXCLUDE, LandingFilter } from '../../shared/app/landing/landingFilter';
import type { LandingSas } from '../../shared/app/landing/landingSas';
import type { BackfillResources, LandingStorage, PushPorts, SweepPorts } from '../../shared/app/ports';
import { loadConfig } from '../../shared/app/settings';
import { FailureReporter } from '../../shared/app/tracking/failureReporter';
import { queuedEvidenceRule } from '../../shared/app/tracking/statusLookup';
import { TrackedSources } from '../../shared/app/tracking/trackedSources';
import type { Logger } from '../../shared/log';
import { FakeIngest } from './fakeIngest';
import { MemoryBlobAccount } from './memoryBlobs';
import { MemoryTrackingStore } from './memoryTrackingStore';

export interface FakeApp {
  /** Every part a push, the landing path, settle, retry and the sweep take: the real flows over fakes. */
  readonly ctx: PushPorts & SweepPorts;
  readonly store: MemoryTrackingStore;
  readonly ingest: FakeIngest;
  /** The landing account (containers landing, landing-failed, landing-done). */
  readonly blobs: MemoryBlobAccount;
  /** What the app logged, one JSON event or line each, with its level. */
  readonly lines: { readonly level: string; readonly line: string }[];
  /** The events logged under one name, parsed. */
  events(name: string): Record<string, unknown>[];
  /** Moves the app's clock (leases, stale limits, abandon windows). */
  advance(ms: number): void;
  /**
   * The app after its process stopped and another started: the same tracking store, ingest service,
   * landing account, clock and log, and a new lifecycle with nothing in memory from the old one.
   */
  restart(): FakeApp;
}

/**
 * The app's flows in a unit test: the real lifecycle (TrackedSources over the memory store), the real
 * settings (with `env` on top of a minimal valid set), a fake ingest client that records and answers, and
 * the landing account in memory. The clock is the test's. No Azurite, no stand-in, no sockets.
 */
export function fakeApp(env: Record<string, string> = {}): FakeApp {
  const time = { now: Date.parse('2026-06-01T00:00:00Z') };
  return appOver(env, time, [], new MemoryTrackingStore(), new FakeIngest(), new MemoryBlobAccount());
}

function appOver(
  env: Record<string, string>,
  time: { now: number },
  lines: { level: string; line: string }[],
  store: MemoryTrackingStore,
  ingest: FakeIngest,
  blobs: MemoryBlobAccount,
): FakeApp {
  const clock = () => time.now;
  ingest.clock = clock;
  const log = (level: string) => (line: string) => lines.push({ level, line });
  const logger: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const config = loadConfig({
    KUSTO_INGEST_URI: 'https://ingest-fake.westeurope.kusto.windows.net',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    LandingStorage: 'UseDevelopmentStorage=true',
    ...env,
  });
  const tracking = new TrackedSources({
    store,
    reporter: new FailureReporter({ store, logger }),
    clock,
    logger,
    wasQueued: queuedEvidenceRule(config.statusMode, ingest),
    leaseMs: config.leaseSeconds * 1000,
  });
  const poison = {
    getProperties: () => Promise.resolve({ approximateMessagesCount: 0 }),
  } as unknown as QueueClient;
  const landing: LandingStorage = {
    service: undefined as never,
    container: blobs.container(config.landingContainer),
    failed: blobs.container(config.landingFailedContainer),
    done: blobs.container(config.landingDoneContainer),
    deadLetters: blobs.container('landing-deadletter'),
    events: undefined as never,
    poison,
    sas: { readUrl: (blob: BlobClient) => Promise.resolve(`${blob.url}?sig=fake`) } as unknown as LandingSas,
    kustoUrl: (blob: BlobClient) => Promise.resolve(`${blob.url}?sig=fake`),
  };
  const notHere = new Proxy({} as BackfillResources, {
    get: (_t, name) => {
      throw new Error(`backfill.${String(name)} is not part of this unit test`);
    },
  });
  const ctx: PushPorts & SweepPorts = {
    config,
    ingest,
    tracking,
    routing: { rules: [], allowedDatabases: config.allowedDatabases },
    landingFilter: new LandingFilter({
      include: config.landingInclude ?? [],
      exclude: config.landingExclude ?? DEFAULT_LANDING_EXCLUDE,
    }),
    landing,
    backfill: notHere,
    counters: new Counters(),
    clock,
    logger,
    ready: () => Promise.resolve(),
    managed: undefined,
    engine: undefined,
  };
  return {
    ctx,
    store,
    ingest,
    blobs,
    lines,
    events: (name) =>
      lines
        .filter((l) => l.line.startsWith('{') && l.line.includes(`"event":"${name}"`))
        .map((l) => JSON.parse(l.line) as Record<string, unknown>),
    advance: (ms) => {
      time.now += ms;
    },
    restart: () => appOver(env, time, lines, store, ingest, blobs),
  };
}
