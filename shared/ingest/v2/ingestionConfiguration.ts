import { z } from 'zod';
import { IngestServiceError, isNotFound } from '../../errors';
import type { KustoRestClient } from '../../kusto/kustoRestClient';
import { parseStorageResourceUrl, type StorageResource } from '../../resources/storageUrl';

/** Which queued-ingestion protocol a client speaks: the queue messages of v1, or REST submissions (v2). */
export type IngestProtocol = 'v1' | 'v2';

/** What the client is told to speak (KUSTO_INGEST_PROTOCOL): `auto` asks the service. */
export type IngestProtocolSetting = 'auto' | IngestProtocol;

/** The service's REST ingestion configuration (`GET /v1/rest/ingestion/configuration`), as we use it. */
export interface IngestionConfiguration {
  /** The containers to upload to, each with its SAS. */
  readonly containers: readonly StorageResource[];
  /** Lake folders offered (OneLake): counted only, this client does not upload to them. */
  readonly lakeFolders: number;
  /** How long the configuration (and its SAS) may be used before it is read again. */
  readonly refreshIntervalMs: number;
  /** The most blobs one submission may name. */
  readonly maxBlobsPerBatch: number;
  /** The largest data one submission may carry, in bytes, when the service says. */
  readonly maxDataSize: number | undefined;
  /** What the service prefers, read from `preferredIngestionMethod`; undefined when it says nothing known. */
  readonly preferred: IngestProtocol | undefined;
  /** `preferredIngestionMethod` as the service wrote it (for the health answer and logs). */
  readonly preferredAsSent: string | undefined;
}

