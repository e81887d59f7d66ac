import { randomUUID } from 'node:crypto';
import { QueueClient, StorageSharedKeyCredential } from '@azure/storage-queue';
import { SUPPORTED_FORMATS } from './formats';
import { StandinHttpError } from './http';
import { field, SUBMISSION_BLOBS } from './queueMessage';
import type { RestOperations } from './restOperations';
import type { ResourceLayout, StandinAccount } from './storageResources';

/**
 * `POST /v1/rest/ingestion/queued/{db}/{table}` (ingest v2) as the stand-in's DM serves it: the body is
 * checked as the documentation describes it, an operation is opened, and the submission becomes one internal
 * message on the ingestion queues naming its blobs, so the worker that ingests v1 messages ingests each of
 * these blobs the same way (batching, faults, formats, mappings, reports) and settles it in the operation.
 */

/** The internal message's property that names the operation a blob belongs to. */
export const REST_OPERATION_PROPERTY = 'standinRestOperation';

const MAX_BLOBS = 20;

export interface RestIngestDeps {
  /** The accounts as the stand-in reaches them (never through a test's fault proxy). */
  readonly accounts: readonly StandinAccount[];
  readonly layout: ResourceLayout;
  readonly operations: RestOperations;
  /** An identity token the worker accepts (the DM's own messages carry one, as clients' do). */
  readonly token: () => string;
  readonly clock: () => number;
  /** Whether a managed identity may read storage for ingestion into the database (`.list blobs`). */
  readonly identityAllowed?: (database: string, objectId: string) => boolean;
}

const bad = (message: string, code = 'BadRequest_InvalidBody') =>
  new StandinHttpError({ status: 400, code, message, permanent: true });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const stringList = (name: string, v: unknown): string[] => {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  throw bad(`properties.${name} must be an array of strings.`, 'BadRequest_MalformedIngestionProperty');
};

let rotation = 0;

/**
 * One client per queue, kept: a client builds its pipeline when made (the stand-in's own cost, on the same
 * cores as what a benchmark measures).
 */
const queueClients = new Map<string, QueueClient>();
function queueClient(account: StandinAccount, name: string): QueueClient {
  const key = JSON.stringify([account.queueEndpoint, account.name, account.key, name]);
  let client = queueClients.get(key);
  if (!client) {
    client = new QueueClient(
      `${account.queueEndpoint}/${name}`,
      new StorageSharedKeyCredential(account.name, account.key),
    );
    queueClients.set(key, client);
  }
  return client;
}

export async function submitRest(
  deps: RestIngestDeps,
  database: string,
  table: string,
  body: unknown,
  /** A REST submission names at most 20; `.ingest-from-storage-queued` hands over what it listed. */
  maxBlobs = MAX_BLOBS,
): Promise<{ ingestionOperationId: string }> {
  if (!isObject(body)) throw bad('The body must be a JSON object with blobs and properties.');
  const blobs = field(body, 'blobs');
  const properties = field(body, 'properties');
  if (!Array.isArray(blobs) || blobs.length === 0) throw bad('blobs must be a non-empty array.');
  if (blobs.length > maxBlobs)
    throw bad(`A request may name at most ${maxBlobs} blobs (maxBlobsPerBatch); it names ${blobs.length}.`);
  if (!isObject(properties)) throw bad('properties is required (with at least format).');
  const format = field(properties, 'format');
  if (typeof format !== 'string' || !(SUPPORTED_FORMATS as readonly string[]).includes(format.toLowerCase()))
    throw bad(`properties.format is required and must be one of ${SUPPORTED_FORMATS.join(', ')}.`);
  const seen = new Set<string>();
  const items = blobs.map((b, i) => {
    if (!isObject(b)) throw bad(`blobs[${i}] must be an object with url.`);
    const url = field(b, 'url');
    if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw bad(`blobs[${i}].url must be an http(s) URL.`);
    const key = url.split('?')[0] ?? url;
    if (seen.has(key)) throw bad(`blobs[${i}].url names a blob already in this request.`);
    seen.add(key);
    const sourceId = field(b, 'sourceId');
    if (sourceId !== undefined && sourceId !== null && typeof sourceId !== 'string')
      throw bad(`blobs[${i}].sourceId must be a string.`);
    const rawSize = field(b, 'rawSize');
    if (rawSize !== undefined && rawSize !== null && (!Number.isInteger(rawSize) || (rawSize as number) < 0))
      throw bad(`blobs[${i}].rawSize must be a whole number of bytes.`);
    return {
      url,
      sourceId: typeof sourceId === 'string' && sourceId !== '' ? sourceId : randomUUID(),
      rawSize: typeof rawSize === 'number' ? rawSize : undefined,
    };
  });
  const tags = stringList('tags', field(properties, 'tags'));
  const ingestIfNotExists = stringList('ingestIfNotExists', field(properties, 'ingestIfNotExists'));
  const tracking = field(properties, 'enableTracking') === true;
  const operationId = deps.operations.open(database, table, items);

  const passed = (name: string) => {
    const v = field(properties, name);
    return v === undefined || v === null ? {} : { [name]: typeof v === 'string' ? v : JSON.stringify(v) };
  };
  const additional = {
    authorizationContext: deps.token(),
    format: format.toLowerCase(),
    ...(tags.length > 0 && { tags: JSON.stringify(tags) }),
    ...(ingestIfNotExists.length > 0 && { ingestIfNotExists: JSON.stringify(ingestIfNotExists) }),
    ...passed('ingestionMappingReference'),
    ...passed('ingestionMapping'),
    ...passed('validationPolicy'),
    ...passed('creationTime'),
    ...passed('zipPattern'),
    ...(field(properties, 'ignoreFirstRecord') === true && { ignoreFirstRecord: 'true' }),
    [REST_OPERATION_PROPERTY]: operationId,
  };
  const account = deps.accounts[0];
  if (!account) throw new Error('the stand-in has no storage account');
  const queueNames = deps.layout.ingestionQueues;
  const shared = {
    DatabaseName: database,
    TableName: table,
    RetainBlobOnSuccess: field(properties, 'deleteAfterDownload') !== true,
    FlushImmediately: field(properties, 'skipBatching') === true,
    IgnoreSizeLimit: field(properties, 'ignoreSizeLimit') === true,
    ReportLevel: 1, // the operation is the report: no status row, no status queue
    ReportMethod: 0,
    SourceMessageCreationTime: new Date(deps.clock()).toISOString(),
    AdditionalProperties: additional,
  };
  // One message per (up to) 20 blobs: the service keeps one record of a submission it accepted, not one per
  // blob; the worker then ingests, settles and reports each blob on its own, as it does a v1 message. A
  // listing handed over by `.ingest-from-storage-queued` goes in parts that keep each message well under the
  // queue's 64 KiB.
  const parts: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += MAX_BLOBS) parts.push(items.slice(i, i + MAX_BLOBS));
  await Promise.all(
    parts.map((part) => {
      const name = queueNames[rotation++ % queueNames.length] ?? queueNames[0] ?? '';
      const message = {
        ...shared,
        [SUBMISSION_BLOBS]: part.map((item) => ({
          Id: item.sourceId,
          BlobPath: item.url,
          ...(item.rawSize !== undefined && { RawDataSize: item.rawSize }),
        })),
      };
      return queueClient(account, name).sendMessage(
        Buffer.from(JSON.stringify(message), 'utf8').toString('base64'),
      );
    }),
  );
  return { ingestionOperationId: tracking ? operationId : '' };
}
