import { startTelemetry } from './telemetry/startTelemetry';
import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { getIngestClient } from '../ingest/getIngestClient';
import { ManagedStreamingIngestClient } from '../ingest/managedStreamingIngestClient';
import { KustoRestClient } from '../kusto/kustoRestClient';
import { LeanHttpClient } from '../upload/leanHttpClient';
import { storageAuthFromConnectionString, type StorageAuth } from '../upload/signedRest';
import { QueueRest, type MessageSender } from '../upload/queueRest';
import { TableRest } from '../upload/tableRest';
import type { QueuedIngestClientOptions } from '../ingest/queuedIngestClient';
import { silentLogger, type Logger } from '../log';
import type { AppContext, BackfillResources, LandingStorage } from './ports';
import { BackfillStore } from './backfill/backfillStore';
import type { OperatorAuthorizer } from './http/operatorAuth';
import { OperatorTokenVerifier } from './http/operatorToken';
import { AuditLog } from './operator/auditLog';
import { Counters } from './counters';
import { BackfillSourcePolicy } from './backfill/backfillSources';
import { SourceAccounts } from './backfill/sourceAccounts';
import { kustoBlobUrl } from './landing/kustoBlobUrl';
import { LandingSas } from './landing/landingSas';
import { processLogger } from './processLogger';
import { DEFAULT_LANDING_EXCLUDE, LandingFilter } from './landing/landingFilter';
import { loadRoutesFile } from './routing/routeBlob';
import { blobEndpointOf, loadConfig, type AppConfig, type StorageConnection } from './settings';
import { FailureReporter } from './tracking/failureReporter';
import { queuedEvidenceRule } from './tracking/statusLookup';
import { SuccessReporter } from './tracking/successReporter';
import { TrackedSources } from './tracking/trackedSources';
import { TableTrackingStore, type TrackingTable } from './tracking/tableTrackingStore';

export type { AppContext, BackfillResources, LandingStorage } from './ports';

/** The tracking tables' names (docs/contracts.md). */
export const TABLES = {
  tracking: 'IngestionTracking',
  open: 'IngestionOpen',
  failures: 'IngestionFailures',
  index: 'IngestionIndex',
  backfill: 'IngestionBackfill',
  audit: 'IngestionAudit',
} as const;

export interface AppContextOptions {
  /** @default silent */
  readonly logger?: Logger;
  /** @default Date.now */
  readonly clock?: () => number;
  /** Table names (tests give each run its own). @default TABLES */
  readonly tables?: {
    readonly tracking: string;
    readonly open: string;
    readonly failures: string;
    readonly index: string;
    readonly backfill: string;
    /** @default TABLES.audit, or `Audit` + the tracking table's name when the others are given */
    readonly audit?: string;
  };
  /** Extra options for the ingest client (tests: storage fault policies). @default none */
  readonly ingestOptions?: Omit<QueuedIngestClientOptions, 'ingestUri' | 'credential'>;
  /** Policies added to the tracking tables' clients, once per call (tests: faults). @default none */
  readonly trackingPolicies?: readonly PipelinePolicy[];
  /**
   * The identity the app reads other storage accounts with (a backfill's `accountUrl`).
   * @default the landing storage's identity settings, else DefaultAzureCredential (AZURE_CLIENT_ID)
   */
  readonly storageCredential?: TokenCredential;
}

function storageCredential(connection: Extract<StorageConnection, { kind: 'identity' }>): TokenCredential {
  return connection.managedIdentity
    ? new ManagedIdentityCredential(connection.clientId ? { clientId: connection.clientId } : {})
    : new DefaultAzureCredential(connection.clientId ? { managedIdentityClientId: connection.clientId } : {});
}

