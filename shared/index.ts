// The public surface of the library. shared/ never imports @azure/functions: it is usable on its own.
export {
  IngestError,
  IngestValidationError,
  IngestAuthError,
  IngestThrottledError,
  IngestTransientError,
  IngestServiceError,
  IngestResourceError,
  isIngestError,
  isIngestValidationError,
  isIngestAuthError,
  isIngestThrottledError,
  isIngestTransientError,
  isIngestServiceError,
  isIngestResourceError,
  isTransient,
  mayHaveBeenApplied,
  classify,
} from './errors';
export type { Logger } from './log';
export { redactUrl, redactSecrets, stripQuery, silentLogger } from './log';
export { withRetry, type RetryOptions } from './retry';
export { uuidV5, isUuid, SOURCE_ID_NAMESPACE } from './uuid';
export { validateEntityName, quoteName, quoteString } from './names';
export { DATA_FORMATS, parseDataFormat, mappingKindOf, isBinaryFormat } from './message/dataFormat';
export type { DataFormat, MappingKind } from './message/dataFormat';
export { buildIngestionMessage, encodeIngestionMessage } from './message/ingestionMessage';
export type { IngestionMessage } from './message/ingestionMessage';
export { KustoRestClient, type KustoRestClientOptions } from './kusto/kustoRestClient';
export type { KustoTable } from './kusto/v1Response';
export { ReportLevel, ReportMethod } from './ingest/types';
export type {
  ColumnMapping,
  IngestionProps,
  IngestionReceipt,
  IngestionStatus,
  IngestionStatusValue,
  FailureStatus,
  ValidationPolicy,
} from './ingest/types';
export {
  QueuedIngestClient,
  DEFAULT_COMPRESSION_LEVEL,
  type QueuedIngestClientOptions,
  type IngestCallOptions,
  type IngestSource,
  type UploadedSource,
} from './ingest/queuedIngestClient';
export { partSourceId } from './ingest/splitParts';
export {
  chooseProtocol,
  IngestionConfigurationSource,
  type IngestProtocol,
  type IngestProtocolSetting,
  type IngestionConfiguration,
  type ProtocolChoice,
} from './ingest/v2/ingestionConfiguration';
export { handleFromString, handleToString, type OperationHandle } from './ingest/v2/operationHandle';
export {
  RestQueuedIngestion,
  type RestQueuedIngestionOptions,
  type RestSubmitted,
} from './ingest/v2/restQueuedIngestion';
export { parseStatusMessage, type StatusReport, type ReceivedStatusMessage } from './status/statusQueue';
export { getIngestClient, closeIngestClients } from './ingest/getIngestClient';
export {
  StreamingIngestClient,
  STREAMING_LIMIT_BYTES,
  type StreamingIngestClientOptions,
} from './ingest/streamingIngestClient';
export {
  ManagedStreamingIngestClient,
  type ManagedStreamingIngestClientOptions,
  type QueuedFallback,
  type StreamOutcome,
} from './ingest/managedStreamingIngestClient';
export {
  DirectIngestClient,
  type DirectIngestClientOptions,
  type DirectIngestionResult,
  type DirectExtent,
} from './ingest/directIngestClient';
