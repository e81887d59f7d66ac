import type { IngestionStatus } from '../../ingest/types';
import type { Enqueue } from '../tracking/trackedSources';
import type { Logger } from '../../log';
import type { SourcePorts } from '../ports';
import type { SourceKind, TrackingRecord } from '../tracking/trackingRecord';

/**
 * What differs from one kind of source to another, in one place per kind (docs/architecture.md, 'Kinds of
 * source'): the sweep, `settle`, retry and the take-on paths look the kind up (`policyOf`) and never branch
 * on it themselves. A new kind is one file implementing this, one line in registry.ts and its facts in
 * kindFacts.ts.
 */
export interface SourceKindPolicy {
  readonly kind: SourceKind;
  /** How to queue it again from what is stored of it; undefined when nothing the app keeps can queue it. */
  enqueueStored(ctx: SourcePorts, record: TrackingRecord): Enqueue | undefined;
  /** Whether its stored data is still the version the source names (not overwritten, deleted, cleaned up). */
  stillStored(ctx: SourcePorts, record: TrackingRecord): Promise<boolean>;
  /** Where it would go today: routed again under today's settings before anything queues it again. */
  routeToday(ctx: SourcePorts, record: TrackingRecord): Promise<RouteToday>;
  /**
   * What becomes of its data once it failed for good (the service failed it, or the app rejected it): the
   * report's action, and the act that does it (a landing blob's quarantine) if any.
   */
  whenFailed(ctx: SourcePorts, record: TrackingRecord, failure: FailureCause): FailureHandling;
  /** What becomes of its data once it was ingested: an act that says what it did, or nothing. */
  whenIngested(ctx: SourcePorts, record: TrackingRecord): (() => Promise<string>) | undefined;
  /** An operator's retry of it, once it failed and its cause was fixed. */
  retry(ctx: SourcePorts, log: Logger, record: TrackingRecord): Promise<RetryOutcome>;
  /** The sweep's turn at a source stored (or taken on) but not queued, whose holder is gone. */
  redrive(ctx: SourcePorts, log: Logger, record: TrackingRecord): Promise<RedriveOutcome>;
  /**
   * The service's word on several of its sources at once, in their order (ingest v2 answers one operation
   * for up to 20 sources; queued ingestion reads one status row each).
   */
  readStatuses(ctx: SourcePorts, records: readonly TrackingRecord[]): Promise<IngestionStatus[]>;
}

/** Why a source failed for good. */
export interface FailureCause {
  readonly code: string;
  readonly message: string;
  /** The app refused it before queueing (routing, validation) rather than the service failing it. */
  readonly rejected: boolean;
  /** The failure will not go away by trying again (every rejection; a service's Permanent failure). */
  readonly permanent: boolean;
}

export interface FailureHandling {
  /** What the report says was done about it. */
  readonly action: string;
  /** Does it, after the report is written (a quarantine). */
  readonly act?: (() => Promise<void>) | undefined;
  /** Whether `act` quarantines it (counted and measured as such). */
  readonly quarantines: boolean;
}

/** Where a stored source goes today, or why it may not go anywhere: routed again under today's settings. */
export type RouteToday =
  | { readonly kind: 'same' }
  | { readonly kind: 'refused'; readonly code: string; readonly why: string }
  | { readonly kind: 'changed'; readonly why: string }
  /** The blob is no longer the version the source names. */
  | { readonly kind: 'gone' };

/** What the sweep's redrive came to. */
export type RedriveOutcome =
  | { readonly outcome: 'queued' }
  /** Taken on again, and refused (reported as a rejection by the take-on). */
  | { readonly outcome: 'rejected' }
  /** Found done or under way meanwhile (a delivery took it), or skipped as not data: nothing to do. */
  | { readonly outcome: 'unchanged' }
  /** Nothing it stored can be queued: its data is gone, or it never stored any (the caller closes it). */
  | { readonly outcome: 'not stored'; readonly details: string };

/** What an operator's retry did, for the HTTP adapter to answer. */
export type RetryOutcome =
  /** Queued again: under the same source id, or (a quarantined landing blob) as a new blob version. */
  | { readonly kind: 'retried'; readonly sourceId: string; readonly replaces?: string }
  | { readonly kind: 'notFound' }
  /** Not in a final failed state (open, succeeded, abandoned, or retried already). */
  | {
      readonly kind: 'notFailed';
      readonly state: string;
      readonly finalStatus: string | undefined;
      readonly why: string;
    }
  /** Its data is gone: `StagedBlobGone` (a push's temp blob), `SourceGone` (a landing blob). */
  | { readonly kind: 'gone'; readonly code: 'StagedBlobGone' | 'SourceGone'; readonly why: string }
  /** It cannot be queued again from what the app keeps (a blob reference keeps no SAS). */
  | { readonly kind: 'notRetryable'; readonly code: string; readonly why: string }
  /** Moving it back would overwrite a blob uploaded at its path since; or routing now sends it elsewhere. */
  | { readonly kind: 'conflict'; readonly code: 'LandingBlobExists' | 'RouteChanged'; readonly why: string }
  /** Today's settings refuse where it goes (ALLOWED_DATABASES, the rules): nothing was queued. */
  | { readonly kind: 'refused'; readonly code: string; readonly why: string };
