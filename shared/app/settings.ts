import { z } from 'zod';
import { IngestError } from '../errors';
import { redactSecrets } from '../log';
import { parseBackfillSources, type BackfillSourceEntry } from './backfill/backfillSources';
import { maxDequeueCountFrom } from './hostQueues';
import type { LandingRetryPolicy } from './landing/landingRetry';
import { compileGlob } from './routing/glob';

/** How the app reaches a storage account: a connection string (local) or an identity (Azure). */
export type StorageConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string }
  | {
      readonly kind: 'identity';
      readonly blobServiceUri: string;
      readonly queueServiceUri: string;
      readonly tableServiceUri: string;
      /** Set when `__credential` is `managedidentity`: that identity, else DefaultAzureCredential. */
      readonly managedIdentity: boolean;
      readonly clientId: string | undefined;
    };

export type KustoAuth = 'default' | 'managed-identity' | 'none';

/** The app's settings (docs/contracts.md), read once and checked at start-up. */
export interface AppConfig {
  readonly kustoIngestUri: string;
  readonly kustoEngineUri: string | undefined;
  readonly kustoAuth: KustoAuth;
  readonly azureClientId: string | undefined;
  readonly appStorage: StorageConnection;
  readonly landingStorage: StorageConnection;
  readonly landingContainer: string;
  readonly landingFailedContainer: string;
  readonly landingEventsQueue: string;
  /** How Kusto reads landing blobs: a SAS it is given, or its own managed identity. */
  readonly landingBlobAuth: LandingBlobAuth;
  /** The cluster identity named in `;managed_identity=` URLs (kusto-identity): `system` or an object id. */
  readonly landingKustoIdentity: string;
  /** What becomes of a landing blob once it is ingested. */
  readonly landingOnSuccess: LandingOnSuccess;
  /** Where `move` puts ingested landing blobs (path kept). */
  readonly landingDoneContainer: string;
  /** Where Event Grid dead-letters landing events it could not deliver (the replay reads it). */
  readonly landingDeadLetterContainer: string;
  readonly routesFile: string | undefined;
  /** The only databases any path may write to (push, blobs, landing, backfill, retry, replay); undefined: any. */
  readonly allowedDatabases: readonly string[] | undefined;
  /** The containers a backfill may read besides the landing container (BACKFILL_SOURCES); undefined: none. */
  readonly backfillSources: readonly BackfillSourceEntry[] | undefined;
  /** Globs over the path in the landing container: only these are taken; undefined: every path. */
  readonly landingInclude: readonly string[] | undefined;
  /** Globs over the path in the landing container that are skipped; undefined: the default list. */
  readonly landingExclude: readonly string[] | undefined;
  /**
   * How the service reports each source: a status row per source read by the sweep (`table`), reports on
   * the status queues drained by the sweep (`queue`), or failure reports only, a source with none being
   * closed as ingested once its table's batching window and SETTLE_MARGIN_MINUTES have passed
   * (`failures-only`; cross-checked with `.show ingestion failures`).
   */
  readonly statusMode: StatusMode;
  /** failures-only: how long past the batching window a source with no failure report waits to be closed. */
  readonly settleMarginMinutes: number;
  readonly sweepSchedule: string;
  readonly staleAfterMinutes: number;
  readonly maxRequeueAttempts: number;
  readonly failureWebhookUrl: string | undefined;
  /** POST one JSON body per source that is ingested (queryable), when set. */
  readonly successWebhookUrl: string | undefined;
  readonly httpIngestFlavor: 'queued' | 'managed-streaming';
  /**
   * How sources are announced to the service: REST submissions where the cluster prefers them (`auto`), v1
   * queue messages (`v1`), or REST always (`v2`). A v2 submission whose answer was lost is settled by
   * asking the engine (`v2EngineUri`).
   */
  readonly ingestProtocol: 'auto' | 'v1' | 'v2';
  /** On v2, how long a source waits for others of its submission (KUSTO_INGEST_BATCH_WINDOW_MS). */
  readonly ingestBatchWindowMs: number;
  /**
   * The engine that v2's evidence is asked of (extents tagged with a submission, ingestion failures):
   * KUSTO_ENGINE_URI, else the ingest URI without its `ingest-` prefix; undefined when neither is known.
   */
  readonly v2EngineUri: string | undefined;
  /** How long a worker holds a source it stores or queues; the sweep takes over after it. */
  readonly leaseSeconds: number;
  /** Hosts besides Azure Storage's blob endpoints that blob references may name. */
  readonly allowedBlobHosts: readonly string[];
  /** The local storage emulator's blob origin, when the landing account is one (http, no Azure). */
  readonly localBlobOrigin: string | undefined;
  /**
   * How the console and the operator API are protected: the host's master key (auth level `admin`), or
   * Entra access tokens the app validates itself (the functions are then anonymous to the host).
   */
  readonly operatorAuth: 'key' | 'entra';
  /** `entra`: the tenant, the app registration and the authority that issue operators' tokens. */
  readonly operatorEntra: OperatorEntra | undefined;
  /** The backfill's task queues, on the app's storage account. */
  readonly backfillPagesQueue: string;
  readonly backfillItemsQueue: string;
  /** The queue trigger's maxDequeueCount (host.json, or its app-setting override): the try the host gives up after. */
  readonly maxDequeueCount: number;
  /** When a landing event that keeps failing for a transient reason is put back on its queue. */
  readonly landingRetry: LandingRetryPolicy;
  /** What the settings do that their owner should change (a deprecated name): logged at start-up. */
  readonly warnings: readonly string[];
}

