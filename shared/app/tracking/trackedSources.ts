import { SourceTelemetry } from '../telemetry/sourceTelemetry';
import { randomUUID } from 'node:crypto';
import { classify, mayHaveBeenApplied } from '../../errors';
import { factsOf } from '../sources/kindFacts';
import { silentLogger, type Logger } from '../../log';
import type { IngestionReceipt, IngestionStatus } from '../../ingest/types';
import type { IngestCallOptions } from '../../ingest/queuedTypes';
import type { FailureReporter } from './failureReporter';
import { SuccessReporter } from './successReporter';
import type { QueuedEvidence } from './statusLookup';
import type { TrackingPersistence } from './trackingPersistence';
import {
  categoryOf,
  HISTORY_LIMIT,
  isTrackingConflict,
  TrackingConflictError,
  type AttemptEntry,
  type FailureReport,
  type NewTrackingRecord,
  type OpenEntry,
  type SourcePage,
  type SourceQuery,
  type TrackingChanges,
  type TrackingRecord,
} from './trackingRecord';

/** How long a worker holds a source it is storing or queueing (LEASE_SECONDS): far longer than any bounded retry of a step. */
export const LEASE_MS = 10 * 60_000;
/** A released lease: whoever comes next may take over at once, and knows nothing was queued. */
const RELEASED = new Date(0);

/** The plain tag of each REST submission the app sends (ingest v2), followed by the submission's id. */
export const SUBMISSION_TAG_PREFIX = 'kif-batch:';

/**
 * Tells the service about a source, with the call options `queue` gives: a message that may have been sent
 * is not sent again blindly (the lifecycle marks the source uncertain and the service's evidence decides),
 * and a REST submission is recorded on the row before it is sent (docs/lifecycle.md).
 */
export type Enqueue = (call: IngestCallOptions) => Promise<IngestionReceipt>;

/** At most this many rows whose newer version a journal write made are remembered (see `successors`). */
const SUCCESSORS_LIMIT = 10_000;

/** A source to take on. Its id is what makes a second delivery of the same data the same source. */
export type NewSource = Omit<NewTrackingRecord, 'state' | 'leaseUntil'>;

/** What `begin` found, and so what the caller does next. */
export type Begun =
  /** A new row, leased to the caller: store or queue the data. */
  | { readonly kind: 'new'; readonly record: TrackingRecord }
  /** An earlier attempt stopped before storing anything: the caller holds it now, as if new. */
  | { readonly kind: 'resumed'; readonly record: TrackingRecord }
  /** An earlier attempt stored the data but did not queue it: the caller holds it and queues what is stored. */
  | { readonly kind: 'staged'; readonly record: TrackingRecord }
  /** Another attempt holds it right now. */
  | { readonly kind: 'busy'; readonly record: TrackingRecord; readonly retryAfterMs: number }
  /** Queued or closed already. */
  | { readonly kind: 'done'; readonly record: TrackingRecord }
  /** The same id was taken on for other data (an Idempotency-Key reused with other parameters). */
  | { readonly kind: 'mismatch'; readonly record: TrackingRecord };

/** A failure to report and close on: the report is written before anything is done about it. */
export interface Failure {
  readonly event: FailureReport['event'];
  readonly finalStatus: string;
  readonly errorCode?: string | undefined;
  readonly failureStatus?: string | undefined;
  readonly details?: string | undefined;
  /** What will be done about it, for the report ('quarantined to landing-failed', 'reported'...). */
  readonly action: string;
  /** The report's key: the same key is the same report. */
  readonly key: string;
}

export interface TrackedSourcesOptions {
  readonly store: TrackingPersistence;
  readonly reporter: FailureReporter;
  /** Tells of each success (log line, webhook). @default a silent one */
  readonly successes?: SuccessReporter;
  /**
   * Told how a source of a backfill job ended, before its row is closed (so a stop repeats it; it must be
   * idempotent). @default nothing
   */
  readonly onJobSourceClosed?: (
    jobId: string,
    sourceId: string,
    outcome: 'succeeded' | 'failed',
  ) => Promise<void>;
  /**
   * What the ingestion service knows of the source: asked before queueing a source whose previous holder's
   * lease ran out, since that holder may have queued it just before it stopped.
   * @default nothing is known, so nothing is skipped
   */
  readonly wasQueued?: (record: TrackingRecord) => Promise<QueuedEvidence>;
  readonly clock?: () => number;
  readonly logger?: Logger;
  /** How long a lease lasts. A lease with less than half of this left is renewed before an enqueue. @default LEASE_MS */
  readonly leaseMs?: number;
  /** Metrics and traces of each transition. @default through the OpenTelemetry API (a no-op without an SDK) */
  readonly telemetry?: SourceTelemetry;
}

