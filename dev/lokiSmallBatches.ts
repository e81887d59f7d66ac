/**
 * LokiJS 1.5 removes or updates a batch of documents by rebuilding every binary index of the collection
 * from scratch, even for a batch of one (techfort/LokiJS#773, closed "wontfix"), and a batch remove first
 * maps every document's id to its position, even for a batch of none. With n documents held, that is an
 * n log n sort or an n-entry map per call. `patchSmallBatches` makes an empty batch cost nothing and takes a
 * small one through LokiJS's own single-document paths, which keep the indices up to date in place (a
 * linear pass, no sort): the same documents removed or updated, every index in order after. A batch update's
 * callers change the documents in place before the call, so while one of them is put back in order the
 * others' index entries would be out of order: all of them are taken out of every index first, and each is
 * then put back by LokiJS's single update. Used in the local Azurite only (dev/azuritePreload.ts says
 * why).
 */

/** The part of a LokiJS collection this touches. */
export interface LokiCollection {
  data: object[];
  adaptiveBinaryIndices: boolean;
  cloneObjects: boolean;
  binaryIndices: Record<string, { dirty: boolean; values: number[] }>;
  removeBatchByPositions: (this: LokiCollection, positions: number[]) => unknown;
  removeBatch: (batch: (object | number)[]) => unknown;
  remove: (doc: object) => unknown;
  update: (doc: object | object[]) => unknown;
  get: (id: number, returnPosition: true) => [object, number] | null;
}

/** Where each document of a batch sits in `data`, or undefined if one is not there (LokiJS then decides). */
function positionsOf(c: LokiCollection, batch: readonly (object | number)[]): number[] | undefined {
  const positions: number[] = [];
  for (const doc of batch) {
    const id = typeof doc === 'object' ? (doc as { $loki?: unknown }).$loki : doc;
    const found = typeof id === 'number' ? c.get(id, true) : null;
    if (!found) return undefined;
    positions.push(found[1]);
  }
  return positions;
}

/** Small enough for a pass per document, on a collection whose indices LokiJS keeps in place. */
function small(c: LokiCollection, batch: readonly unknown[]): boolean {
  return batch.length <= SMALL_BATCH && c.adaptiveBinaryIndices;
}

// Above this many documents, one rebuild of the indices (n log n) costs less than a linear pass per
// document; below it, far less.
export const SMALL_BATCH = 64;

/** Patches a collection prototype (LokiJS's own, or a test's copy of it). */
export function patchSmallBatches(proto: LokiCollection): void {
  const originalRemove = proto.removeBatchByPositions;
  proto.removeBatchByPositions = function (this: LokiCollection, positions: number[]): unknown {
    if (positions.length === 0) return undefined;
    if (!small(this, positions)) return originalRemove.call(this, positions);
    // Documents first: positions move as each one is removed.
    const docs = positions.map((p) => this.data[p]);
    for (const doc of docs) if (doc) this.remove(doc);
    return undefined;
  };
  const originalRemoveBatch = proto.removeBatch;
  proto.removeBatch = function (this: LokiCollection, batch: (object | number)[]): unknown {
    if (batch.length === 0) return undefined;
    const positions = small(this, batch) ? positionsOf(this, batch) : undefined;
    if (!positions) return originalRemoveBatch.call(this, batch);
    return this.removeBatchByPositions(positions);
  };
  const originalUpdate = proto.update;
  proto.update = function (this: LokiCollection, doc: object | object[]): unknown {
    if (!Array.isArray(doc)) return originalUpdate.call(this, doc);
    if (doc.length === 0) return undefined;
    const indices = Object.values(this.binaryIndices);
    const inPlace = small(this, doc) && !this.cloneObjects && indices.every((i) => !i.dirty);
    const positions = inPlace ? positionsOf(this, doc) : undefined;
    if (!positions) return originalUpdate.call(this, doc);
    // Out of every index first: the entries left are all of unchanged documents, so in order.
    const changed = new Set(positions);
    for (const index of indices) index.values = index.values.filter((p) => !changed.has(p));
    // LokiJS's single update finds no entry to take out, and puts the document back in order.
    for (const d of doc) originalUpdate.call(this, d);
    return undefined;
  };
}