/** Who issues the operators' tokens (OPERATOR_AUTH=entra). */
export interface OperatorEntra {
  readonly tenantId: string;
  readonly clientId: string;
  /** The authority host: `https://login.microsoftonline.com` in the public cloud. */
  readonly authority: string;
}

export type StatusMode = 'table' | 'queue' | 'failures-only';
export type LandingBlobAuth = 'user-delegation' | 'account-key' | 'kusto-identity';
export type LandingOnSuccess = 'keep' | 'delete' | 'move' | 'tag';

/** Every default the app applies; infra emits the same values. */
export const CONFIG_DEFAULTS = {
  KUSTO_AUTH: 'default',
  KUSTO_INGEST_PROTOCOL: 'auto',
  KUSTO_INGEST_BATCH_WINDOW_MS: '5',
  LANDING_CONTAINER: 'landing',
  LANDING_FAILED_CONTAINER: 'landing-failed',
  LANDING_EVENTS_QUEUE: 'landing-events',
  LANDING_BLOB_AUTH: 'user-delegation',
  LANDING_KUSTO_IDENTITY: 'system',
  LANDING_ON_SUCCESS: 'keep',
  LANDING_DONE_CONTAINER: 'landing-done',
  LANDING_DEADLETTER_CONTAINER: 'landing-deadletter',
  STATUS_MODE: 'table',
  SETTLE_MARGIN_MINUTES: '5',
  SWEEP_SCHEDULE: '0 */5 * * * *',
  STALE_AFTER_MINUTES: '120',
  MAX_REQUEUE_ATTEMPTS: '3',
  HTTP_INGEST_FLAVOR: 'queued',
  LEASE_SECONDS: '600',
  OPERATOR_AUTH: 'key',
  OPERATOR_AUTHORITY: 'https://login.microsoftonline.com',
  BACKFILL_PAGES_QUEUE: 'backfill-pages',
  BACKFILL_ITEMS_QUEUE: 'backfill-items',
  LANDING_RETRY_HOURS: '24',
  LANDING_RETRY_DELAY_SECONDS: '60',
} as const;

/**
 * A setting a trigger binding needs when its module loads (the queue name, the timer schedule): the
 * environment's value, else the app's own default.
 */
export function triggerSetting(
  name:
    | 'LANDING_EVENTS_QUEUE'
    | 'SWEEP_SCHEDULE'
    | 'OPERATOR_AUTH'
    | 'BACKFILL_PAGES_QUEUE'
    | 'BACKFILL_ITEMS_QUEUE',
  env = process.env,
): string {
  const value = env[name]?.trim();
  return value ? value : CONFIG_DEFAULTS[name];
}

/** Every setting name the app reads, for infra checks. Storage prefixes are listed by their base name. */
export const CONFIG_SETTINGS = [
  'KUSTO_INGEST_URI',
  'KUSTO_ENGINE_URI',
  'KUSTO_INGEST_PROTOCOL',
  'KUSTO_INGEST_BATCH_WINDOW_MS',
  'KUSTO_AUTH',
  'AZURE_CLIENT_ID',
  'AzureWebJobsStorage',
  'LandingStorage',
  'LANDING_CONTAINER',
  'LANDING_FAILED_CONTAINER',
  'LANDING_EVENTS_QUEUE',
  'LANDING_BLOB_AUTH',
  'LANDING_KUSTO_IDENTITY',
  'LANDING_ON_SUCCESS',
  'LANDING_DONE_CONTAINER',
  'LANDING_DEADLETTER_CONTAINER',
  'ROUTES_FILE',
  'ALLOWED_DATABASES',
  'BACKFILL_SOURCES',
  'LANDING_INCLUDE',
  'LANDING_EXCLUDE',
  'STATUS_MODE',
  'SETTLE_MARGIN_MINUTES',
  'SWEEP_SCHEDULE',
  'STALE_AFTER_MINUTES',
  'MAX_REQUEUE_ATTEMPTS',
  'FAILURE_WEBHOOK_URL',
  'SUCCESS_WEBHOOK_URL',
  'HTTP_INGEST_FLAVOR',
  'ALLOWED_BLOB_HOSTS',
  'LEASE_SECONDS',
  'OPERATOR_AUTH',
  'OPERATOR_TENANT_ID',
  'OPERATOR_CLIENT_ID',
  'OPERATOR_AUTHORITY',
  'BACKFILL_PAGES_QUEUE',
  'BACKFILL_ITEMS_QUEUE',
  'LANDING_RETRY_HOURS',
  'LANDING_RETRY_DELAY_SECONDS',
] as const;