/** The app's own identity for storage: as the landing storage's settings name it, else the default chain. */
function appStorageCredential(config: AppConfig): TokenCredential {
  const landing = config.landingStorage;
  if (landing.kind === 'identity') return storageCredential(landing);
  const clientId = config.azureClientId;
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

const insecure = (connectionString: string): boolean =>
  /UseDevelopmentStorage=true/i.test(connectionString) || /Endpoint=http:/i.test(connectionString);

function blobService(c: StorageConnection): BlobServiceClient {
  return c.kind === 'connectionString'
    ? BlobServiceClient.fromConnectionString(c.connectionString)
    : new BlobServiceClient(c.blobServiceUri, storageCredential(c));
}

/**
 * The HTTP client under the app's table clients: their requests and answers are small strings, and the
 * runtime's default client cost more CPU per request than the work (bench/README.md, Profiles). (The queue
 * SDK takes only the older request-policy interface.)
 */
const leanHttpClient = new LeanHttpClient();

function queueService(c: StorageConnection): QueueServiceClient {
  return c.kind === 'connectionString'
    ? QueueServiceClient.fromConnectionString(c.connectionString)
    : new QueueServiceClient(c.queueServiceUri, storageCredential(c));
}

function tableClient(c: StorageConnection, table: string, policies: readonly PipelinePolicy[]): TableClient {
  const additionalPolicies = policies.map((policy) => ({ policy, position: 'perCall' as const }));
  return c.kind === 'connectionString'
    ? TableClient.fromConnectionString(c.connectionString, table, {
        allowInsecureConnection: insecure(c.connectionString),
        additionalPolicies,
        httpClient: leanHttpClient,
      })
    : new TableClient(c.tableServiceUri, table, storageCredential(c), {
        allowInsecureConnection: c.tableServiceUri.startsWith('http:'),
        additionalPolicies,
        httpClient: leanHttpClient,
      });
}

/**
 * How the lean requests to the app's own account are signed: the connection string's key or SAS, else the
 * app's identity; undefined when a connection string has neither (those requests stay on the SDKs).
 */
function leanStorageAuth(c: StorageConnection): StorageAuth | undefined {
  return c.kind === 'connectionString'
    ? storageAuthFromConnectionString(c.connectionString)
    : { kind: 'token', credential: storageCredential(c) };
}

/**
 * A sender for one of the app's queues: Put Message as a lean signed request (`QueueRest`), or through
 * the SDK client when a connection string has neither key nor SAS.
 */
function queueSender(
  auth: StorageAuth | undefined,
  service: QueueServiceClient,
  queue: string,
): MessageSender {
  if (auth) return new QueueRest({ endpoint: service.url, queue, auth });
  const sdk = service.getQueueClient(queue);
  return {
    sendMessage: async (text, options) => {
      await sdk.sendMessage(text, options);
    },
  };
}

/**
 * A tracking table: entity reads and writes as lean REST requests (`TableRest`), queries and creation on
 * the SDK client. A connection string without a key or SAS stays on the SDK alone.
 */
function trackingTable(
  c: StorageConnection,
  auth: StorageAuth | undefined,
  table: string,
  policies: readonly PipelinePolicy[],
): TrackingTable {
  const sdk = tableClient(c, table, policies);
  if (!auth) return sdk;
  const rest = new TableRest({ endpoint: sdk.url, table, auth, policies });
  return {
    createTable: () => sdk.createTable(),
    listEntities: sdk.listEntities.bind(sdk),
    createEntity: (entity) => rest.createEntity(entity),
    getEntity: (partitionKey, rowKey) => rest.getEntity(partitionKey, rowKey),
    findEntity: (partitionKey, rowKey) => rest.findEntity(partitionKey, rowKey),
    updateEntity: (entity, mode, options) => rest.updateEntity(entity, mode, options),
    upsertEntity: (entity, mode) => rest.upsertEntity(entity, mode),
    deleteEntity: (partitionKey, rowKey, options) => rest.deleteEntity(partitionKey, rowKey, options),
  };
}

function kustoCredential(config: AppConfig): TokenCredential | undefined {
  if (config.kustoAuth === 'none') return undefined;
  const clientId = config.azureClientId;
  if (config.kustoAuth === 'managed-identity')
    return new ManagedIdentityCredential(clientId ? { clientId } : {});
  return new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
}

function landingStorage(config: AppConfig): LandingStorage {
  const service = blobService(config.landingStorage);
  const queues = queueService(config.landingStorage);
  // The app's own copies are signed as Kusto's reads are; with kusto-identity, by the account key where
  // there is one (local), else by a user-delegation key.
  const sasMode =
    config.landingBlobAuth !== 'kusto-identity'
      ? config.landingBlobAuth
      : config.landingStorage.kind === 'connectionString'
        ? 'account-key'
        : 'user-delegation';
  // Storage checks a SAS against its own clock: signed with the real time, whatever clock the app is given.
  const sas = new LandingSas({ mode: sasMode, service });
  return {
    service,
    container: service.getContainerClient(config.landingContainer),
    failed: service.getContainerClient(config.landingFailedContainer),
    done: service.getContainerClient(config.landingDoneContainer),
    deadLetters: service.getContainerClient(config.landingDeadLetterContainer),
    events: queues.getQueueClient(config.landingEventsQueue),
    poison: queues.getQueueClient(`${config.landingEventsQueue}-poison`),
    sas,
    kustoUrl: kustoBlobUrl({ auth: config.landingBlobAuth, sas, identity: config.landingKustoIdentity }),
  };
}

/**
 * The protocol the app lets its ingest client use: KUSTO_INGEST_PROTOCOL, except that `auto` stays on v1
 * when no engine is known to settle a lost v2 answer by (docs/lifecycle.md, 'The app on v2'); the reason
 * is what /api/health says.
 */
export function ingestProtocolOf(config: AppConfig): { setting: 'auto' | 'v1' | 'v2'; why: string } {
  if (config.ingestProtocol === 'v1') return { setting: 'v1', why: 'KUSTO_INGEST_PROTOCOL is v1' };
  if (config.ingestProtocol === 'auto' && !config.v2EngineUri)
    return {
      setting: 'v1',
      why: "KUSTO_INGEST_PROTOCOL is auto, but the engine is unknown (KUSTO_ENGINE_URI unset, and the ingest URI has no 'ingest-' prefix): v2 needs it to settle a submission whose answer was lost",
    };
  return {
    setting: config.ingestProtocol,
    why:
      config.ingestProtocol === 'v2'
        ? 'KUSTO_INGEST_PROTOCOL is v2'
        : "KUSTO_INGEST_PROTOCOL is auto: the cluster's REST ingestion configuration decides",
  };
}

/** Builds the context from settings; nothing touches the network until first use. */
export function createAppContext(config: AppConfig, options: AppContextOptions = {}): AppContext {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? Date.now;
  for (const warning of config.warnings)
    logger.warn(JSON.stringify({ event: 'SettingDeprecated', details: warning }));
  const credential = kustoCredential(config);
  const protocol = ingestProtocolOf(config);
  const ingest = getIngestClient(config.kustoIngestUri, {
    ...(credential && { credential }),
    logger,
    protocol: protocol.setting,
    batchWindowMs: config.ingestBatchWindowMs,
    ...options.ingestOptions,
  });
  const tables = options.tables ?? TABLES;
  const policies = options.trackingPolicies ?? [];
  // One credential (and its token cache) for every lean table and queue client of the app's account.
  const appAuth = leanStorageAuth(config.appStorage);
  const store = new TableTrackingStore({
    tracking: trackingTable(config.appStorage, appAuth, tables.tracking, policies),
    open: trackingTable(config.appStorage, appAuth, tables.open, policies),
    failures: trackingTable(config.appStorage, appAuth, tables.failures, policies),
    index: trackingTable(config.appStorage, appAuth, tables.index, policies),
  });
  const routesFile = config.routesFile ? loadRoutesFile(config.routesFile) : undefined;
  const backfillStore = new BackfillStore(tableClient(config.appStorage, tables.backfill, policies));
  const auditTable = tables.audit ?? (options.tables ? `Audit${tables.tracking}` : TABLES.audit);
  const audit = new AuditLog(tableClient(config.appStorage, auditTable, policies), clock);
  const operators: OperatorAuthorizer = config.operatorEntra
    ? { mode: 'entra', verifier: new OperatorTokenVerifier(config.operatorEntra, { clock }) }
    : { mode: 'key' };
  const appQueues = queueService(config.appStorage);
  const landing = landingStorage(config);
  const backfill: BackfillResources = {
    store: backfillStore,
    pages: appQueues.getQueueClient(config.backfillPagesQueue),
    items: appQueues.getQueueClient(config.backfillItemsQueue),
    send: {
      pages: queueSender(appAuth, appQueues, config.backfillPagesQueue),
      items: queueSender(appAuth, appQueues, config.backfillItemsQueue),
    },
    accounts: new SourceAccounts({
      credential: () => options.storageCredential ?? appStorageCredential(config),
      auth: config.landingBlobAuth,
      identity: config.landingKustoIdentity,
    }),
    sources: new BackfillSourcePolicy({
      allowed: config.backfillSources,
      landingServiceUrl: landing.service.url,
      landingContainer: config.landingContainer,
      landingOwnContainers: new Map([
        [
          config.landingFailedContainer,
          'the quarantine of blobs that failed (retry them with the operator API)',
        ],
        [config.landingDoneContainer, 'where ingested landing blobs are moved (LANDING_ON_SUCCESS=move)'],
        [config.landingDeadLetterContainer, "Event Grid's dead letters (replay them with the operator API)"],
      ]),
      appServiceUrl: blobEndpointOf(config.appStorage),
    }),
  };
  const tracking = new TrackedSources({
    store,
    reporter: new FailureReporter({ store, logger, webhookUrl: config.failureWebhookUrl }),
    successes: new SuccessReporter({ logger, webhookUrl: config.successWebhookUrl }),
    onJobSourceClosed: (jobId, sourceId, outcome) => backfillStore.recordOutcome(jobId, sourceId, outcome),
    // Whether a stopped holder queued its source: its v1 status row says; a REST submission recorded on the
    // row, or queue reports, cannot say now: the source is taken as queued but uncertain, and the sweep
    // settles it (by the submission's extents, by its report; with neither, it queues it again past
    // STALE_AFTER_MINUTES), never queued twice at once.
    wasQueued: queuedEvidenceRule(config.statusMode, ingest),
    clock,
    logger,
    leaseMs: config.leaseSeconds * 1000,
  });
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
  // failures-only cross-checks failures there; v2 settles a submission whose answer was lost there.
  const engineUri = config.statusMode === 'failures-only' ? config.kustoEngineUri : undefined;
  const evidenceUri = engineUri ?? (protocol.setting !== 'v1' ? config.v2EngineUri : undefined);
  const engine = evidenceUri ? new KustoRestClient({ baseUrl: evidenceUri, credential, logger }) : undefined;
  let readiness: Promise<void> | undefined;
  return {
    config,
    ingest,
    managed,
    engine,
    tracking,
    routing: { rules: routesFile?.rules ?? [], allowedDatabases: config.allowedDatabases },
    // The settings' globs and the rules file's together: an include of either takes a path, an exclude of
    // either skips it.
    landingFilter: new LandingFilter({
      include: [...(config.landingInclude ?? []), ...(routesFile?.include ?? [])],
      exclude: [...(config.landingExclude ?? DEFAULT_LANDING_EXCLUDE), ...(routesFile?.exclude ?? [])],
    }),
    landing,
    backfill,
    counters: new Counters(),
    audit,
    operators,
    clock,
    logger,
    ready: () => {
      readiness ??= Promise.all([
        store.ensureTables(),
        landing.container.createIfNotExists(),
        landing.failed.createIfNotExists(),
        landing.events.createIfNotExists(),
        backfillStore.ensureTable(),
        backfill.pages.createIfNotExists(),
        backfill.items.createIfNotExists(),
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
/** Started once per process: a context forgotten and made again (the local host's restarts) keeps it. */
let telemetryStarted = false;

/**
 * The process-wide context, from the environment, created at first use (Flex allows ~30 s to start); its
 * shared clients log to the process logger. Telemetry starts with it, before any source is taken on.
 */
export function getAppContext(): AppContext {
  if (!shared) {
    if (!telemetryStarted) startTelemetry();
    telemetryStarted = true;
    shared = createAppContext(loadConfig(), { logger: processLogger });
  }
  return shared;
}

/**
 * Which queued-ingestion protocol is in use and why: the setting, and what the last ingestion of this
 * process chose (auto decides by the cluster's configuration, read at the first one). No URL, no SAS.
 */
export function ingestProtocolReport(config: AppConfig): { setting: string; inUse: string; why: string } {
  const allowed = ingestProtocolOf(config);
  const last = shared?.ingest.lastProtocol;
  return {
    setting: config.ingestProtocol,
    inUse: last?.protocol ?? (allowed.setting === 'auto' ? 'undecided' : allowed.setting),
    why: last?.why ?? (allowed.setting === 'auto' ? `${allowed.why}, at the first ingestion` : allowed.why),
  };
}

/** Forgets the process-wide context (tests). */
export function resetAppContext(): void {
  shared = undefined;
}
