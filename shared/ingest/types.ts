import type { DataFormat } from '../message/dataFormat';

// Numeric on the wire, as the service expects.
export const ReportLevel = { FailuresOnly: 0, DoNotReport: 1, FailuresAndSuccesses: 2 } as const;
export type ReportLevel = (typeof ReportLevel)[keyof typeof ReportLevel];
export const ReportMethod = { Queue: 0, Table: 1, QueueAndTable: 2 } as const;
export type ReportMethod = (typeof ReportMethod)[keyof typeof ReportMethod];

export interface ColumnMapping {
  readonly column: string;
  readonly datatype?: string;
  /** `Ordinal` (Csv), `Path` (Json, Avro, Parquet...), `Field`, `ConstValue`, `Transform`. */
  readonly properties: Readonly<Record<string, string | number>>;
}

export interface ValidationPolicy {
  /** 0 DoNotValidate, 1 ValidateCsvInputConstantColumns, 2 ValidateCsvInputColumnLevelOnly */
  readonly validationOptions: 0 | 1 | 2;
  /** 0 Fail, 1 BestEffort */
  readonly validationImplications: 0 | 1;
}

export interface IngestionProps {
  readonly database: string;
  readonly table: string;
  readonly format: DataFormat;
  /** Name of a mapping created on the table beforehand. */
  readonly mappingReference?: string;
  /** Inline mapping; its kind follows from the format. */
  readonly mapping?: readonly ColumnMapping[];
  readonly tags?: readonly string[];
  readonly ingestByTags?: readonly string[];
  readonly dropByTags?: readonly string[];
  /** Skip the ingestion when an extent with one of these ingest-by tags exists. Sent as a JSON string. */
  readonly ingestIfNotExists?: readonly string[];
  readonly creationTime?: Date | string;
  readonly flushImmediately?: boolean;
  readonly ignoreFirstRecord?: boolean;
  readonly validationPolicy?: ValidationPolicy;
  /** @default ReportLevel.FailuresOnly */
  readonly reportLevel?: ReportLevel;
  /** @default ReportMethod.Queue. Table needs ReportLevel.FailuresAndSuccesses. */
  readonly reportMethod?: ReportMethod;
  /** Further ingestion properties; a key that a named prop covers is an error. */
  readonly additionalProperties?: Readonly<Record<string, string>>;
  /** Any RFC 4122 UUID. @default a random v4 */
  readonly sourceId?: string;
  /** For blobs: the caller's uncompressed size, if known. */
  readonly rawDataSize?: number;
}

export type IngestFlavor = 'queued' | 'streaming' | 'direct';

export interface StatusTableRef {
  /** Without SAS. */
  readonly tableUrl: string;
  readonly partitionKey: string;
  readonly rowKey: string;
}

export interface IngestionReceipt {
  readonly sourceId: string;
  readonly database: string;
  readonly table: string;
  readonly flavor: IngestFlavor;
  /** Without the SAS query. */
  readonly blobPath?: string;
  /** 'Pending' when a status row was written; 'Queued' when the service reports elsewhere. */
  readonly status: 'Queued' | 'Pending' | 'Succeeded';
  readonly statusTable?: StatusTableRef;
  readonly parts?: readonly IngestionReceipt[];
  /**
   * Queued over REST (ingest v2): the handle of its operation, a string another process can read the status
   * by (QueuedIngestClient.getOperationStatuses). Absent when queued as a v1 message.
   */
  readonly operation?: string;
}

export type IngestionStatusValue =
  'Pending' | 'Succeeded' | 'Failed' | 'PartiallySucceeded' | 'Skipped' | 'Queued';
export type FailureStatus = 'Unknown' | 'Permanent' | 'Transient' | 'Exhausted';

export interface IngestionStatus {
  readonly sourceId: string;
  readonly status: IngestionStatusValue;
  readonly errorCode?: string;
  readonly failureStatus?: FailureStatus;
  readonly details?: string;
  readonly operationId?: string;
  readonly updatedOn?: string;
  /**
   * A v1 status row's last write, as the Table service stamped it (its own `Timestamp`, not a field a writer
   * chose): tells a row of an earlier attempt from one this attempt wrote. For a split source, the latest of
   * its parts' rows.
   */
  readonly rowWrittenOn?: string;
}