/**
 * The one owner of the tracked-source lifecycle (docs/lifecycle.md): the states, the lease, every
 * conditional write and every failure report. The HTTP push, blob references, landing events and the sweep
 * call it; none of them writes a tracking row itself.
 *
 * Invariants: a source is on the open list before its row exists and until it is closed; every enqueue
 * happens while the caller holds a lease that outlasts the enqueue; a failure is reported before it is acted
 * on (quarantined, closed), under a key that makes a repeat the same report.
 */
export class TrackedSources {
  readonly store: TrackingPersistence;
  private readonly reporter: FailureReporter;
  private readonly successes: SuccessReporter;
  private readonly onJobSourceClosed: TrackedSourcesOptions['onJobSourceClosed'];
  private readonly clock: () => number;
  private readonly wasQueued: (record: TrackingRecord) => Promise<QueuedEvidence>;
  private readonly logger: Logger;
  readonly leaseMs: number;
  readonly telemetry: SourceTelemetry;
  /**
   * Sources whose enqueue here may have been carried out, but whose row could not be marked so: their lease
   * is kept (a `release` is no release), so whoever takes over after it asks the service first.
   */
  private readonly maybeQueued = new Set<string>();
  /**
   * Writes of a row that failed in a way that may have applied them (the answer lost), by source id: the
   * row may now be the version one of them made, which a discard must recognise as its own to remove.
   */
  private readonly maybeWritten = new Map<string, Set<string>>();
  /**
   * Rows a submission journal rewrote during `queue`, by source id: the version it made, and the etags of
   * the versions it replaced. A caller that goes on with the version it had (a release or a rejection after
   * a failed enqueue) writes the newer one instead of meeting a conflict with its own journal.
   */
  private readonly successors = new Map<string, { readonly replaced: Set<string>; record: TrackingRecord }>();

  constructor(options: TrackedSourcesOptions) {
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.store = options.store;
    this.reporter = options.reporter;
    this.successes = options.successes ?? new SuccessReporter();
    this.onJobSourceClosed = options.onJobSourceClosed;
    this.clock = options.clock ?? Date.now;
    this.wasQueued = options.wasQueued ?? (() => Promise.resolve('none' as const));
    this.logger = options.logger ?? silentLogger;
    this.telemetry = options.telemetry ?? new SourceTelemetry();
  }

  get(sourceId: string): Promise<TrackingRecord | undefined> {
    return this.store.get(sourceId);
  }

  /** Ids of every open source, with when each was listed. */
  openEntries() {
    return this.store.openEntries();
  }

  /** Whether someone holds the row right now. */
  isLeased(record: TrackingRecord): boolean {
    return record.leaseUntil !== undefined && record.leaseUntil.getTime() > this.clock();
  }

  /**
   * Takes a source on: inserts its row, leased to the caller, or says what an earlier attempt left. The
   * open-list entry is written first, so a row never exists unlisted (the sweep would never see it).
   */
  async begin(source: NewSource): Promise<Begun> {
    const now = new Date(this.clock());
    const trace = this.telemetry.startAccept(source);
    await this.store.markOpen(source.sourceId, now);
    // Twice at most: a row removed between the insert and the read (a refused attempt) means start afresh.
    for (let attempt = 0; attempt < 2; attempt++) {
      const writeId = randomUUID();
      const inserted = await this.store.insert({
        ...source,
        state: 'queuing',
        leaseUntil: this.leaseFrom(now),
        createdOn: now,
        updatedOn: now,
        requeueCount: 0,
        writeId,
        traceParent: trace.traceParent,
      });
      // Our own insert, applied, whose answer was lost, is found by the read: it is new, and ours.
      const existing = inserted ? undefined : await this.store.get(source.sourceId);
      const ours = inserted ?? (existing?.writeId === writeId ? existing : undefined);
      if (ours) {
        await this.indexQuietly(ours);
        trace.accepted();
        return { kind: 'new', record: ours };
      }
      if (existing) {
        const begun = await this.resume(existing, source);
        if (begun.kind === 'done' || begun.kind === 'busy') trace.duplicate();
        return begun;
      }
    }
    throw new TrackingConflictError(source.sourceId);
  }

