import { isNotFound } from '../../errors';
import { handleFromString } from '../../ingest/v2/operationHandle';
import type { IngestionStatus } from '../../ingest/types';
import type { AppContext } from '../ports';
import { readStatus } from '../tracking/statusLookup';
import type { TrackingRecord } from '../tracking/trackingRecord';

/**
 * The service's status of many sources at once: one status row per source queued as a v1 message, read side
 * by side; one read per operation for sources queued over REST (ingest v2), so N sources in M operations
 * cost M reads. An operation the service no longer knows (or not yet) leaves its sources Pending, as a
 * missing status row does.
 */
export async function readStatusRows(
  ctx: Pick<AppContext, 'ingest'>,
  records: readonly TrackingRecord[],
): Promise<IngestionStatus[]> {
  const operations = new Map<string, Promise<Map<string, IngestionStatus> | undefined>>();
  const byOperation = (operation: string) => {
    let read = operations.get(operation);
    if (!read) {
      read = ctx.ingest.getOperationStatuses(operation).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      operations.set(operation, read);
    }
    return read;
  };
  return Promise.all(
    records.map(async (record): Promise<IngestionStatus> => {
      if (!record.operation) return readStatus(ctx.ingest, record);
      const statuses = await byOperation(record.operation);
      return statuses?.get(record.sourceId) ?? { sourceId: record.sourceId, status: 'Pending' };
    }),
  );
}

/**
 * The same parts, with each REST operation's statuses read once for as long as they are used (one sweep):
 * the sweep settles its sources one by one, and N sources in M operations then cost M reads, not N.
 */
export function readingOperationsOnce<T extends Pick<AppContext, 'ingest'>>(ctx: T): T {
  const reads = new Map<string, Promise<Map<string, IngestionStatus>>>();
  const target = ctx.ingest;
  const getOperationStatuses: typeof target.getOperationStatuses = (operation, call) => {
    const { database, table, operationId } = handleFromString(operation);
    const key = JSON.stringify([database, table, operationId]);
    let read = reads.get(key);
    if (!read) {
      read = target.getOperationStatuses(operation, call);
      reads.set(key, read);
      read.catch(() => reads.delete(key)); // a failed read is not kept: the next source asks again
    }
    return read;
  };
  const ingest = new Proxy(target, {
    get(t, name) {
      if (name === 'getOperationStatuses') return getOperationStatuses;
      const value: unknown = Reflect.get(t, name, t);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value;
    },
  });
  return { ...ctx, ingest };
}
