/**
 * Azurite keeps every message of every queue in one LokiJS collection, indexed on `accountName`,
 * `queueName`, `messageId` and `visibleTime`, and asks for a queue's messages with a query object that names
 * `accountName` first: `{ accountName, queueName, timeNextVisible: { $lte } }`. LokiJS turns the keys of such
 * an object into an `$and` in their order and uses a binary index for the first clause only; every message
 * of the account matches it, so the other clauses scan all of them. With 100,000 item messages held, each
 * Get Messages, Peek, Delete and Update of a queue holding one message (its expired-message clean-up runs
 * the same query) scanned all 100,000: about 25 ms of Azurite's only thread each, twice per receive.
 *
 * `patchQueueFirst` moves `queueName` to the front of such a query, so the index narrows to the queue's own
 * messages: the same clauses, so the same documents (those that come out in an order the caller relies on
 * are sorted by Azurite afterwards). Used in the local Azurite only (dev/azuritePreload.ts).
 */

/** The part of a LokiJS result set this touches. */
export interface LokiResultset {
  find: (this: LokiResultset, query?: unknown, firstOnly?: boolean) => unknown;
}

/** The field to narrow by first: one queue's messages among all the accounts' queues. */
const FIRST = 'queueName';

/** The same query with `queueName` first, or the query itself when it has no such key or has it first. */
export function queueFirst(query: unknown): unknown {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) return query;
  const keys = Object.keys(query);
  if (keys.length < 2 || keys[0] === FIRST || !keys.includes(FIRST)) return query;
  const q = query as Record<string, unknown>;
  const reordered: Record<string, unknown> = { [FIRST]: q[FIRST] };
  for (const k of keys) if (k !== FIRST) reordered[k] = q[k];
  return reordered;
}

/** Patches a result set prototype (LokiJS's own, or a test's copy of it). */
export function patchQueueFirst(proto: LokiResultset): void {
  const originalFind = proto.find;
  proto.find = function (this: LokiResultset, query?: unknown, firstOnly?: boolean): unknown {
    return originalFind.call(this, queueFirst(query), firstOnly);
  };
}