  private async resume(existing: TrackingRecord, source: NewSource): Promise<Begun> {
    if (existing.fingerprint !== source.fingerprint) return { kind: 'mismatch', record: existing };
    if (this.isLeased(existing))
      return {
        kind: 'busy',
        record: existing,
        retryAfterMs: (existing.leaseUntil?.getTime() ?? 0) - this.clock(),
      };
    if (
      existing.state === 'closed' &&
      existing.finalStatus === 'Abandoned' &&
      existing.blobPath === undefined
    )
      // An earlier attempt stopped before anything of it was stored, and was closed for it: nothing of it
      // exists to ingest or to answer for, so this attempt's data is taken (as after a refusal).
      return { kind: 'resumed', record: await this.reopen(existing, 'queuing', 'abandoned attempt resumed') };
    if (existing.state === 'queued' || existing.state === 'closed') return { kind: 'done', record: existing };
    if (existing.reportedFailure !== undefined) return { kind: 'done', record: existing }; // being rejected
    const taken = await this.takeOver(existing, { ...source, state: existing.state });
    if (taken === 'queued')
      return { kind: 'done', record: (await this.store.get(source.sourceId)) ?? existing };
    return { kind: taken.state === 'uploaded' ? 'staged' : 'resumed', record: taken };
  }

  /**
   * Takes over a row whose holder is gone. A holder whose lease ran out (it stopped; it did not release)
   * may have queued the source just before: if the service knows it, the row is marked queued instead, and
   * 'uncertain' while its status is Pending (the message may not have been sent: the sweep queues it again
   * if it stays Pending past the stale limit).
   */
  async takeOver(record: TrackingRecord, changes: TrackingChanges = {}): Promise<TrackingRecord | 'queued'> {
    const released = record.leaseUntil?.getTime() === RELEASED.getTime();
    const evidence = released ? 'none' : await this.wasQueued(record);
    if (evidence !== 'none') {
      await this.update(record, {
        state: 'queued',
        leaseUntil: undefined,
        uncertain: evidence === 'pending',
      });
      this.logger.warn(
        JSON.stringify({ event: 'TrackingRecovered', sourceId: record.sourceId, state: 'queued', evidence }),
      );
      return 'queued';
    }
    await this.store.markOpen(record.sourceId, new Date(this.clock())); // in case an earlier listing failed
    return this.claim(record, changes);
  }

  /** Records where the data was stored; the lease is renewed in the same write, ready for the enqueue. */
  stage(record: TrackingRecord, staged: { blobPath: string; rawDataSize?: number | undefined }) {
    return this.claim(record, {
      state: 'uploaded',
      blobPath: staged.blobPath,
      rawDataSize: staged.rawDataSize,
    });
  }

