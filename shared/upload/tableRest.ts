import { createHmac, randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import type { TokenCredential } from '@azure/core-auth';
import {
  createHttpHeaders,
  createPipelineRequest,
  type HttpMethods,
  type Pipeline,
  type PipelinePolicy,
} from '@azure/core-rest-pipeline';
import { IngestAuthError } from '../errors';
import { withRetry } from '../retry';
import { failedAsError, leanPipeline, sendLean, type LeanResponse } from './leanHttpClient';
import { entityJson, keyLiteral, type EntityValue } from './storageRest';

/** How requests to the app's own tables are authorised. */
export type TableAuth =
  /** Shared Key Lite, from a connection string's account key. */
  | { readonly kind: 'sharedKey'; readonly accountName: string; readonly accountKey: string }
  /** A bearer token for storage (managed identity and the rest of the default chain). */
  | { readonly kind: 'token'; readonly credential: TokenCredential }
  /** A connection string's SAS. */
  | { readonly kind: 'sas'; readonly sas: string };

export interface TableRestOptions {
  /** The table service endpoint, path-style for emulators: `http://127.0.0.1:10002/devstoreaccount1`. */
  readonly endpoint: string;
  readonly table: string;
  readonly auth: TableAuth;
  /** Pipeline policies every request goes through (fault injection in tests). @default none */
  readonly policies?: readonly PipelinePolicy[];
  /** Per-request timeout. @default 30_000 */
  readonly requestTimeoutInMs?: number;
  /** Attempts per operation, for transient failures (5xx, 408, 429, a lost connection). @default 3 */
  readonly maxAttempts?: number;
}

/** An entity as the storage SDK spells it: lower-case keys, values that JSON or `entityJson` can type. */
export type TableEntity = { readonly partitionKey: string; readonly rowKey: string } & Readonly<
  Record<string, unknown>
>;

/** An entity read back: DateTime values as `Date`, the row's ETag in `etag`. */
export type ReadEntity = EntityFields & { etag: string };

type EntityFields = Record<string, unknown> & { partitionKey: string; rowKey: string };

const API_VERSION = '2019-02-02';
const STORAGE_SCOPE = 'https://storage.azure.com/.default';
/** A token is renewed this long before it expires. */
const TOKEN_MARGIN_MS = 5 * 60_000;

/**
 * The entity reads and writes of the app's tracking tables, as single REST requests on the lean HTTP
 * client. The table SDK serialises each operation through an operation spec, a dozen pipeline policies
 * and a tracing span: for the four or five table writes of every push and landing event that cost more
 * CPU than the rest of the handler (bench/README.md, Profiles). Same wire format as the SDK (OData JSON,
 * `@odata.type` for dates and large numbers), same errors (`RestError` with the status and the service's
 * code), same bounded retries for transient failures. Queries and table creation stay on the SDK.
 */
export class TableRest {
  private readonly base: string;
  private readonly pipeline: Pipeline | undefined;
  private readonly timeout: number;
  private readonly maxAttempts: number;
  private token: { value: string; expiresOn: number } | undefined;
  private tokenInFlight: Promise<string> | undefined;

  constructor(private readonly options: TableRestOptions) {
    // A SAS belongs to `auth`, never to the endpoint: one left on it would end up inside the path.
    this.base = `${(options.endpoint.split('?')[0] ?? '').replace(/\/+$/, '')}/`;
    this.pipeline = leanPipeline(options.policies);
    this.timeout = options.requestTimeoutInMs ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  /** Insert Entity: a 409 RestError when the row is there already. */
  async createEntity(entity: TableEntity): Promise<{ etag: string }> {
    const response = await this.send('POST', this.options.table, entityBody(entity), {
      prefer: 'return-no-content',
    });
    return { etag: response.headers.get('etag') ?? '' };
  }

  /** Get Entity: a 404 RestError when there is none. */
  async getEntity(partitionKey: string, rowKey: string): Promise<ReadEntity> {
    const response = await this.send('GET', this.entityPath(partitionKey, rowKey), undefined, {});
    const raw = JSON.parse(response.bodyAsText ?? '{}') as Record<string, unknown>;
    const odataEtag = raw['odata.etag'];
    const etag = response.headers.get('etag') ?? (typeof odataEtag === 'string' ? odataEtag : '');
    return { ...fromWire(raw), etag };
  }

  /** Update Entity (replace) if its ETag still matches: 412 when it changed, 404 when it is gone. */
  async updateEntity(
    entity: TableEntity,
    _mode: 'Replace',
    options: { etag: string },
  ): Promise<{ etag: string }> {
    const response = await this.send(
      'PUT',
      this.entityPath(entity.partitionKey, entity.rowKey),
      entityBody(entity),
      { 'if-match': options.etag },
    );
    return { etag: response.headers.get('etag') ?? '' };
  }

  /** Insert Or Replace Entity. */
  async upsertEntity(entity: TableEntity, _mode: 'Replace'): Promise<{ etag: string }> {
    const response = await this.send(
      'PUT',
      this.entityPath(entity.partitionKey, entity.rowKey),
      entityBody(entity),
      {},
    );
    return { etag: response.headers.get('etag') ?? '' };
  }

  /** Delete Entity, if its ETag matches when one is given: 412 when it changed, 404 when it is gone. */
  async deleteEntity(partitionKey: string, rowKey: string, options: { etag?: string } = {}): Promise<void> {
    await this.send('DELETE', this.entityPath(partitionKey, rowKey), undefined, {
      'if-match': options.etag ?? '*',
    });
  }

  private entityPath(partitionKey: string, rowKey: string): string {
    return `${this.options.table}(PartitionKey=${keyLiteral(partitionKey)},RowKey=${keyLiteral(rowKey)})`;
  }

  /**
   * One operation. The caller's policies see it once (as the SDK's per-call policies do); beneath them it
   * is retried while it fails transiently, each attempt signed afresh, and the last failure is thrown as
   * it came.
   */
  private async send(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body: string | undefined,
    extra: Record<string, string>,
  ): Promise<LeanResponse> {
    const auth = this.options.auth;
    const url = `${this.base}${path}${auth.kind === 'sas' ? `?${auth.sas.replace(/^\?/, '')}` : ''}`;
    if (!this.pipeline) return this.attempts(method, url, extra, body);
    const request = createPipelineRequest({
      url,
      method,
      body,
      timeout: this.timeout,
      allowInsecureConnection: url.startsWith('http:'),
      headers: createHttpHeaders(extra),
    });
    const response = await this.pipeline.sendRequest(
      {
        sendRequest: async (r) => ({
          ...(await this.attempts(method, r.url, r.headers.toJSON(), body, r.agent as Agent | undefined)),
          request: r,
        }),
      },
      request,
    );
    return failedAsError(response, method, url); // a policy may answer by itself
  }

  private async attempts(
    method: HttpMethods,
    url: string,
    extra: Record<string, string>,
    body: string | undefined,
    agent?: Agent,
  ): Promise<LeanResponse> {
    let last: unknown;
    try {
      return await withRetry(
        async () => {
          try {
            return await this.sendOnce(method, url, extra, body, agent);
          } catch (e) {
            last = e;
            throw e;
          }
        },
        { maxAttempts: this.maxAttempts, shouldRetry: (e) => e.transient },
      );
    } catch (e) {
      throw last ?? e;
    }
  }

  /** One signed request; an answer of 300 or more as a RestError with the service's code. */
  private async sendOnce(
    method: HttpMethods,
    url: string,
    extra: Record<string, string>,
    body: string | undefined,
    agent: Agent | undefined,
  ): Promise<LeanResponse> {
    const auth = this.options.auth;
    const date = new Date().toUTCString();
    const headers: Record<string, string> = {
      ...extra,
      'x-ms-version': API_VERSION,
      'x-ms-date': date,
      'x-ms-client-request-id': randomUUID(),
      accept: 'application/json;odata=minimalmetadata',
      dataserviceversion: '3.0',
      maxdataserviceversion: '3.0;NetFx',
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    if (auth.kind === 'sharedKey') headers.authorization = sharedKeyLite(auth, url, date);
    else if (auth.kind === 'token') headers.authorization = `Bearer ${await this.bearerToken()}`;
    return failedAsError(
      await sendLean({ method, url, headers, body, timeout: this.timeout, agent }),
      method,
      url,
    );
  }

  private async bearerToken(): Promise<string> {
    const auth = this.options.auth;
    if (auth.kind !== 'token') throw new Error('no token credential');
    const cached = this.token;
    if (cached && cached.expiresOn - Date.now() > TOKEN_MARGIN_MS) return cached.value;
    this.tokenInFlight ??= auth.credential
      .getToken(STORAGE_SCOPE)
      .then((token) => {
        if (!token)
          throw new IngestAuthError(
            'The storage credential returned no token: check the app identity and its role on the storage account.',
            'Unauthorized',
          );
        this.token = { value: token.token, expiresOn: token.expiresOnTimestamp };
        return token.token;
      })
      .finally(() => {
        this.tokenInFlight = undefined;
      });
    return this.tokenInFlight;
  }
}

/**
 * Shared Key Lite for the Table service: HMAC-SHA256 over the date and the canonical resource (the account,
 * then the path as sent; for a path-style emulator URL the account appears twice, as the SDK signs it).
 */
function sharedKeyLite(
  auth: { readonly accountName: string; readonly accountKey: string },
  url: string,
  date: string,
): string {
  const parsed = new URL(url);
  const comp = parsed.searchParams.get('comp');
  const resource = `/${auth.accountName}${parsed.pathname}${comp !== null ? `?comp=${comp}` : ''}`;
  const signature = createHmac('sha256', Buffer.from(auth.accountKey, 'base64'))
    .update(`${date}\n${resource}`, 'utf8')
    .digest('base64');
  return `SharedKeyLite ${auth.accountName}:${signature}`;
}

function entityBody(entity: TableEntity): string {
  const out: Record<string, EntityValue> = {};
  for (const [key, value] of Object.entries(entity)) {
    if (key === 'partitionKey' || key === 'rowKey' || key === 'etag' || value === undefined) continue;
    if (
      typeof value !== 'string' &&
      typeof value !== 'number' &&
      typeof value !== 'boolean' &&
      !(value instanceof Date)
    ) {
      throw new TypeError(
        `Table property ${key} is a ${typeof value}: only strings, numbers, booleans and dates are stored.`,
      );
    }
    out[key] = value;
  }
  return entityJson({ ...out, PartitionKey: entity.partitionKey, RowKey: entity.rowKey });
}

/** The service's JSON entity with its type annotations, as the SDK reads it. */
function fromWire(raw: Record<string, unknown>): EntityFields {
  const out: EntityFields = {
    partitionKey: typeof raw.PartitionKey === 'string' ? raw.PartitionKey : '',
    rowKey: typeof raw.RowKey === 'string' ? raw.RowKey : '',
  };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'PartitionKey' || key === 'RowKey' || key.startsWith('odata.') || key.endsWith('@odata.type'))
      continue;
    const type = raw[`${key}@odata.type`];
    out[key === 'Timestamp' ? 'timestamp' : key] =
      type === 'Edm.DateTime' && typeof value === 'string' ? new Date(value) : value;
  }
  return out;
}

/** Azurite's well-known development account (public, documented). */
const DEVELOPMENT_ACCOUNT = {
  accountName: 'devstoreaccount1',
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
};

/**
 * The authorisation a storage connection string carries: its account key (or the development account's),
 * else its SAS. Undefined when it has neither (the caller then stays on the SDK).
 */
export function tableAuthFromConnectionString(connectionString: string): TableAuth | undefined {
  const parts = new Map<string, string>();
  for (const part of connectionString.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true')
    return { kind: 'sharedKey', ...DEVELOPMENT_ACCOUNT };
  const accountName = parts.get('accountname');
  const accountKey = parts.get('accountkey');
  if (accountName && accountKey) return { kind: 'sharedKey', accountName, accountKey };
  const sas = parts.get('sharedaccesssignature');
  return sas ? { kind: 'sas', sas } : undefined;
}
