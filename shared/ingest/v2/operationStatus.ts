import { z } from 'zod';
import { IngestServiceError } from '../../errors';
import type { FailureStatus, IngestionStatus } from '../types';
import { blobKey, preview } from './restSubmission';

// The status of one REST submission (`GET …/queued/{db}/{table}/{operationId}?details=true`): one read
// answers for every blob of the operation. Read tolerantly: the documentation and the Java client spell
// fields differently (startTime/startedAt, lastUpdated/lastUpdateTime, Succeeded/succeeded), the docs'
// example omits sourceId on some entries and shows one that is not a GUID.

/** The state of one blob as the service words it. */
export type BlobState = 'Queued' | 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export interface BlobStatusDetail {
  readonly sourceId: string | undefined;
  readonly url: string | undefined;
  /** Undefined for a word this client does not know (then taken as still in progress). */
  readonly status: BlobState | undefined;
  readonly statusAsSent: string;
  readonly errorCode: string | undefined;
  readonly failureStatus: FailureStatus | undefined;
  readonly details: string | undefined;
  readonly lastUpdated: string | undefined;
}

export interface OperationStatus {
  readonly startTime: string | undefined;
  readonly lastUpdated: string | undefined;
  readonly counts: {
    readonly succeeded: number;
    readonly failed: number;
    readonly inProgress: number;
    readonly canceled: number;
  };
  readonly details: readonly BlobStatusDetail[];
}

const text = z.string().nullish();
const looseRecord = z.record(z.string(), z.unknown());
const operationSchema = z.object({ details: z.array(looseRecord).nullish() }).loose();

/** A field by any of its spellings, case aside. */
function field(record: Readonly<Record<string, unknown>>, ...names: string[]): unknown {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  for (const [k, v] of Object.entries(record)) if (wanted.has(k.toLowerCase())) return v;
  return undefined;
}

const str = (v: unknown): string | undefined => {
  const parsed = text.safeParse(v);
  return parsed.success && typeof parsed.data === 'string' && parsed.data !== '' ? parsed.data : undefined;
};
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

const STATES: readonly BlobState[] = ['Queued', 'InProgress', 'Succeeded', 'Failed', 'Canceled'];
const FAILURES: readonly FailureStatus[] = ['Unknown', 'Permanent', 'Transient', 'Exhausted'];
const word = <T extends string>(known: readonly T[], v: string | undefined): T | undefined =>
  known.find((k) => k.toLowerCase() === v?.toLowerCase());

/** Parses an operation's status; a body that is no status at all is a service error. */
export function parseOperationStatus(body: unknown): OperationStatus {
  const parsed = operationSchema.safeParse(body);
  if (!parsed.success || typeof body !== 'object' || body === null)
    throw new IngestServiceError(
      `The ingestion status answer is not an operation status: ${preview(body)}`,
      'BadRequest',
      200,
    );
  const record = body as Record<string, unknown>;
  const status = looseRecord.safeParse(field(record, 'status'));
  const counts = status.success ? status.data : {};
  return {
    startTime: str(field(record, 'startTime', 'startedAt')),
    lastUpdated: str(field(record, 'lastUpdated', 'lastUpdateTime')),
    counts: {
      succeeded: count(field(counts, 'succeeded')),
      failed: count(field(counts, 'failed')),
      inProgress: count(field(counts, 'inProgress')),
      canceled: count(field(counts, 'canceled', 'cancelled')),
    },
    details: (parsed.data.details ?? []).map((d) => {
      const statusAsSent = str(field(d, 'status')) ?? '';
      return {
        sourceId: str(field(d, 'sourceId')),
        url: str(field(d, 'url')),
        status: word(STATES, statusAsSent),
        statusAsSent,
        errorCode: str(field(d, 'errorCode')),
        failureStatus: word(FAILURES, str(field(d, 'failureStatus'))),
        details: str(field(d, 'details')),
        lastUpdated: str(field(d, 'lastUpdated', 'lastUpdateTime')),
      };
    }),
  };
}

/** One item of an operation: the id we gave it and the URL we submitted (its query is never compared). */
export interface OperationItem {
  readonly sourceId: string;
  readonly url: string;
}

/**
 * Each item's detail: by source id (case aside), else by URL without its query. An item the details do not
 * name yet has none.
 */
export function matchDetails(
  status: OperationStatus,
  items: readonly OperationItem[],
): Map<string, BlobStatusDetail | undefined> {
  const byId = new Map<string, BlobStatusDetail>();
  const byUrl = new Map<string, BlobStatusDetail>();
  for (const d of status.details) {
    if (d.sourceId !== undefined) byId.set(d.sourceId.toLowerCase(), d);
    if (d.url !== undefined) byUrl.set(blobKey(d.url), d);
  }
  return new Map(
    items.map((item) => [
      item.sourceId,
      byId.get(item.sourceId.toLowerCase()) ?? byUrl.get(blobKey(item.url)),
    ]),
  );
}

/**
 * One item's status in our terms: Queued and InProgress (and a word we do not know, or no detail yet) are
 * Pending; Succeeded; Failed with its code and classification, an Unknown classification taken as
 * Transient (retried within the usual bound); Canceled a permanent failure that says so.
 */
export function itemStatus(
  sourceId: string,
  operationId: string,
  detail: BlobStatusDetail | undefined,
): IngestionStatus {
  const base = {
    sourceId,
    operationId,
    ...(detail?.lastUpdated !== undefined && { updatedOn: detail.lastUpdated }),
  };
  switch (detail?.status) {
    case 'Succeeded':
      return { ...base, status: 'Succeeded' };
    case 'Failed':
      return {
        ...base,
        status: 'Failed',
        errorCode: detail.errorCode ?? 'Unknown',
        failureStatus:
          detail.failureStatus === undefined || detail.failureStatus === 'Unknown'
            ? 'Transient'
            : detail.failureStatus,
        ...(detail.details !== undefined && { details: detail.details }),
      };
    case 'Canceled':
      return {
        ...base,
        status: 'Failed',
        errorCode: 'Canceled',
        failureStatus: 'Permanent',
        details:
          detail.details ?? 'The ingestion operation was canceled (.cancel queued ingestion operation).',
      };
    default:
      return { ...base, status: 'Pending' };
  }
}