  /**
   * Queues the source with `enqueue` while holding its lease (renewed first if little of it is left), then
   * marks it queued. If `enqueue` fails in a way that may have queued it anyway, the source is marked queued
   * but uncertain; any other failure leaves the row as it was, for the caller to release or discard.
   */
  async queue(record: TrackingRecord, enqueue: Enqueue): Promise<TrackingRecord> {
    let held =
      (record.leaseUntil?.getTime() ?? 0) - this.clock() < this.leaseMs / 2
        ? await this.claim(record)
        : record;
    if (held !== record) this.succeeded(record, held); // a failure below leaves the caller with `record`
    // Tags whose journal write may have been applied though it seemed to fail: the client never sends them.
    const unsent = new Set<string>();
    let receipt: IngestionReceipt;
    try {
      receipt = await enqueue({
        ambiguousEnqueue: 'throw',
        // The app reads a source's status by what its receipt names: a status row (v1) or an operation (v2).
        reportingOnV1Only: true,
        journal: {
          tagPrefix: SUBMISSION_TAG_PREFIX,
          // Written before the submission goes: a taker who finds it without an operation knows the
          // submission may have been accepted, and asks its extents (docs/lifecycle.md, 'The app on v2').
          beforeSubmit: async (_id, tag) => {
            try {
              const journaled = await this.update(held, { submission: tag, operation: undefined });
              this.succeeded(held, journaled);
              held = journaled;
            } catch (e) {
              if (mayHaveBeenApplied(e)) unsent.add(tag);
              throw e;
            }
          },
        },
      });
    } catch (e) {
      if (!mayHaveBeenApplied(e)) {
        await this.clearUnsent(held, unsent);
        throw e;
      }
      // Sent or not, nobody can tell now: the service's evidence will. Queued, uncertain: the sweep reads its
      // status (its status row on v1, its submission's extents on v2), and queues it again only if it stays
      // unknown past the stale limit.
      this.logger.warn(
        JSON.stringify({ event: 'EnqueueUncertain', sourceId: held.sourceId, message: (e as Error).message }),
      );
      // Until the row says so, the lease stays: a release now would tell the next taker that nothing was
      // queued, and it would queue again.
      this.maybeQueued.add(held.sourceId);
      const uncertain = await this.update(held, {
        state: 'queued',
        uncertain: true,
        operation: undefined,
        leaseUntil: undefined,
      });
      this.maybeQueued.delete(held.sourceId);
      this.successors.delete(held.sourceId);
      this.telemetry.queued(uncertain, this.clock());
      return uncertain;
    }
    this.telemetry.queued(held, this.clock());
    try {
      return await this.update(held, {
        state: 'queued',
        statusTableUrl: receipt.statusTable?.tableUrl,
        operation: receipt.operation,
        leaseUntil: undefined,
      });
    } catch (e) {
      // It is queued: whatever changed the row since, the sweep reads the status by the source id.
      this.logger.warn(
        JSON.stringify({
          event: 'TrackingUpdateFailed',
          sourceId: held.sourceId,
          after: 'enqueue',
          message: (e as Error).message,
        }),
      );
      return { ...held, state: 'queued' };
    } finally {
      this.successors.delete(held.sourceId);
    }
  }

  /**
   * After an enqueue that surely sent nothing: a journal write whose answer was lost may still have been
   * applied, and then the row names a submission that no extent will ever carry, so whoever takes it over
   * would wait out the stale limit for evidence of it. When the row is that very write's version, the
   * submission is taken off it (conditionally), and the caller's release or rejection goes on from there.
   * Any doubt leaves the row as it is: the stale limit then settles it, slowly but safely.
   */
  private async clearUnsent(held: TrackingRecord, unsent: ReadonlySet<string>): Promise<void> {
    const lost = this.maybeWritten.get(held.sourceId);
    if (unsent.size === 0 || !lost) return;
    const now = await this.store.get(held.sourceId).catch(() => undefined);
    if (!now?.writeId || !lost.has(now.writeId) || !unsent.has(now.submission ?? '')) return;
    try {
      this.succeeded(held, await this.update(now, { submission: undefined }));
      this.logger.warn(
        JSON.stringify({
          event: 'UnsentSubmissionCleared',
          sourceId: held.sourceId,
          submission: now.submission,
        }),
      );
    } catch (e) {
      this.warn(held, 'clearing an unsent submission', e);
    }
  }

  /** Remembers that `newer` replaced `older` (a renewal or a journal), for a caller still holding `older`. */
  private succeeded(older: TrackingRecord, newer: TrackingRecord): void {
    const known = this.successors.get(older.sourceId);
    const replaced = known?.replaced ?? new Set<string>();
    replaced.add(older.etag);
    this.successors.delete(older.sourceId);
    if (this.successors.size >= SUCCESSORS_LIMIT) {
      const oldest = this.successors.keys().next();
      if (!oldest.done) this.successors.delete(oldest.value);
    }
    this.successors.set(older.sourceId, { replaced, record: newer });
  }

  /** The newest version of the row this process wrote in place of `record`, else `record` itself. */
  private newest(record: TrackingRecord): TrackingRecord {
    const known = this.successors.get(record.sourceId);
    if (!known?.replaced.has(record.etag)) return record;
    this.successors.delete(record.sourceId);
    return known.record;
  }

  /** A page of the listing (by database, table, category and time, newest first): the operator's reads. */
  listSources(query: SourceQuery): Promise<SourcePage> {
    return this.store.listSources(query);
  }