/** Settings still read under an old name, with a warning; never emitted. */
export const DEPRECATED_SETTINGS = ['LANDING_SAS_MODE', 'LANDING_ALLOWED_DATABASES'] as const;

export class ConfigError extends IngestError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`The app's settings are not valid:\n- ${problems.join('\n- ')}`, 'InvalidConfiguration', false);
    this.name = 'ConfigError';
    // A bad setting is echoed to say what is wrong: never with a secret in it (a webhook URL can carry one).
    this.problems = problems.map(redactSecrets);
  }
}

const httpUrl = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^/\s]+/i.test(v), 'must be an http(s) URL');
// Where the app sends reports (they name sources and tables): https, or http to the machine itself only.
const webhookUrl = z
  .string()
  .trim()
  .refine((v) => {
    if (!URL.canParse(v)) return false;
    const url = new URL(v);
    return (
      url.protocol === 'https:' ||
      (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname))
    );
  }, 'must be an https URL (http only to 127.0.0.1 or localhost, for local development)');
const uuidText = z
  .string()
  .trim()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');
const optional = (schema: z.ZodType<string>) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());
const positiveInt = (name: string) =>
  z.coerce.number().int(`${name} must be a whole number`).positive(`${name} must be at least 1`);
// Blob container and queue names: lower case letters, digits and single dashes, 3 to 63 characters.
const storageName = z
  .string()
  .regex(/^(?!-)(?!.*--)[a-z0-9-]{3,63}(?<!-)$/, 'must be 3-63 lower-case letters, digits or single dashes');

const databaseList = optional(
  z
    .string()
    .refine(
      (v) => v.split(',').every((d) => /^[\w .-]{1,260}$/.test(d.trim()) && d.trim() !== ''),
      'must be a comma list of database names',
    ),
);

