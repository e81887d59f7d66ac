import { KustoError } from './kustoError';

/**
 * An ingestion request as the Data Management service reads it off its queue. Decoded leniently where the
 * real service is lenient and strictly where it is strict (docs/protocol.md, 'The ingestion message').
 */
export interface DmMessage {
  readonly id: string;
  readonly blobPath: string;
  readonly rawDataSize: number | undefined;
  readonly database: string;
  readonly table: string;
  readonly retainBlobOnSuccess: boolean;
  readonly flushImmediately: boolean;
  readonly reportLevel: number;
  readonly reportMethod: number;
  readonly statusInTable: { partitionKey: string; rowKey: string; tableConnectionString: string } | undefined;
  readonly properties: Readonly<Record<string, unknown>>;
}

/** The ingestion properties, once checked. */
export interface DmProperties {
  readonly authorizationContext: unknown;
  readonly format: string | undefined;
  readonly tags: string[];
  readonly ingestIfNotExists: string[];
  readonly mappingInline: unknown;
  readonly mappingReference: string | undefined;
  readonly mappingKind: string | undefined;
  readonly ignoreFirstRecord: boolean;
  readonly creationTime: string | undefined;
  readonly zipPattern: string | undefined;
}

/** A property by its name, case aside, as the service reads its inputs. */
export function field(obj: Record<string, unknown>, name: string): unknown {
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const flag = (v: unknown): boolean => v === true || (typeof v === 'string' && v.toLowerCase() === 'true');

/**
 * The stand-in DM's own message for a REST submission (ingest v2) names its blobs here, up to 20, with the
 * properties they share: one message per submission, as the service keeps one record of what it accepted.
 */
export const SUBMISSION_BLOBS = 'StandinSubmissionBlobs';

function parseQueueMessage(messageText: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(messageText, 'base64').toString('utf8'));
  } catch {
    throw new KustoError('BadRequest_CorruptedMessage', 'The queue message is not base64-encoded JSON.', 400);
  }
  if (typeof json !== 'object' || json === null) {
    throw new KustoError('BadRequest_CorruptedMessage', 'The queue message is not a JSON object.', 400);
  }
  return json as Record<string, unknown>;
}

/**
 * Base64 text → the blobs it asks to ingest: one for a client's message, each blob of a submission for the
 * DM's own message (each with the submission's properties). A message that cannot be read at all is
 * `BadRequest_CorruptedMessage`.
 */
export function decodeQueueMessages(messageText: string): DmMessage[] {
  const m = parseQueueMessage(messageText);
  const blobs = m[SUBMISSION_BLOBS];
  if (blobs === undefined) return [decodeMessageObject(m)];
  if (!Array.isArray(blobs) || blobs.length === 0)
    throw new KustoError('BadRequest_CorruptedMessage', 'The submission message names no blobs.', 400);
  const { [SUBMISSION_BLOBS]: _blobs, ...shared } = m;
  return blobs.map((b) => {
    if (typeof b !== 'object' || b === null)
      throw new KustoError(
        'BadRequest_CorruptedMessage',
        'A blob of the submission message is not an object.',
        400,
      );
    return decodeMessageObject({ ...shared, ...(b as Record<string, unknown>) });
  });
}

function decodeMessageObject(m: Record<string, unknown>): DmMessage {
  const id = text(field(m, 'Id'));
  const blobPath = text(field(m, 'BlobPath'));
  const database = text(field(m, 'DatabaseName'));
  const table = text(field(m, 'TableName'));
  if (!id || !blobPath)
    throw new KustoError('BadRequest_CorruptedMessage', 'The message has no Id or BlobPath.', 400);
  const inTable = field(m, 'IngestionStatusInTable');
  let statusInTable: DmMessage['statusInTable'];
  if (typeof inTable === 'object' && inTable !== null) {
    const t = inTable as Record<string, unknown>;
    const partitionKey = text(field(t, 'PartitionKey'));
    const rowKey = text(field(t, 'RowKey'));
    if (partitionKey && rowKey) {
      statusInTable = {
        partitionKey,
        rowKey,
        tableConnectionString: text(field(t, 'TableConnectionString')) ?? '',
      };
    }
  }
  const raw = field(m, 'RawDataSize');
  const props = field(m, 'AdditionalProperties');
  return {
    id,
    blobPath,
    rawDataSize: typeof raw === 'number' ? raw : undefined,
    database: database ?? '',
    table: table ?? '',
    retainBlobOnSuccess: flag(field(m, 'RetainBlobOnSuccess')),
    flushImmediately: flag(field(m, 'FlushImmediately')),
    reportLevel: Number(field(m, 'ReportLevel') ?? 0),
    reportMethod: Number(field(m, 'ReportMethod') ?? 0),
    statusInTable,
    properties: typeof props === 'object' && props !== null ? (props as Record<string, unknown>) : {},
  };
}

function jsonStringList(name: string, value: unknown, allowArray: boolean): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value)) {
    if (allowArray && value.every((v) => typeof v === 'string')) return value;
    throw new KustoError(
      'BadRequest_MalformedIngestionProperty',
      `Ingestion property '${name}' must be a JSON string holding an array of strings, e.g. "[\\"a\\"]"; got a JSON array.`,
      400,
    );
  }
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed;
    } catch {
      // fall through to the error below
    }
  }
  throw new KustoError(
    'BadRequest_MalformedIngestionProperty',
    `Ingestion property '${name}' is malformed: ${JSON.stringify(value)}.`,
    400,
  );
}

/** Checks the AdditionalProperties: `tags` only as a JSON string (an array broke the real service). */
export function readProperties(message: DmMessage): DmProperties {
  const p = message.properties as Record<string, unknown>;
  const mappingReference = text(field(p, 'ingestionMappingReference')) ?? text(field(p, 'mappingReference'));
  const inline =
    field(p, 'ingestionMapping') ??
    field(p, 'csvMapping') ??
    field(p, 'jsonMapping') ??
    field(p, 'avroMapping');
  return {
    authorizationContext: field(p, 'authorizationContext'),
    format: text(field(p, 'format'))?.toLowerCase(),
    tags: jsonStringList('tags', field(p, 'tags'), false),
    ingestIfNotExists: jsonStringList('ingestIfNotExists', field(p, 'ingestIfNotExists'), true),
    mappingInline: inline,
    mappingReference,
    mappingKind: text(field(p, 'ingestionMappingType'))?.toLowerCase(),
    ignoreFirstRecord: flag(field(p, 'ignoreFirstRecord')),
    creationTime: text(field(p, 'creationTime')),
    zipPattern: text(field(p, 'zipPattern')),
  };
}

/** The format from the blob name when the message names none: `data.json.gz` → json. */
export function formatFromBlobName(blobPath: string): string | undefined {
  const name = (blobPath.split(/[?;]/)[0] ?? '').toLowerCase().replace(/\.(gz|zip)$/, '');
  const ext = /\.([a-z0-9]+)$/.exec(name)?.[1];
  return ext;
}