  /**
   * Gives the lease up after a failure here, so a retry may take over at once, without asking the service:
   * a released row says nothing was queued. So after an enqueue that may have been carried out and could
   * not be recorded, nothing is released: the lease runs out, and whoever takes over asks first. Never throws.
   */
  async release(record: TrackingRecord): Promise<void> {
    if (this.maybeQueued.delete(record.sourceId)) {
      this.logger.warn(
        JSON.stringify({
          event: 'LeaseKept',
          sourceId: record.sourceId,
          reason: 'an enqueue may have happened',
        }),
      );
      return;
    }
    await this.update(record, { leaseUntil: RELEASED }).catch((e: unknown) =>
      this.warn(record, 'release', e),
    );
  }

  /**
   * Forgets a source that was refused before anything of it was queued: the row goes (an Idempotency-Key is
   * free for a corrected retry), and so does its open-list entry. Not after an enqueue that may have been
   * carried out and could not be recorded: that source may be on its way, so it is kept (its lease held, for
   * whoever takes over to ask the service) and 'kept' says the caller must answer it as taken on, not
   * refused. Never throws.
   */
  async discard(given: TrackingRecord): Promise<'discarded' | 'kept'> {
    const record = this.newest(given);
    if (this.maybeQueued.delete(record.sourceId)) {
      this.logger.warn(
        JSON.stringify({
          event: 'LeaseKept',
          sourceId: record.sourceId,
          reason: 'an enqueue may have happened: kept, not discarded',
        }),
      );
      return 'kept';
    }
    const lost = this.maybeWritten.get(record.sourceId);
    this.maybeWritten.delete(record.sourceId);
    let removed = false;
    try {
      try {
        await this.store.remove(record);
      } catch (e) {
        if (!isTrackingConflict(e) || !lost) throw e;
        // Changed since: by a write of ours whose answer was lost (the row names the write that made it)?
        const now = await this.store.get(record.sourceId);
        if (now && !(now.writeId !== undefined && lost.has(now.writeId))) throw e;
        if (now) await this.store.remove(now);
      }
      removed = true;
      await this.store.unindexSource(record);
      await this.store.unmarkOpen(record.sourceId);
    } catch (e) {
      this.warn(record, 'discard', e);
      if (!removed) {
        // The row stands (a write of ours may have changed it, or storage refused the removal): the sweep
        // will go on from it, queueing what it holds or reporting it abandoned, so the source is taken on,
        // not refused. A refusal now would leave behind a source that is later ingested or reported.
        this.logger.warn(
          JSON.stringify({
            event: 'LeaseKept',
            sourceId: record.sourceId,
            reason: lost
              ? 'a write of its row may have been applied and could not be undone: kept, not discarded'
              : 'its row could not be removed: kept, not discarded',
          }),
        );
        return 'kept';
      }
    }
    this.telemetry.rejected(record, 'refused before queueing');
    return 'discarded';
  }

  /** Closes a source that was ingested by streaming (nothing was queued), and tells of it. */
  async closeStreamed(record: TrackingRecord): Promise<TrackingRecord> {
    await this.reportSuccess(record, 'streamed', 'none');
    const closed = await this.close(record, {
      finalStatus: 'Succeeded',
      details: 'streamed',
      leaseUntil: undefined,
      history: this.noted(record, { outcome: 'Succeeded', details: 'streamed' }),
    });
    this.telemetry.succeeded(closed, this.clock());
    return closed;
  }

  /**
   * Closes a source the service reports as done: acts on it first (`act`: what becomes of a landing blob,
   * saying what it did), then tells of it, then closes it. A stop anywhere before the close repeats the
   * three, each of which tolerates a repeat (the act finds its work done; the report has one key).
   */
  async succeed(
    record: TrackingRecord,
    status: IngestionStatus,
    act?: () => Promise<string>,
  ): Promise<TrackingRecord> {
    const action = act ? await act() : 'none';
    await this.reportSuccess(record, status.details, action);
    const closed = await this.close(record, {
      finalStatus: status.status,
      details: status.details,
      history: this.noted(record, { outcome: status.status, details: action }),
    });
    this.telemetry.succeeded(closed, this.clock());
    return closed;
  }