// Where the docs and the clients disagree, both are taken: fields may be missing or null.
const path = z.object({ path: z.string() }).loose();
const configurationSchema = z
  .object({
    containerSettings: z
      .object({
        containers: z.array(path).nullish(),
        lakeFolders: z.array(path).nullish(),
        refreshInterval: z.string().nullish(),
        preferredUploadMethod: z.string().nullish(),
      })
      .loose()
      .nullish(),
    ingestionSettings: z
      .object({
        maxBlobsPerBatch: z.number().int().positive().nullish(),
        maxDataSize: z.number().positive().nullish(),
        preferredIngestionMethod: z.string().nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

/** The documented limit when the service names none (the Java client assumes 70; the docs say 20). */
export const DEFAULT_MAX_BLOBS_PER_BATCH = 20;

/** How long a configuration is used when it names no refresh interval: the documented example's hour. */
export const DEFAULT_REFRESH_INTERVAL_MS = 3_600_000;

/**
 * A .NET TimeSpan as the service writes durations: `[d.]hh:mm:ss[.fffffff]`, e.g. "01:00:00" or
 * "1.02:00:00". Undefined for anything else.
 */
export function parseTimeSpan(text: string): number | undefined {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (!m) return undefined;
  const [, days, hours, minutes, seconds, fraction] = m;
  const ms =
    ((Number(days ?? 0) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction ?? '0'}`) * 1000);
  return Number(minutes) < 60 && Number(seconds) < 60 ? ms : undefined;
}

/**
 * What `preferredIngestionMethod` asks for: documented as "V1 (Queue) or V2 (REST)"; the examples and the
 * clients also show "REST", "Rest", "Queue" and "Legacy". Compared without case; undefined for anything else.
 */
export function preferredProtocol(value: string | null | undefined): IngestProtocol | undefined {
  switch (value?.trim().toLowerCase()) {
    case 'v2':
    case 'rest':
      return 'v2';
    case 'v1':
    case 'queue':
    case 'legacy':
      return 'v1';
    default:
      return undefined;
  }
}

/**
 * Reads the configuration endpoint's answer, tolerantly where the sources disagree. A configuration that
 * offers lake folders only is refused with a typed error: this client uploads to blob containers.
 */
export function parseIngestionConfiguration(body: unknown): IngestionConfiguration {
  const parsed = configurationSchema.safeParse(body);
  if (!parsed.success)
    throw new IngestServiceError(
      `The ingestion configuration is not in the documented shape: ${parsed.error.issues[0]?.message ?? 'unreadable'}.`,
      'BadRequest',
      200,
    );
  const containerSettings = parsed.data.containerSettings ?? {};
  const ingestionSettings = parsed.data.ingestionSettings ?? {};
  const containers = (containerSettings.containers ?? []).map((c, i) => {
    try {
      return parseStorageResourceUrl(c.path);
    } catch (cause) {
      throw new IngestServiceError(
        `Container ${i} of the ingestion configuration is not a storage URL.`,
        'BadRequest',
        200,
        { cause },
      );
    }
  });
  const lakeFolders = containerSettings.lakeFolders?.length ?? 0;
  if (containers.length === 0 && lakeFolders > 0)
    throw new IngestServiceError(
      'The cluster offers only lake folders (OneLake) for REST queued ingestion, which this client does not upload to: use KUSTO_INGEST_PROTOCOL=v1 (queue messages), or a cluster with storage containers.',
      'NotImplemented',
    );
  const interval = containerSettings.refreshInterval ?? undefined;
  return {
    containers,
    lakeFolders,
    refreshIntervalMs: (interval && parseTimeSpan(interval)) || DEFAULT_REFRESH_INTERVAL_MS,
    maxBlobsPerBatch: ingestionSettings.maxBlobsPerBatch ?? DEFAULT_MAX_BLOBS_PER_BATCH,
    maxDataSize: ingestionSettings.maxDataSize ?? undefined,
    preferred: preferredProtocol(ingestionSettings.preferredIngestionMethod),
    preferredAsSent: ingestionSettings.preferredIngestionMethod ?? undefined,
  };
}

/** The protocol in use, and why, in words fit for `/api/health` (never a URL or a SAS). */
export interface ProtocolChoice {
  readonly protocol: IngestProtocol;
  readonly why: string;
}

/**
 * Which protocol to speak: the setting, unless it is `auto`; then the service's preference, and v1 when it
 * prefers v1, says nothing we know, or has no configuration endpoint (a 404: `configuration` undefined).
 * v2 forced on a service without the endpoint is an error that says so, never a silent switch.
 */
export function chooseProtocol(
  setting: IngestProtocolSetting,
  configuration: IngestionConfiguration | undefined,
): ProtocolChoice {
  if (setting === 'v1') return { protocol: 'v1', why: 'KUSTO_INGEST_PROTOCOL is v1' };
  if (setting === 'v2') {
    if (!configuration)
      throw new IngestServiceError(
        'KUSTO_INGEST_PROTOCOL is v2, but the cluster has no REST ingestion configuration (GET /v1/rest/ingestion/configuration answered 404): use auto or v1.',
        'NotImplemented',
        404,
      );
    return { protocol: 'v2', why: 'KUSTO_INGEST_PROTOCOL is v2' };
  }
  if (!configuration) return { protocol: 'v1', why: 'the cluster has no REST ingestion configuration (404)' };
  if (configuration.preferred === 'v2')
    return {
      protocol: 'v2',
      why: `the cluster prefers REST ingestion (preferredIngestionMethod ${configuration.preferredAsSent ?? ''})`,
    };
  return {
    protocol: 'v1',
    why:
      configuration.preferredAsSent === undefined
        ? 'the cluster states no preferred ingestion method'
        : `the cluster prefers queue ingestion (preferredIngestionMethod ${configuration.preferredAsSent})`,
  };
}

/** The API version the REST queued-ingestion requests name (`x-ms-version`), as the official clients send it. */
export const INGEST_V2_API_VERSION = '2024-12-12';

export interface IngestionConfigurationSourceOptions {
  readonly client: Pick<KustoRestClient, 'getJson'>;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * The configuration, read when first needed and again once its refresh interval has passed, or at once
 * after `invalidate` (a 403 from its containers: the SAS expired early). A 404 (the cluster has no REST
 * ingestion) is remembered the same way, until the next refresh: the Java client treats it as passing.
 * Other failures are thrown as they are (typed, for the caller's retry), and nothing is cached of them.
 */
export class IngestionConfigurationSource {
  private cached: { readonly value: IngestionConfiguration | undefined; readonly until: number } | undefined;
  private reading: Promise<IngestionConfiguration | undefined> | undefined;
  private readonly clock: () => number;
  /** How many times the endpoint was read; for diagnostics and tests. */
  reads = 0;

  constructor(private readonly options: IngestionConfigurationSourceOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** The configuration, or undefined when the cluster has none (404). */
  get(signal?: AbortSignal): Promise<IngestionConfiguration | undefined> {
    if (this.cached && this.clock() < this.cached.until) return Promise.resolve(this.cached.value);
    this.reading ??= this.read(signal).finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Forgets what was read: the next `get` reads the endpoint again. */
  invalidate(): void {
    this.cached = undefined;
  }

  private async read(signal: AbortSignal | undefined): Promise<IngestionConfiguration | undefined> {
    this.reads += 1;
    let value: IngestionConfiguration | undefined;
    try {
      value = parseIngestionConfiguration(
        await this.options.client.getJson(
          '/v1/rest/ingestion/configuration',
          'the REST ingestion configuration',
          'getIngestConfiguration',
          {
            headers: { 'x-ms-version': INGEST_V2_API_VERSION },
            requestIdPrefix: 'KIC.execute',
            ...(signal && { signal }),
          },
        ),
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
      value = undefined;
    }
    this.cached = { value, until: this.clock() + (value?.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS) };
    return value;
  }
}