const settingsSchema = z.object({
  KUSTO_INGEST_URI: httpUrl.describe(
    "the cluster's ingest (Data Management) endpoint, `https://ingest-<cluster>.<region>.kusto.windows.net`",
  ),
  KUSTO_ENGINE_URI: optional(httpUrl).describe(
    'the engine endpoint; needed by `managed-streaming` and `failures-only`',
  ),
  KUSTO_INGEST_PROTOCOL: z
    .enum(['auto', 'v1', 'v2'])
    .default(CONFIG_DEFAULTS.KUSTO_INGEST_PROTOCOL)
    .describe(
      'how sources are announced: `auto` (REST queued ingestion where the cluster prefers it, queue messages elsewhere), `v1` or `v2`; v2 asks the engine about a submission whose answer was lost ([lifecycle](lifecycle.md))',
    ),
  KUSTO_INGEST_BATCH_WINDOW_MS: positiveInt('KUSTO_INGEST_BATCH_WINDOW_MS')
    .max(
      1000,
      'KUSTO_INGEST_BATCH_WINDOW_MS must be at most 1000 (each request and landing event waits for it)',
    )
    .default(Number(CONFIG_DEFAULTS.KUSTO_INGEST_BATCH_WINDOW_MS))
    .describe(
      'on v2, how long a source waits for others to share its REST submission: a request or landing event holds its slot meanwhile, so the app waits less than the library (25 ms); longer makes fuller submissions and fewer status reads ([benchmarks](../bench/README.md), scenarios 8 and 13)',
    ),
  KUSTO_AUTH: z
    .enum(['default', 'managed-identity', 'none'])
    .default(CONFIG_DEFAULTS.KUSTO_AUTH)
    .describe(
      'how the app signs in to Kusto: `default` (DefaultAzureCredential), `managed-identity`, `none` (local)',
    ),
  AZURE_CLIENT_ID: optional(z.string()).describe('the user-assigned identity the app signs in with'),
  LANDING_CONTAINER: storageName
    .default(CONFIG_DEFAULTS.LANDING_CONTAINER)
    .describe('the container users drop blobs into'),
  LANDING_FAILED_CONTAINER: storageName
    .default(CONFIG_DEFAULTS.LANDING_FAILED_CONTAINER)
    .describe(
      'where a landing blob that failed for good is moved (quarantine), with the reason in its metadata',
    ),
  LANDING_EVENTS_QUEUE: storageName
    .default(CONFIG_DEFAULTS.LANDING_EVENTS_QUEUE)
    .describe("the queue Event Grid delivers the landing container's `BlobCreated` events to"),
  LANDING_BLOB_AUTH: z
    .enum(['user-delegation', 'account-key', 'kusto-identity'])
    .optional()
    .describe(
      'how Kusto reads landing blobs: `user-delegation`, `account-key` (local), `kusto-identity` ([landing](landing.md#how-kusto-reads-landing-blobs))',
    ),
  // Replaced by LANDING_BLOB_AUTH; still read, with a warning.
  LANDING_SAS_MODE: z
    .enum(['user-delegation', 'account-key'])
    .optional()
    .describe(
      'the old name of `LANDING_BLOB_AUTH` (`user-delegation` or `account-key`): still read, with a `SettingDeprecated` warning',
    ),
  LANDING_KUSTO_IDENTITY: z
    .string()
    .trim()
    .regex(
      /^(system|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i,
      "must be 'system' (the cluster's system-assigned identity) or the object id of a user-assigned one",
    )
    .default(CONFIG_DEFAULTS.LANDING_KUSTO_IDENTITY)
    .describe("the identity `kusto-identity` names: `system` or a user-assigned identity's object id"),
  LANDING_ON_SUCCESS: z
    .enum(['keep', 'delete', 'move', 'tag'])
    .default(CONFIG_DEFAULTS.LANDING_ON_SUCCESS)
    .describe('after a landing blob is ingested: `keep`, `delete`, `move` (to the done container), `tag`'),
  LANDING_DONE_CONTAINER: storageName
    .default(CONFIG_DEFAULTS.LANDING_DONE_CONTAINER)
    .describe('where `LANDING_ON_SUCCESS=move` puts ingested landing blobs (path and metadata kept)'),
  LANDING_DEADLETTER_CONTAINER: storageName
    .default(CONFIG_DEFAULTS.LANDING_DEADLETTER_CONTAINER)
    .describe('where Event Grid dead-letters landing events it could not deliver (the replay reads it)'),
  ROUTES_FILE: optional(z.string()).describe(
    'routing rules for landing blobs ([landing](landing.md#rules-allowed-databases-and-what-is-not-data))',
  ),
  ALLOWED_DATABASES: databaseList.describe(
    'the only databases the app may write to, from every path (push, `/blobs`, landing, backfill, retry, replay; comma list); any when unset, which is not recommended',
  ),
  // Replaced by ALLOWED_DATABASES; still read, with a warning.
  LANDING_ALLOWED_DATABASES: databaseList.describe(
    'the old name of `ALLOWED_DATABASES`: still read, with a `SettingDeprecated` warning',
  ),
  BACKFILL_SOURCES: optional(
    z.string().refine((v) => {
      try {
        parseBackfillSources(v);
        return true;
      } catch {
        return false;
      }
    }, "must be a comma list of 'account/container' or 'account/*' entries (lower-case storage names)"),
  ).describe(
    'the containers a backfill may read besides the landing container: `account/container` or `account/*`, comma list; unset: the landing container only ([operations](operations.md#backfill-blobs-that-were-there-before))',
  ),
  LANDING_INCLUDE: optional(z.string()).describe(
    'globs over the path in the landing container: only these are data (comma list); all when unset',
  ),
  LANDING_EXCLUDE: optional(z.string()).describe(
    'globs over the path in the landing container that are skipped (comma list); default: Spark/Hadoop markers and temporary names',
  ),
  STATUS_MODE: z
    .enum(['table', 'queue', 'failures-only'])
    .default(CONFIG_DEFAULTS.STATUS_MODE)
    .describe(
      'how the service reports each source: `table`, `queue` or `failures-only` ([operations](operations.md#status-modes-which-for-which-volume))',
    ),
  SETTLE_MARGIN_MINUTES: positiveInt('SETTLE_MARGIN_MINUTES')
    .default(Number(CONFIG_DEFAULTS.SETTLE_MARGIN_MINUTES))
    .describe(
      "failures-only: how long past its table's batching window a source with no failure is closed as ingested",
    ),
  SWEEP_SCHEDULE: z
    .string()
    .refine(
      (v) => v.trim().split(/\s+/).length === 6,
      'must be an NCRONTAB expression with 6 fields (seconds first), e.g. "0 */5 * * * *"',
    )
    .default(CONFIG_DEFAULTS.SWEEP_SCHEDULE)
    .describe('when the sweep runs: NCRONTAB with seconds, UTC'),
  STALE_AFTER_MINUTES: positiveInt('STALE_AFTER_MINUTES')
    .default(Number(CONFIG_DEFAULTS.STALE_AFTER_MINUTES))
    .describe('a source pending longer is reported stuck (an uncertain enqueue is queued again)'),
  MAX_REQUEUE_ATTEMPTS: z.coerce
    .number()
    .int('MAX_REQUEUE_ATTEMPTS must be a whole number')
    .min(0, 'MAX_REQUEUE_ATTEMPTS must be 0 or more')
    .default(Number(CONFIG_DEFAULTS.MAX_REQUEUE_ATTEMPTS))
    .describe('how often the sweep re-queues a source the service gave up on'),
  FAILURE_WEBHOOK_URL: optional(webhookUrl).describe(
    'one JSON POST per failure report: https (http only to the machine itself); a redirect is not followed',
  ),
  SUCCESS_WEBHOOK_URL: optional(webhookUrl).describe(
    'one JSON POST per ingested source, when its data is queryable: https (http only to the machine itself); a redirect is not followed',
  ),
  HTTP_INGEST_FLAVOR: z
    .enum(['queued', 'managed-streaming'])
    .default(CONFIG_DEFAULTS.HTTP_INGEST_FLAVOR)
    .describe(
      'how an HTTP push is ingested: `queued`, or `managed-streaming` (streamed when small, else queued)',
    ),
  LEASE_SECONDS: z.coerce
    .number()
    .int('LEASE_SECONDS must be a whole number')
    .min(10, 'LEASE_SECONDS must be at least 10 (the longest bounded retry of one step)')
    .default(Number(CONFIG_DEFAULTS.LEASE_SECONDS))
    .describe('how long a request or delivery holds a source; the sweep takes over after it'),
  OPERATOR_AUTH: z
    .enum(['key', 'entra'])
    .default(CONFIG_DEFAULTS.OPERATOR_AUTH)
    .describe(
      "how the console and operator API are protected: `key` (the host's master key) or `entra` (Entra access tokens with the app roles `Ingest.Operator` / `Ingest.Reader`, checked by the app; [operations](operations.md#who-may-call-what))",
    ),
  OPERATOR_TENANT_ID: optional(uuidText).describe(
    '`OPERATOR_AUTH=entra`: the Entra tenant whose tokens the operator API accepts',
  ),
  OPERATOR_CLIENT_ID: optional(uuidText).describe(
    '`OPERATOR_AUTH=entra`: the app registration (client id) the tokens are for (audience: it, or `api://` it)',
  ),
  OPERATOR_AUTHORITY: z
    .string()
    .trim()
    .refine(
      (v) =>
        /^https:\/\/[a-z0-9.-]+\/?$/i.test(v) || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/?$/i.test(v),
      'must be an https origin such as https://login.microsoftonline.com (http only to 127.0.0.1, for tests)',
    )
    .default(CONFIG_DEFAULTS.OPERATOR_AUTHORITY)
    .describe(
      "`OPERATOR_AUTH=entra`: the Entra authority host (the sovereign clouds' own, e.g. `https://login.chinacloudapi.cn`)",
    ),
  BACKFILL_PAGES_QUEUE: storageName
    .default(CONFIG_DEFAULTS.BACKFILL_PAGES_QUEUE)
    .describe("the backfill's page task queue, on the app's storage account"),
  BACKFILL_ITEMS_QUEUE: storageName
    .default(CONFIG_DEFAULTS.BACKFILL_ITEMS_QUEUE)
    .describe("the backfill's item task queue, on the app's storage account"),
  LANDING_RETRY_HOURS: positiveInt('LANDING_RETRY_HOURS')
    .default(Number(CONFIG_DEFAULTS.LANDING_RETRY_HOURS))
    .describe(
      'how long after it was raised a landing event that keeps failing for a transient reason (the ingestion service or storage unreachable) is put back on its queue after its last try, rather than parked in the poison queue',
    ),
  LANDING_RETRY_DELAY_SECONDS: positiveInt('LANDING_RETRY_DELAY_SECONDS')
    .default(Number(CONFIG_DEFAULTS.LANDING_RETRY_DELAY_SECONDS))
    .describe(
      "the first wait before a put-back landing event is tried again; later waits grow with the event's age, up to an hour",
    ),
  ALLOWED_BLOB_HOSTS: optional(
    z
      .string()
      .refine(
        (v) => v.split(',').every((h) => /^(\*\.)?[a-z0-9.-]+(:\d+)?$/i.test(h.trim())),
        'must be a comma list of host names (host, host:port or *.suffix)',
      ),
  ).describe(
    'hosts besides Azure Storage blob endpoints that `/blobs` may name (`host`, `host:port`, `*.suffix`)',
  ),
});

/** The settings read by prefix rather than through the schema: the two storage connections. */
const STORAGE_SETTING_DESCRIPTIONS: Record<string, string> = {
  AzureWebJobsStorage:
    "the app's own account (the host, the tracking tables, the backfill queues): a connection string, or `__accountName` (+ `__credential`, `__clientId`) for the managed identity",
  LandingStorage:
    'the landing account: a connection string, or `__blobServiceUri` + `__queueServiceUri` (+ `__credential`, `__clientId`)',
};

/** One setting as the docs list it. */
export interface SettingReference {
  readonly name: string;
  /** `required`, `none`, or the default value. */
  readonly defaultValue: string;
  readonly description: string;
}

/**
 * Every setting the app reads, its default and what it does, from the schema itself (docs/settings.md is
 * generated from it, so the docs cannot drift from what is checked).
 */
export function settingsReference(): SettingReference[] {
  const shape: Record<string, z.ZodType> = settingsSchema.shape;
  const defaults: Record<string, string> = CONFIG_DEFAULTS;
  return [...CONFIG_SETTINGS, ...DEPRECATED_SETTINGS].map((name) => {
    const field = shape[name];
    const description = field?.description ?? STORAGE_SETTING_DESCRIPTIONS[name];
    if (description === undefined) throw new Error(`setting ${name} has no description`);
    const required = field ? !field.safeParse(undefined).success : true;
    const fallback = defaults[name];
    return {
      name,
      defaultValue: fallback !== undefined ? fallback : required ? 'required' : 'none',
      description,
    };
  });
}

/** A comma list setting's items, trimmed; undefined when it is not set. */
function commaList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** The blob origin of a connection string that points at the local emulator (http), if it does. */
function localBlobOrigin(connection: StorageConnection): string | undefined {
  if (connection.kind !== 'connectionString') return undefined;
  const local = /UseDevelopmentStorage=true|BlobEndpoint=http:/i.test(connection.connectionString);
  const endpoint = local ? blobEndpointOf(connection) : undefined;
  return endpoint ? new URL(endpoint).origin : undefined;
}

/** The blob service endpoint of a storage connection, as the storage SDK would build it. */
export function blobEndpointOf(connection: StorageConnection): string | undefined {
  if (connection.kind === 'identity') return connection.blobServiceUri;
  const text = connection.connectionString;
  if (/UseDevelopmentStorage=true/i.test(text)) return 'http://127.0.0.1:10000/devstoreaccount1';
  const field = (name: string) => new RegExp(`(?:^|;)\\s*${name}=([^;]+)`, 'i').exec(text)?.[1]?.trim();
  const endpoint = field('BlobEndpoint');
  if (endpoint) return endpoint.replace(/\/+$/, '');
  const account = field('AccountName');
  if (!account) return undefined;
  return `${field('DefaultEndpointsProtocol') ?? 'https'}://${account}.blob.${field('EndpointSuffix') ?? 'core.windows.net'}`;
}

function storageConnection(
  env: NodeJS.ProcessEnv,
  prefix: string,
  problems: string[],
  needsTable: boolean,
): StorageConnection | undefined {
  const connectionString = env[prefix]?.trim();
  if (connectionString) return { kind: 'connectionString', connectionString };
  const get = (suffix: string) => env[`${prefix}__${suffix}`]?.trim() || undefined;
  const accountName = get('accountName');
  const service = (kind: 'blob' | 'queue' | 'table') =>
    get(`${kind}ServiceUri`) ?? (accountName ? `https://${accountName}.${kind}.core.windows.net` : undefined);
  const blobServiceUri = service('blob');
  const queueServiceUri = service('queue');
  const tableServiceUri = service('table');
  const missing = [
    !blobServiceUri && `${prefix}__blobServiceUri`,
    !queueServiceUri && `${prefix}__queueServiceUri`,
    needsTable && !tableServiceUri && `${prefix}__tableServiceUri`,
  ].filter((m): m is string => typeof m === 'string');
  if (!blobServiceUri && !queueServiceUri && !accountName) {
    problems.push(
      `${prefix} is required: a connection string, or ${prefix}__accountName (or ${prefix}__blobServiceUri and ${prefix}__queueServiceUri) for a managed identity`,
    );
    return undefined;
  }
  if (missing.length > 0) {
    problems.push(`${prefix} is incomplete: set ${missing.join(' and ')} (or ${prefix}__accountName)`);
    return undefined;
  }
  return {
    kind: 'identity',
    blobServiceUri: blobServiceUri ?? '',
    queueServiceUri: queueServiceUri ?? '',
    tableServiceUri: tableServiceUri ?? '',
    managedIdentity: get('credential')?.toLowerCase() === 'managedidentity',
    clientId: get('clientId'),
  };
}

/** Reads and checks the settings; throws a ConfigError listing every problem and what to set. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const parsed = settingsSchema.safeParse(
    Object.fromEntries(Object.keys(settingsSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]])),
  );
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = issue.path.join('.');
      // Never the value itself: a bad setting can still hold a secret (a webhook URL with its key).
      problems.push(
        env[name] === undefined
          ? `${name} is required (${issue.message})`
          : `${name} is not valid: ${issue.message}`,
      );
    }
  }
  const appStorage = storageConnection(env, 'AzureWebJobsStorage', problems, true);
  const landingStorage = storageConnection(env, 'LandingStorage', problems, false);
  if (
    parsed.success &&
    parsed.data.HTTP_INGEST_FLAVOR === 'managed-streaming' &&
    !parsed.data.KUSTO_ENGINE_URI
  ) {
    problems.push(
      "HTTP_INGEST_FLAVOR 'managed-streaming' streams to the engine: set KUSTO_ENGINE_URI (https://<cluster>...)",
    );
  }
  if (
    parsed.success &&
    parsed.data.KUSTO_INGEST_PROTOCOL === 'v2' &&
    !v2EngineUriOf(parsed.data.KUSTO_ENGINE_URI, parsed.data.KUSTO_INGEST_URI)
  ) {
    problems.push(
      "KUSTO_INGEST_PROTOCOL 'v2' settles a submission whose answer was lost by asking the engine for its extents: set KUSTO_ENGINE_URI (https://<cluster>...), and give the app's identity a database role that may run .show commands (Monitor)",
    );
  }
  if (parsed.success && parsed.data.STATUS_MODE === 'failures-only' && !parsed.data.KUSTO_ENGINE_URI) {
    problems.push(
      "STATUS_MODE 'failures-only' cross-checks failures with '.show ingestion failures' on the engine: set KUSTO_ENGINE_URI (https://<cluster>...), and give the app's identity a database role that may run .show commands (Monitor)",
    );
  }
  if (parsed.success) {
    const {
      LANDING_CONTAINER: landing,
      LANDING_FAILED_CONTAINER: failed,
      LANDING_DONE_CONTAINER: done,
    } = parsed.data;
    if (new Set([landing, failed, done]).size < 3)
      problems.push(
        `LANDING_CONTAINER, LANDING_FAILED_CONTAINER and LANDING_DONE_CONTAINER must name three different containers (they are '${landing}', '${failed}', '${done}')`,
      );
  }
  if (parsed.success)
    for (const name of ['LANDING_INCLUDE', 'LANDING_EXCLUDE'] as const)
      for (const pattern of commaList(parsed.data[name]) ?? []) {
        try {
          compileGlob(pattern);
        } catch (e) {
          problems.push(`${name} is not valid: ${(e as Error).message}`);
        }
      }
  if (parsed.success && parsed.data.OPERATOR_AUTH === 'entra')
    for (const name of ['OPERATOR_TENANT_ID', 'OPERATOR_CLIENT_ID'] as const)
      if (parsed.data[name] === undefined)
        problems.push(
          `${name} is required with OPERATOR_AUTH=entra: the ${name === 'OPERATOR_TENANT_ID' ? "tenant's id" : "operator app registration's client id"} (docs/operations.md, 'Who may call what')`,
        );
  if (problems.length > 0 || !parsed.success || !appStorage || !landingStorage)
    throw new ConfigError(problems);
  const s = parsed.data;
  const warnings: string[] = [];
  if (s.LANDING_SAS_MODE !== undefined) {
    warnings.push(
      s.LANDING_BLOB_AUTH === undefined
        ? `LANDING_SAS_MODE is replaced by LANDING_BLOB_AUTH: read as LANDING_BLOB_AUTH=${s.LANDING_SAS_MODE}; rename the setting`
        : `LANDING_SAS_MODE is replaced by LANDING_BLOB_AUTH and ignored (LANDING_BLOB_AUTH=${s.LANDING_BLOB_AUTH} is set): remove it`,
    );
  }
  if (s.LANDING_ALLOWED_DATABASES !== undefined) {
    warnings.push(
      s.ALLOWED_DATABASES === undefined
        ? 'LANDING_ALLOWED_DATABASES is replaced by ALLOWED_DATABASES, which now applies to every path that names a database: read as ALLOWED_DATABASES; rename the setting'
        : 'LANDING_ALLOWED_DATABASES is replaced by ALLOWED_DATABASES and ignored (ALLOWED_DATABASES is set): remove it',
    );
  }
  return {
    kustoIngestUri: s.KUSTO_INGEST_URI,
    kustoEngineUri: s.KUSTO_ENGINE_URI,
    kustoAuth: s.KUSTO_AUTH,
    azureClientId: s.AZURE_CLIENT_ID,
    appStorage,
    landingStorage,
    landingContainer: s.LANDING_CONTAINER,
    landingFailedContainer: s.LANDING_FAILED_CONTAINER,
    landingEventsQueue: s.LANDING_EVENTS_QUEUE,
    landingBlobAuth: s.LANDING_BLOB_AUTH ?? s.LANDING_SAS_MODE ?? CONFIG_DEFAULTS.LANDING_BLOB_AUTH,
    landingKustoIdentity: s.LANDING_KUSTO_IDENTITY,
    landingOnSuccess: s.LANDING_ON_SUCCESS,
    landingDoneContainer: s.LANDING_DONE_CONTAINER,
    landingDeadLetterContainer: s.LANDING_DEADLETTER_CONTAINER,
    routesFile: s.ROUTES_FILE,
    allowedDatabases: commaList(s.ALLOWED_DATABASES ?? s.LANDING_ALLOWED_DATABASES),
    backfillSources: parseBackfillSources(s.BACKFILL_SOURCES),
    landingInclude: commaList(s.LANDING_INCLUDE),
    landingExclude: commaList(s.LANDING_EXCLUDE),
    statusMode: s.STATUS_MODE,
    settleMarginMinutes: s.SETTLE_MARGIN_MINUTES,
    sweepSchedule: s.SWEEP_SCHEDULE,
    staleAfterMinutes: s.STALE_AFTER_MINUTES,
    maxRequeueAttempts: s.MAX_REQUEUE_ATTEMPTS,
    failureWebhookUrl: s.FAILURE_WEBHOOK_URL,
    successWebhookUrl: s.SUCCESS_WEBHOOK_URL,
    httpIngestFlavor: s.HTTP_INGEST_FLAVOR,
    ingestProtocol: s.KUSTO_INGEST_PROTOCOL,
    ingestBatchWindowMs: s.KUSTO_INGEST_BATCH_WINDOW_MS,
    v2EngineUri: v2EngineUriOf(s.KUSTO_ENGINE_URI, s.KUSTO_INGEST_URI),
    allowedBlobHosts: commaList(s.ALLOWED_BLOB_HOSTS) ?? [],
    localBlobOrigin: localBlobOrigin(landingStorage),
    leaseSeconds: s.LEASE_SECONDS,
    operatorAuth: s.OPERATOR_AUTH,
    operatorEntra:
      s.OPERATOR_AUTH === 'entra' && s.OPERATOR_TENANT_ID && s.OPERATOR_CLIENT_ID
        ? {
            tenantId: s.OPERATOR_TENANT_ID.toLowerCase(),
            clientId: s.OPERATOR_CLIENT_ID.toLowerCase(),
            authority: s.OPERATOR_AUTHORITY.replace(/\/+$/, ''),
          }
        : undefined,
    backfillPagesQueue: s.BACKFILL_PAGES_QUEUE,
    backfillItemsQueue: s.BACKFILL_ITEMS_QUEUE,
    maxDequeueCount: maxDequeueCountFrom(env),
    landingRetry: {
      retryForMs: s.LANDING_RETRY_HOURS * 3_600_000,
      firstDelaySeconds: s.LANDING_RETRY_DELAY_SECONDS,
    },
    warnings,
  };
}

/**
 * The engine of a cluster: the one given, else the ingest endpoint without its `ingest-` prefix (the naming
 * every cluster's endpoints follow); undefined when the ingest endpoint does not follow it (a local stand-in).
 */
export function v2EngineUriOf(engineUri: string | undefined, ingestUri: string): string | undefined {
  if (engineUri) return engineUri;
  try {
    const url = new URL(ingestUri);
    if (!url.hostname.toLowerCase().startsWith('ingest-')) return undefined;
    url.hostname = url.hostname.slice('ingest-'.length);
    return url.origin;
  } catch {
    return undefined;
  }
}