  /**
   * Reports a failure, then acts on it (`act`: a quarantine), then closes the source. The report comes first
   * and is marked on the row, so a stop anywhere after it repeats no report and loses none.
   */
  async fail(record: TrackingRecord, given: Failure, act?: () => Promise<void>): Promise<TrackingRecord> {
    // One report per attempt: a source reopened (an operator's retry, a keyed retry after an abandoned
    // attempt) that fails again is a new report, not a repeat of the first attempt's.
    const failure =
      record.requeueCount > 0 && !/-\d+$/.test(given.key)
        ? { ...given, key: `${given.key}-${record.requeueCount}` }
        : given;
    await this.report(record, failure);
    const fields = {
      errorCode: failure.errorCode,
      failureStatus: failure.failureStatus,
      details: failure.details,
    };
    const marked =
      record.reportedFailure === failure.key
        ? record
        : await this.update(record, { ...fields, reportedFailure: failure.key });
    await act?.();
    const closed = await this.close(marked, {
      ...fields,
      finalStatus: failure.finalStatus,
      leaseUntil: undefined,
      history: this.noted(marked, { outcome: failure.finalStatus, ...fields }),
    });
    this.telemetry.failed(closed, failure, this.clock());
    return closed;
  }

  /**
   * Queues a failed source again as a new attempt: the attempt is counted and leased before the enqueue, so
   * two sweeps never both queue it; the failure is reported as re-queued first. The claim also moves the row
   * back to where its kind is queued from (stored, not queued), as an operator's retry does: `queued` would
   * name the last attempt's status, which says nothing of this one (on v2 there is none to read at all), so
   * a stop before the enqueue, or an enqueue that surely sent nothing, would leave it Pending for ever. From
   * there the sweep's redrive sends this same attempt, after asking the service whether it went (`takeOver`).
   */
  async requeue(
    record: TrackingRecord,
    status: IngestionStatus,
    maxAttempts: number,
    enqueue: Enqueue,
  ): Promise<TrackingRecord> {
    const attempt = record.requeueCount + 1;
    const fields = {
      errorCode: status.errorCode,
      failureStatus: status.failureStatus,
      details: status.details,
    };
    await this.report(record, {
      event: 'IngestionRequeued',
      finalStatus: status.status,
      ...fields,
      action: `requeued (attempt ${attempt} of ${maxAttempts})`,
      key: `requeue-${attempt}`,
    });
    this.telemetry.requeued(record, status.errorCode);
    const claimed = await this.claim(record, {
      state: factsOf(record).reopenAs,
      requeueCount: attempt,
      stuckReported: false,
      uncertain: false,
      operation: undefined,
      submission: undefined,
      ...fields,
      history: this.noted(record, { outcome: 'requeued', ...fields }),
    });
    try {
      return await this.queue(claimed, enqueue);
    } catch (e) {
      if (!this.maybeQueued.has(claimed.sourceId))
        this.logger.warn(
          JSON.stringify({
            event: 'RequeueNotSent',
            sourceId: claimed.sourceId,
            attempt,
            state: claimed.state,
          }),
        );
      await this.release(claimed);
      throw e;
    }
  }

  /**
   * An operator's retry of a source that ended in failure, under the same source id, as its next attempt:
   * the row is reopened (listed, leased, its failure cleared and kept in the history), then queued with
   * `enqueue`. If the enqueue fails, the lease is released and the sweep queues what is stored.
   */
  async retry(record: TrackingRecord, enqueue: Enqueue): Promise<TrackingRecord> {
    // Where the sweep would pick it up if this stops: a landing (or backfilled) blob is routed and queued
    // again, a staged push queued from its temp blob.
    const reopened = await this.reopen(record, factsOf(record).reopenAs);
    this.telemetry.retried(reopened);
    try {
      return await this.queue(reopened, enqueue);
    } catch (e) {
      await this.release(reopened);
      throw e;
    }
  }

