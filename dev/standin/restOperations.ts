import { randomUUID } from 'node:crypto';
import { StandinHttpError } from './http';

/**
 * The REST queued-ingestion operations the stand-in's DM accepted (ingest v2): each submission becomes one
 * operation whose blobs are ingested by the same worker as v1 messages (the DM posts one internal message
 * per blob); the worker settles each blob here, and the status endpoint reads it. Kept in memory: a
 * restarted stand-in forgets its operations, and reads of them answer 404 (docs/standin.md says so).
 */

export type RestBlobState = 'Queued' | 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

interface RestBlob {
  readonly sourceId: string;
  readonly url: string;
  state: RestBlobState;
  startTime: string;
  lastUpdated: string;
  errorCode?: string;
  failureStatus?: 'Permanent' | 'Transient' | 'Exhausted' | 'Unknown';
  details?: string;
}

interface RestOperation {
  readonly database: string;
  readonly table: string;
  readonly startTime: string;
  lastUpdated: string;
  readonly blobs: RestBlob[];
}

/** The outcome of one blob, as the worker tells it. */
export type RestBlobOutcome =
  | { readonly state: 'Succeeded' }
  | {
      readonly state: 'Failed';
      readonly errorCode: string;
      readonly failureStatus: 'Permanent' | 'Transient';
      readonly details: string;
    };

export class RestOperations {
  private readonly operations = new Map<string, RestOperation>();

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * A new operation for these blobs. Its id holds `;` as real ones may, so that a client that does not
   * encode it in the status path is found out.
   */
  open(database: string, table: string, blobs: readonly { sourceId: string; url: string }[]): string {
    const id = `standin;${randomUUID()};${blobs.length}`;
    const now = new Date(this.clock()).toISOString();
    this.operations.set(id, {
      database,
      table,
      startTime: now,
      lastUpdated: now,
      blobs: blobs.map((b) => ({ ...b, state: 'Queued', startTime: now, lastUpdated: now })),
    });
    return id;
  }

  /**
   * The worker takes the blob: it is in progress. False when it was taken before (or canceled): its
   * internal message came twice (the DM's own Put Message retried after a lost answer, or shown again after
   * its visibility ran out), and the service ingests a submitted blob once. An operation this stand-in does
   * not know (it restarted) is taken as asked.
   */
  take(operationId: string, sourceId: string): boolean {
    const op = this.operations.get(operationId);
    if (!op) return true;
    const blob = this.blob(operationId, sourceId);
    if (blob?.state !== 'Queued') return false;
    this.touch(operationId, blob, { state: 'InProgress' });
    return true;
  }

  /** The worker is done with the blob. A blob settled already keeps its first outcome. */
  settle(operationId: string, sourceId: string, outcome: RestBlobOutcome): void {
    const blob = this.blob(operationId, sourceId);
    if (!blob || blob.state === 'Succeeded' || blob.state === 'Failed' || blob.state === 'Canceled') return;
    this.touch(operationId, blob, outcome);
  }

  /**
   * The status answer, as the documentation shows it (`startTime`, `lastUpdated`, counts under `status`,
   * `details` only when asked): 404 for an operation it does not know, or one read under another table.
   */
  status(database: string, table: string, operationId: string, details: boolean): unknown {
    const op = this.operations.get(operationId);
    if (!op || op.database !== database || op.table !== table)
      throw new StandinHttpError({
        status: 404,
        code: 'NotFound',
        message: `No ingestion operation '${operationId}' for ${database}.${table}.`,
        permanent: true,
      });
    const count = (state: RestBlobState) => op.blobs.filter((b) => b.state === state).length;
    return {
      startTime: op.startTime,
      lastUpdated: op.lastUpdated,
      status: {
        Succeeded: count('Succeeded'),
        Failed: count('Failed'),
        InProgress: count('InProgress') + count('Queued'),
        Canceled: count('Canceled'),
      },
      ...(details && {
        details: op.blobs.map((b) => ({
          sourceId: b.sourceId,
          url: b.url.split('?')[0],
          status: b.state,
          startTime: b.startTime,
          lastUpdated: b.lastUpdated,
          ...(b.state === 'Failed' && {
            errorCode: b.errorCode,
            failureStatus: b.failureStatus,
            details: b.details,
          }),
        })),
      }),
    };
  }

  /** Whether a blob was canceled before the worker took it (then it is not ingested). */
  isCanceled(operationId: string, sourceId: string): boolean {
    return this.blob(operationId, sourceId)?.state === 'Canceled';
  }

  /**
   * `.cancel queued ingestion operation`: best effort, as documented: blobs not yet taken are canceled,
   * blobs being ingested finish. Undefined for an operation it does not know.
   */
  cancel(operationId: string, reason: string): { startedOn: string } | undefined {
    const op = this.operations.get(operationId);
    if (!op) return undefined;
    for (const blob of op.blobs)
      if (blob.state === 'Queued') this.touch(operationId, blob, { state: 'Canceled', details: reason });
    return { startedOn: op.startTime };
  }

  /**
   * `.show queued ingestion operations`: one row per known id (unknown ids are left out), the counts and
   * state as the command's documentation lists them.
   */
  show(operationIds: readonly string[]): unknown[][] {
    return operationIds.flatMap((id) => {
      const op = this.operations.get(id);
      if (!op) return [];
      const count = (...states: RestBlobState[]) => op.blobs.filter((b) => states.includes(b.state)).length;
      const pending = count('Queued', 'InProgress');
      const failed = op.blobs.filter((b) => b.state === 'Failed');
      const canceled = count('Canceled');
      const state =
        pending > 0 ? 'InProgress' : canceled > 0 ? 'Canceled' : failed.length > 0 ? 'Failed' : 'Completed';
      return [
        [
          id,
          op.startTime,
          op.lastUpdated,
          state,
          op.blobs.length,
          pending,
          canceled,
          count('Succeeded'),
          failed.length,
          failed
            .slice(0, 3)
            .map((b) => b.details ?? b.errorCode ?? '')
            .join('; '),
          op.database,
          op.table,
        ],
      ];
    });
  }

  /**
   * `.show queued ingestion operations "id" details`: one row per blob of the operation (none for an id it
   * does not know), as the command's documentation lists them; the blob's URL without its SAS.
   */
  details(operationId: string): unknown[][] {
    const op = this.operations.get(operationId);
    if (!op) return [];
    const settled = (b: RestBlob) =>
      b.state === 'Succeeded' || b.state === 'Failed' || b.state === 'Canceled';
    return op.blobs.map((b) => [
      operationId,
      b.url.split('?')[0] ?? b.url,
      b.state,
      b.startTime,
      settled(b) ? b.lastUpdated : null,
      b.state === 'Failed' || b.state === 'Canceled' ? (b.details ?? b.errorCode ?? '') : '',
    ]);
  }

  private blob(operationId: string, sourceId: string): RestBlob | undefined {
    return this.operations.get(operationId)?.blobs.find((b) => b.sourceId === sourceId);
  }

  private touch(operationId: string, blob: RestBlob, change: Partial<RestBlob>): void {
    const now = new Date(this.clock()).toISOString();
    Object.assign(blob, change, { lastUpdated: now });
    const op = this.operations.get(operationId);
    if (op) op.lastUpdated = now;
  }
}
