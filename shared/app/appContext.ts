import type { TokenCredential } from '@azure/core-auth';
import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { loadConfig, type AppConfig, type StorageConnection } from '../config';
import { getIngestClient } from '../ingest/getIngestClient';
import { ManagedStreamingIngestClient } from '../ingest/managedStreamingIngestClient';
import type { QueuedIngestClient, QueuedIngestClientOptions } from '../ingest/queuedIngestClient';
import { silentLogger, type Logger } from '../log';
import { loadRoutes, type RoutingRule } from '../routing/routeBlob';
import { TrackingStore } from '../status/tracking';
import { FailureReporter } from './failureReporter';
import { LandingSas } from './landingSas';

export const TABLES = {
  tracking: 'IngestionTracking',
  open: 'IngestionOpen',
  failures: 'IngestionFailures',
} as const;

/** Everything the triggers share: built once per process from the settings, and reused. */
export interface AppContext {
  readonly config: AppConfig;
  readonly ingest: QueuedIngestClient;
  /** Streams small HTTP pushes when HTTP_INGEST_FLAVOR is managed-streaming; undefined otherwise. */
  readonly managed: ManagedStreamingIngestClient | undefined;
  readonly tracking: TrackingStore;
  readonly reporter: FailureReporter;
  readonly routes: readonly RoutingRule[];
  readonly landing: {
    readonly service: BlobServiceClient;
    readonly container: ContainerClient;
    readonly failed: ContainerClient;
    readonly events: QueueClient;
    readonly poison: QueueClient;
    readonly sas: LandingSas;
  };
  readonly clock: () => number;
  /** Creates the tables, containers and queues the app needs, once (they usually exist already in Azure). */
  ready(): Promise<void>;
}

export interface AppContextOptions {
  readonly logger?: Logger;
  readonly clock?: () => number;
  /** Table names (tests give each run its own); the defaults are the contract's. */
  readonly tables?: { readonly tracking: string; readonly open: string; readonly failures: string };
  /** Extra options for the ingest client (tests: storage fault policies). */
  readonly ingestOptions?: Omit<QueuedIngestClientOptions, 'ingestUri' | 'credential'>;
}

function storageCredential(connection: Extract<StorageConnection, { kind: 'identity' }>): TokenCredential {
  return connection.managedIdentity
    ? new ManagedIdentityCredential(connection.clientId ? { clientId: connection.clientId } : {})
    : new DefaultAzureCredential(connection.clientId ? { managedIdentityClientId: connection.clientId } : {});
}

const insecure = (connectionString: string): boolean =>
  /UseDevelopmentStorage=true/i.test(connectionString) || /Endpoint=http:/i.test(connectionString);

function blobService(c: StorageConnection): BlobServiceClient {
  return c.kind === 'connectionString'
    ? BlobServiceClient.fromConnectionString(c.connectionString)
    : new BlobServiceClient(c.blobServiceUri, storageCredential(c));
}

function queueService(c: StorageConnection): QueueServiceClient {
  return c.kind === 'connectionString'
    ? QueueServiceClient.fromConnectionString(c.connectionString)
    : new QueueServiceClient(c.queueServiceUri, storageCredential(c));
}

function tableClient(c: StorageConnection, table: string): TableClient {
  return c.kind === 'connectionString'
    ? TableClient.fromConnectionString(c.connectionString, table, {
        allowInsecureConnection: insecure(c.connectionString),
      })
    : new TableClient(c.tableServiceUri, table, storageCredential(c), {
        allowInsecureConnection: c.tableServiceUri.startsWith('http:'),
      });
}

function kustoCredential(config: AppConfig): TokenCredential | undefined {
  if (config.kustoAuth === 'none') return undefined;
  const clientId = config.azureClientId;
  if (config.kustoAuth === 'managed-identity')
    return new ManagedIdentityCredential(clientId ? { clientId } : {});
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

/** Builds the context from settings; nothing touches the network until first use. */
export function createAppContext(config: AppConfig, options: AppContextOptions = {}): AppContext {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? Date.now;
  const credential = kustoCredential(config);
  const ingest = getIngestClient(config.kustoIngestUri, {
    ...(credential && { credential }),
    logger,
    ...options.ingestOptions,
  });
  const tables = options.tables ?? TABLES;
  const tracking = new TrackingStore({
    tracking: tableClient(config.appStorage, tables.tracking),
    open: tableClient(config.appStorage, tables.open),
    failures: tableClient(config.appStorage, tables.failures),
    clock,
  });
  const service = blobService(config.landingStorage);
  const queues = queueService(config.landingStorage);
  const landing = {
    service,
    container: service.getContainerClient(config.landingContainer),
    failed: service.getContainerClient(config.landingFailedContainer),
    events: queues.getQueueClient(config.landingEventsQueue),
    poison: queues.getQueueClient(`${config.landingEventsQueue}-poison`),
    sas: new LandingSas({ mode: config.landingSasMode, service, clock }),
  };
  let readiness: Promise<void> | undefined;
  const managed =
    config.httpIngestFlavor === 'managed-streaming' && config.kustoEngineUri
      ? new ManagedStreamingIngestClient({
          engineUri: config.kustoEngineUri,
          ingestUri: config.kustoIngestUri,
          ...(credential && { credential }),
          queued: ingest,
          logger,
        })
      : undefined;
  return {
    config,
    ingest,
    managed,
    tracking,
    reporter: new FailureReporter({ tracking, logger, webhookUrl: config.failureWebhookUrl }),
    routes: config.routesFile ? loadRoutes(config.routesFile) : [],
    landing,
    clock,
    ready: () => {
      readiness ??= Promise.all([
        tracking.ensureTables(),
        landing.container.createIfNotExists(),
        landing.failed.createIfNotExists(),
        landing.events.createIfNotExists(),
      ]).then(
        () => undefined,
        (e: unknown) => {
          readiness = undefined; // try again next time
          throw e;
        },
      );
      return readiness;
    },
  };
}

let shared: AppContext | undefined;

/** The process-wide context, from the environment, created at first use (Flex allows ~30 s to start). */
export function getAppContext(options: AppContextOptions = {}): AppContext {
  shared ??= createAppContext(loadConfig(), options);
  return shared;
}

/** Forgets the process-wide context (tests). */
export function resetAppContext(): void {
  shared = undefined;
}