  /**
   * Opens a closed source again as its next attempt: listed, leased to the caller, its outcome cleared (and
   * kept in the history), counted, so its reports have new keys.
   */
  private async reopen(
    record: TrackingRecord,
    state: 'queuing' | 'uploaded',
    details?: string,
  ): Promise<TrackingRecord> {
    await this.store.markOpen(record.sourceId, new Date(this.clock()));
    const reopened = await this.claim(record, {
      state,
      requeueCount: record.requeueCount + 1,
      finalStatus: undefined,
      errorCode: undefined,
      failureStatus: undefined,
      details: undefined,
      reportedFailure: undefined,
      stuckReported: false,
      uncertain: false,
      // A new attempt: what the service was told of the last one says nothing of this one.
      operation: undefined,
      submission: undefined,
      history: this.noted(record, { outcome: 'retried', ...(details !== undefined && { details }) }),
    });
    await this.indexQuietly(reopened);
    return reopened;
  }

  /** Records on a closed source that an operator's retry made it a new source (a new blob version). */
  async retriedAs(record: TrackingRecord, newSourceId: string): Promise<TrackingRecord> {
    const updated = await this.update(record, {
      retriedAs: newSourceId,
      history: this.noted(record, { outcome: 'retried', details: `as ${newSourceId}` }),
    });
    await this.indexQuietly(updated); // the listing no longer offers it for a retry
    return updated;
  }

  /** Reports a source still pending past the stale limit, once per attempt. */
  async reportStuck(record: TrackingRecord, details: string): Promise<TrackingRecord> {
    await this.report(record, {
      event: 'IngestionStuck',
      finalStatus: 'Pending',
      details,
      action: 'reported',
      key: `stuck-${record.requeueCount}`,
    });
    this.telemetry.stuck(record);
    return this.update(record, { stuckReported: true });
  }

  /**
   * Gives up on a source the sweep cannot process (its storage calls fail for good, or keep failing): one
   * report (`IngestionUnresolved`, an error: its data may or may not have been ingested, so it is neither
   * retried nor called failed), then its row closed as `Unresolved` if the row can still be written, and in
   * any case its entry taken off the open list, so no sweep tries it again. The report comes first: a stop
   * after it repeats none.
   */
  async giveUp(
    sourceId: string,
    record: TrackingRecord | undefined,
    cause: { readonly code: string; readonly message: string },
    sweeps: number,
  ): Promise<void> {
    const details = `The sweep could not process this source (${sweeps} sweeps in a row failed on it): ${cause.code}: ${cause.message}. It is closed unresolved; its data may or may not have been ingested: check the table before sending it again.`;
    await this.reporter.report({
      event: 'IngestionUnresolved',
      sourceId,
      database: record?.database ?? '',
      table: record?.table ?? '',
      source: record ? sourceOf(record) : '',
      errorCode: 'SweepFailed',
      failureStatus: 'Unknown',
      details,
      action: 'closed unresolved',
      key: 'unresolved',
      at: new Date(this.clock()),
    });
    if (record && record.state !== 'closed') {
      const fields = { errorCode: 'SweepFailed', failureStatus: 'Unknown', details };
      await this.close(record, {
        ...fields,
        finalStatus: 'Unresolved',
        leaseUntil: undefined,
        reportedFailure: 'unresolved',
        history: this.noted(record, { outcome: 'Unresolved', ...fields }),
      }).catch((e: unknown) => this.warn(record, 'close unresolved', e));
    }
    await this.store.unmarkOpen(sourceId);
    if (record)
      this.telemetry.failed(
        record,
        { errorCode: 'SweepFailed', failureStatus: 'Unknown', finalStatus: 'Unresolved' },
        this.clock(),
      );
  }

  /** Counts a sweep that failed on a source, on its open entry; quietly (the next sweep counts again). */
  async noteSweepError(entry: OpenEntry, errors: number, first: Date): Promise<void> {
    await this.store.noteSweepError(entry, errors, first).catch((e: unknown) =>
      this.logger.warn(
        JSON.stringify({
          event: 'TrackingUpdateFailed',
          sourceId: entry.sourceId,
          after: 'sweep error',
          message: classify(e).message,
        }),
      ),
    );
  }

  /** Ends what a stop between the writes of a close left: closed, but still listed (its index row too). */
  async finishClose(sourceId: string, record?: TrackingRecord): Promise<void> {
    if (record) await this.indexClosed(record);
    await this.store.unmarkOpen(sourceId);
  }

