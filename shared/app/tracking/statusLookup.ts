import { isNotFound } from '../../errors';
import type { QueuedIngestClient } from '../../ingest/queuedIngestClient';
import type { IngestionReceipt, IngestionStatus } from '../../ingest/types';
import type { AttemptEntry, TrackingRecord } from './trackingRecord';

/** What a status lookup of a tracked source asks the ingest client for: its status row, or its id alone. */
export function statusLookup(record: TrackingRecord): IngestionReceipt | string {
  if (record.operation)
    return {
      sourceId: record.sourceId,
      database: record.database,
      table: record.table,
      flavor: 'queued',
      status: 'Pending',
      operation: record.operation,
    };
  if (!record.statusTableUrl) return record.sourceId;
  return {
    sourceId: record.sourceId,
    database: record.database,
    table: record.table,
    flavor: 'queued',
    status: 'Pending',
    statusTable: { tableUrl: record.statusTableUrl, partitionKey: record.sourceId, rowKey: record.sourceId },
  };
}

/** The service's status of a queued source; Pending while its status row is not there yet. */
export async function readStatus(
  ingest: Pick<QueuedIngestClient, 'getIngestionStatus'>,
  record: TrackingRecord,
): Promise<IngestionStatus> {
  try {
    return await ingest.getIngestionStatus(statusLookup(record));
  } catch (e) {
    if (isNotFound(e)) return { sourceId: record.sourceId, status: 'Pending' };
    throw e;
  }
}

/**
 * What the service knows of the attempt a stopped worker may have queued: nothing (no status row; one last
 * written before this attempt began; or one still holding the failure the last attempt ended with: this one
 * was not queued, or failed the same way), its final status (it was queued and processed), or 'pending' (the
 * row is written just before the message, so the message may or may not have been sent).
 */
export type QueuedEvidence = 'none' | 'processed' | 'pending';

export async function queuedEvidence(
  ingest: Pick<QueuedIngestClient, 'getIngestionStatus'>,
  record: Pick<TrackingRecord, 'sourceId' | 'requeueCount' | 'history'>,
): Promise<QueuedEvidence> {
  let status: IngestionStatus;
  try {
    status = await ingest.getIngestionStatus(record.sourceId);
  } catch (e) {
    if (isNotFound(e)) return 'none';
    throw e;
  }
  // This attempt's client writes its Pending row before the message, so a row storage last wrote before this
  // attempt began is an earlier attempt's, whatever it says (a PartiallySucceeded an operator retried, say):
  // this attempt's message was not sent.
  if (writtenBefore(status.rowWrittenOn, attemptBegan(record))) return 'none';
  if (status.status === 'Pending' || status.status === 'Queued') return 'pending';
  // A status row is keyed by the source id, so a new attempt's row is the last attempt's until its client
  // writes Pending over it, just before the message. Still the failure the last attempt ended with: this
  // attempt's message was not sent, or it was and failed the same way. A failed attempt ingested nothing, so
  // sending it is right either way; taken as processed, it would be counted, or failed, and never sent.
  const failure = status.status === 'Failed' ? status.errorCode : undefined;
  return failure !== undefined && failure === previousFailure(record) ? 'none' : 'processed';
}

/**
 * How far apart the app's clock and storage's may be: a row is taken as older than an attempt only when
 * storage stamped it this long before the attempt began by the app's clock. An attempt begins when the
 * operator or the sweep starts it, rarely within minutes of the last attempt's end; within this margin the
 * other rules decide.
 */
export const CLOCK_SKEW_MARGIN_MS = 5 * 60_000;

function writtenBefore(rowWrittenOn: string | undefined, began: number | undefined): boolean {
  if (rowWrittenOn === undefined || began === undefined) return false;
  const written = Date.parse(rowWrittenOn);
  return !Number.isNaN(written) && written < began - CLOCK_SKEW_MARGIN_MS;
}

/**
 * The history's entries under the previous attempt's number, newest first: how it ended, then the claim
 * that began this attempt (a requeue's or an operator's retry notes the last attempt's end under its number,
 * which is the count of attempts before this one). None for a first attempt.
 */
function previousAttemptEntries(record: Pick<TrackingRecord, 'requeueCount' | 'history'>): AttemptEntry[] {
  const previous = record.requeueCount;
  const found: AttemptEntry[] = [];
  if (previous === 0) return found;
  const entries = record.history ?? [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i];
    if (!entry || entry.attempt < previous) break;
    if (entry.attempt === previous) found.push(entry);
  }
  return found;
}

/** When this attempt began, by the app's clock: the newest entry under the previous attempt's number. */
function attemptBegan(record: Pick<TrackingRecord, 'requeueCount' | 'history'>): number | undefined {
  const began = previousAttemptEntries(record)[0];
  const at = began ? Date.parse(began.at) : NaN;
  return Number.isNaN(at) ? undefined : at;
}

/** The error code the previous attempt ended with, as the history noted it when this attempt began. */
function previousFailure(record: Pick<TrackingRecord, 'requeueCount' | 'history'>): string | undefined {
  return previousAttemptEntries(record).find((e) => e.errorCode !== undefined)?.errorCode;
}

/**
 * What a taker asks before queueing a source whose holder stopped (TrackedSourcesOptions.wasQueued). A REST
 * submission (v2) is recorded on the row before it is sent, so a recorded one may have been accepted:
 * 'pending', and the sweep settles it by the submission's extents. Otherwise the v1 status row says, where
 * there is one (STATUS_MODE table); with queue reports nothing can, so 'pending' too.
 */
export function queuedEvidenceRule(
  statusMode: 'table' | 'queue' | 'failures-only',
  ingest: Pick<QueuedIngestClient, 'getIngestionStatus'>,
): (record: TrackingRecord) => Promise<QueuedEvidence> {
  return (record) =>
    record.submission === undefined && statusMode === 'table'
      ? queuedEvidence(ingest, record)
      : Promise.resolve('pending');
}
