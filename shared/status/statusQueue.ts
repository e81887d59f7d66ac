import type { FailureStatus, IngestionStatus } from '../ingest/types';
import { redactOptional } from '../log';

/**
 * One report the Data Management service posted to its success or failure queue (docs/contracts.md,
 * 'Status queues'): base64 JSON naming the source by `IngestionSourceId` (the ingestion message's `Id`).
 */
export interface StatusReport extends IngestionStatus {
  readonly status: 'Succeeded' | 'Failed';
  readonly database: string;
  readonly table: string;
  /** The blob the service read, without SAS. */
  readonly sourcePath: string;
  /** When the service succeeded or failed (`SucceededOn` / `FailedOn`). */
  readonly at: string | undefined;
  /** The service's hint that another attempt may work (failures only). */
  readonly shouldRetry?: boolean;
  readonly originatesFromUpdatePolicy?: boolean;
}

const FAILURE_STATUSES: readonly FailureStatus[] = ['Unknown', 'Permanent', 'Transient', 'Exhausted'];

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return undefined;
  return JSON.stringify(value);
}

function flag(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
}

/**
 * Reads one queue message's text. The text is decoded as UTF-8 (the official Node SDK decodes ASCII and
 * mangles non-ASCII details). A message that is not a status report gives undefined: it is someone else's
 * to read, never a reason to fail the sweep.
 */
export function parseStatusMessage(
  messageText: string,
  queue: 'success' | 'failure',
): StatusReport | undefined {
  let body: unknown;
  try {
    const decoded = /^[A-Za-z0-9+/=\s]*$/.test(messageText)
      ? Buffer.from(messageText, 'base64').toString('utf8')
      : messageText;
    body = JSON.parse(decoded);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const m = body as Record<string, unknown>;
  const sourceId = text(m.IngestionSourceId);
  const database = text(m.Database);
  const table = text(m.Table);
  if (sourceId === undefined || database === undefined || table === undefined) return undefined;
  const common = {
    sourceId,
    database,
    table,
    sourcePath: text(m.IngestionSourcePath) ?? '',
    ...(text(m.OperationId) !== undefined && { operationId: text(m.OperationId) }),
  };
  if (queue === 'success') {
    const at = text(m.SucceededOn);
    return { ...common, status: 'Succeeded', at, ...(at !== undefined && { updatedOn: at }) };
  }
  const at = text(m.FailedOn);
  const rawFailure = text(m.FailureStatus);
  // A numeric FailureStatus is not documented; the enum's order is the service's (Unknown = 0).
  const failureStatus =
    FAILURE_STATUSES.find((s) => s.toLowerCase() === rawFailure?.toLowerCase()) ??
    (rawFailure !== undefined && /^\d$/.test(rawFailure)
      ? FAILURE_STATUSES[Number(rawFailure)]
      : undefined) ??
    'Unknown';
  const errorCode = text(m.ErrorCode);
  // The service's words can quote a blob URL with its SAS: redacted before anything stores or serves them.
  const details = redactOptional(text(m.Details));
  const shouldRetry = flag(m.ShouldRetry);
  const originatesFromUpdatePolicy = flag(m.OriginatesFromUpdatePolicy);
  return {
    ...common,
    status: 'Failed',
    at,
    failureStatus,
    ...(at !== undefined && { updatedOn: at }),
    ...(errorCode !== undefined && { errorCode }),
    ...(details !== undefined && { details }),
    ...(shouldRetry !== undefined && { shouldRetry }),
    ...(originatesFromUpdatePolicy !== undefined && { originatesFromUpdatePolicy }),
  };
}

/** A message received from a status queue: its report (if it is one), and how to delete or release it. */
export interface ReceivedStatusMessage {
  /** Undefined: the message is not a status report (it is left alone). */
  readonly report: StatusReport | undefined;
  readonly queue: 'success' | 'failure';
  /** The queue's message id: the same message received twice has the same id. */
  readonly messageId: string;
  readonly dequeueCount: number;
  /** Deletes the message: its report has been acted on. */
  delete(signal?: AbortSignal): Promise<void>;
}