  /** The row, its listing row, then off the open list: a stop in between is finished by the sweep. */
  private async close(record: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    if (record.jobId !== undefined && this.onJobSourceClosed) {
      const category = categoryOf({ state: 'closed', finalStatus: changes.finalStatus });
      await this.onJobSourceClosed(
        record.jobId,
        record.sourceId,
        category === 'succeeded' ? 'succeeded' : 'failed',
      );
    }
    const closed = await this.update(record, { ...changes, state: 'closed' });
    await this.indexClosed(closed);
    await this.store.unmarkOpen(record.sourceId);
    return closed;
  }

  private async indexClosed(record: TrackingRecord): Promise<void> {
    await this.store.indexSource(record).catch((e: unknown) => {
      // An outage: stop here, and the sweep's finishClose writes it again. A row storage refuses for good
      // must not keep the source open forever: the listing misses it, the tracking row stays true.
      if (classify(e).transient) throw e;
      this.warn(record, 'index', e);
    });
  }

  /** The history with one more entry for the record's current attempt. */
  private noted(
    record: TrackingRecord,
    entry: Omit<AttemptEntry, 'at' | 'attempt'>,
  ): readonly AttemptEntry[] {
    const details = entry.details?.slice(0, 500);
    const next: AttemptEntry = {
      at: new Date(this.clock()).toISOString(),
      attempt: record.requeueCount + 1,
      outcome: entry.outcome,
      ...(entry.errorCode !== undefined && { errorCode: entry.errorCode }),
      ...(details !== undefined && { details }),
    };
    return [...(record.history ?? []), next].slice(-HISTORY_LIMIT);
  }

  /** The listing's row is derived: a failed write is repaired at the close, so it never fails a step. */
  private async indexQuietly(record: TrackingRecord): Promise<void> {
    await this.store.indexSource(record).catch((e: unknown) => this.warn(record, 'index', e));
  }

  private reportSuccess(record: TrackingRecord, details: string | undefined, action: string): Promise<void> {
    return this.successes.report({
      event: 'IngestionSucceeded',
      sourceId: record.sourceId,
      kind: record.kind,
      database: record.database,
      table: record.table,
      source: sourceOf(record),
      details,
      action,
      key: 'succeeded',
      at: new Date(this.clock()),
    });
  }

  private report(record: TrackingRecord, failure: Failure): Promise<void> {
    return this.reporter.report({
      event: failure.event,
      sourceId: record.sourceId,
      database: record.database,
      table: record.table,
      source: sourceOf(record),
      errorCode: failure.errorCode,
      failureStatus: failure.failureStatus,
      details: failure.details,
      action: failure.action,
      key: failure.key,
      at: new Date(this.clock()),
    });
  }

  /** Takes (or renews) the lease, conditionally: whoever wins may store or queue the source next. */
  private claim(record: TrackingRecord, changes: TrackingChanges = {}): Promise<TrackingRecord> {
    return this.update(record, { ...changes, leaseUntil: this.leaseFrom(new Date(this.clock())) });
  }

  private async update(given: TrackingRecord, changes: TrackingChanges): Promise<TrackingRecord> {
    const record = this.newest(given);
    const { etag: _etag, ...current } = record;
    const writeId = randomUUID();
    try {
      return await this.store.replace(record, {
        ...current,
        ...changes,
        updatedOn: new Date(this.clock()),
        writeId,
      });
    } catch (e) {
      if (!isTrackingConflict(e)) {
        if (mayHaveBeenApplied(e)) {
          const lost = this.maybeWritten.get(record.sourceId) ?? new Set<string>();
          this.maybeWritten.set(record.sourceId, lost.add(writeId));
        }
        throw e;
      }
      // Changed by someone else, or by this very write whose answer was lost: the row tells which.
      const now = await this.store.get(record.sourceId);
      if (now?.writeId === writeId) return now;
      throw e;
    }
  }

  private leaseFrom(now: Date): Date {
    return new Date(now.getTime() + this.leaseMs);
  }

  private warn(record: TrackingRecord, step: string, e: unknown): void {
    if (isTrackingConflict(e)) return; // someone else moved it on: nothing left to undo
    this.logger.warn(
      JSON.stringify({
        event: 'TrackingUpdateFailed',
        sourceId: record.sourceId,
        after: step,
        message: (e as Error).message,
      }),
    );
  }
}

/** The blob or push a report names, without SAS. */
export function sourceOf(record: TrackingRecord): string {
  return record.sourceUrl ?? record.blobPath ?? `push ${record.sourceId}`;
}
