import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { LeanResponse } from './leanHttpClient';
import { SignedRest, type SignedRequest, type StorageAuth } from './signedRest';
import { entityJson, keyLiteral, type EntityValue } from './storageRest';

export interface TableRestOptions {
  /** The table service endpoint, path-style for emulators: `http://127.0.0.1:10002/devstoreaccount1`. */
  readonly endpoint: string;
  readonly table: string;
  readonly auth: StorageAuth;
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

/**
 * The entity reads and writes of the app's tracking tables, as single REST requests on the lean HTTP
 * client. The table SDK serialises each operation through an operation spec, a dozen pipeline policies
 * and a tracing span: for the four or five table writes of every push and landing event that cost more
 * CPU than the rest of the handler (bench/README.md, Profiles). Same wire format as the SDK (OData JSON,
 * `@odata.type` for dates and large numbers), same errors (`RestError` with the status and the service's
 * code), same bounded retries for transient failures. Queries and table creation stay on the SDK.
 */
export class TableRest {
  private readonly rest: SignedRest;

  constructor(private readonly options: TableRestOptions) {
    this.rest = new SignedRest({
      endpoint: options.endpoint,
      service: 'table',
      auth: options.auth,
      apiVersion: '2019-02-02',
      headers: {
        accept: 'application/json;odata=minimalmetadata',
        dataserviceversion: '3.0',
        maxdataserviceversion: '3.0;NetFx',
      },
      ...(options.policies && { policies: options.policies }),
      ...(options.requestTimeoutInMs !== undefined && { requestTimeoutInMs: options.requestTimeoutInMs }),
      ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    });
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
    return readEntity(await this.send('GET', this.entityPath(partitionKey, rowKey), undefined, {}));
  }

  /** Get Entity, with no row answered as undefined (no error is built for the common miss). */
  async findEntity(partitionKey: string, rowKey: string): Promise<ReadEntity | undefined> {
    const response = await this.rest.send({
      method: 'GET',
      path: this.entityPath(partitionKey, rowKey),
      notFoundIsAnswer: true,
    });
    return response.status === 404 ? undefined : readEntity(response);
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

  private send(
    method: SignedRequest['method'],
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<LeanResponse> {
    return this.rest.send({ method, path, body, contentType: 'application/json', headers });
  }
}

function readEntity(response: LeanResponse): ReadEntity {
  const raw = JSON.parse(response.bodyAsText ?? '{}') as Record<string, unknown>;
  const odataEtag = raw['odata.etag'];
  const etag = response.headers.get('etag') ?? (typeof odataEtag === 'string' ? odataEtag : '');
  return { ...fromWire(raw), etag };
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
