import { IngestValidationError } from '../errors';
import type { ValidatedProps } from '../ingest/ingestionProps';

/**
 * The queue message the Data Management service reads (docs/protocol.md, 'The ingestion message'): PascalCase on the wire,
 * ReportLevel/ReportMethod as numbers, every AdditionalProperties value a string (tags and
 * ingestIfNotExists as JSON strings: a real array broke ingestion on the service).
 */
export interface IngestionMessage {
  readonly Id: string;
  readonly BlobPath: string;
  readonly RawDataSize?: number;
  readonly DatabaseName: string;
  readonly TableName: string;
  readonly RetainBlobOnSuccess: boolean;
  readonly FlushImmediately: boolean;
  readonly IgnoreSizeLimit: boolean;
  readonly ReportLevel: number;
  readonly ReportMethod: number;
  readonly SourceMessageCreationTime: string;
  readonly AdditionalProperties: Readonly<Record<string, string>>;
  readonly IngestionStatusInTable?: {
    readonly TableConnectionString: string;
    readonly PartitionKey: string;
    readonly RowKey: string;
  };
  readonly ApplicationForTracing: string;
  readonly ClientVersionForTracing: string;
}

export interface MessageInput {
  readonly sourceId: string;
  /** The blob URL with a SAS that lets the service read it (and delete it, for our temp blobs). */
  readonly blobUrl: string;
  readonly rawDataSize: number | undefined;
  readonly props: ValidatedProps;
  readonly authorizationContext: string;
  /** True for a caller's blob, false for the temp blobs we upload. */
  readonly retainBlobOnSuccess: boolean;
  /** Full status table URL with SAS, when the report method includes Table. */
  readonly statusTableUrl?: string | undefined;
  readonly applicationForTracing: string;
  readonly clientVersionForTracing: string;
  readonly now: Date;
}

/** Azure queue messages are at most 64 KiB of text. */
export const MAX_QUEUE_MESSAGE_CHARS = 65_536;

function additionalProperties(input: MessageInput): Record<string, string> {
  const p = input.props;
  const out: Record<string, string> = { ...p.additionalProperties };
  out.authorizationContext = input.authorizationContext;
  out.format = p.format;
  if (p.mappingReference !== undefined) {
    out.ingestionMappingReference = p.mappingReference;
    out.ingestionMappingType = p.mappingKind;
  }
  if (p.mapping !== undefined) {
    out.ingestionMapping = JSON.stringify(
      p.mapping.map((m) => ({
        Column: m.column,
        ...(m.datatype !== undefined ? { DataType: m.datatype } : {}),
        Properties: Object.fromEntries(Object.entries(m.properties).map(([k, v]) => [k, String(v)])),
      })),
    );
    out.ingestionMappingType = p.mappingKind;
  }
  const tags = [
    ...p.tags,
    ...p.dropByTags.map((t) => `drop-by:${t}`),
    ...p.ingestByTags.map((t) => `ingest-by:${t}`),
  ];
  if (tags.length > 0) out.tags = JSON.stringify(tags);
  if (p.ingestIfNotExists !== undefined) out.ingestIfNotExists = JSON.stringify(p.ingestIfNotExists);
  if (p.creationTime !== undefined) out.creationTime = p.creationTime;
  if (p.ignoreFirstRecord) out.ignoreFirstRecord = 'true';
  if (p.validationPolicy !== undefined) {
    out.ValidationPolicy = JSON.stringify({
      ValidationOptions: p.validationPolicy.validationOptions,
      ValidationImplications: p.validationPolicy.validationImplications,
    });
  }
  return out;
}

/** The one pure builder of the wire message. */
export function buildIngestionMessage(input: MessageInput): IngestionMessage {
  const p = input.props;
  return {
    Id: input.sourceId,
    BlobPath: input.blobUrl,
    ...(input.rawDataSize !== undefined ? { RawDataSize: input.rawDataSize } : {}),
    DatabaseName: p.database,
    TableName: p.table,
    RetainBlobOnSuccess: input.retainBlobOnSuccess,
    FlushImmediately: p.flushImmediately,
    IgnoreSizeLimit: false,
    ReportLevel: p.reportLevel,
    ReportMethod: p.reportMethod,
    SourceMessageCreationTime: input.now.toISOString(),
    AdditionalProperties: additionalProperties(input),
    ...(input.statusTableUrl !== undefined
      ? {
          IngestionStatusInTable: {
            TableConnectionString: input.statusTableUrl,
            PartitionKey: input.sourceId,
            RowKey: input.sourceId,
          },
        }
      : {}),
    ApplicationForTracing: input.applicationForTracing,
    ClientVersionForTracing: input.clientVersionForTracing,
  };
}

/** Base64 of the UTF-8 JSON, as the service reads queue messages; refuses what the queue would refuse. */
export function encodeIngestionMessage(message: IngestionMessage): string {
  const text = Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
  if (text.length > MAX_QUEUE_MESSAGE_CHARS) {
    throw new IngestValidationError(
      `The ingestion message is ${text.length} characters, over the queue's limit of ${MAX_QUEUE_MESSAGE_CHARS}; ` +
        'the inline mapping is likely too large: create the mapping on the table and pass mappingReference instead.',
      'TooLarge',
    );
  }
  return text;
}
