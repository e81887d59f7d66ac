/**
 * LokiJS 1.5 removes a batch of documents by rebuilding every binary index of the collection from scratch,
 * even for a batch of one or of none (techfort/LokiJS#773, closed "wontfix"). With n documents held, that
 * is an n log n sort per call. `patchSmallBatches` makes an empty batch cost nothing and sends a small one
 * through LokiJS's own single-document remove, which keeps the indices up to date in place (a linear pass
 * over positions, no sort): the same documents removed, the same indices after. Batch updates are left as
 * they are: their callers change the documents in place before the call, so the indices cannot be mended
 * one document at a time. Used in the local Azurite only (dev/azuriteLokiPatch.ts says why).
 */

/** The part of a LokiJS collection this touches. */
export interface LokiCollection {
  data: object[];
  adaptiveBinaryIndices: boolean;
  removeBatchByPositions: (this: LokiCollection, positions: number[]) => unknown;
  remove: (this: LokiCollection, doc: object) => unknown;
}

// Above this many documents, one rebuild of the indices (n log n) costs less than a linear pass per
// document; below it, far less.
export const SMALL_BATCH = 64;

/** Patches a collection prototype (LokiJS's own, or a test's copy of it). */
export function patchSmallBatches(proto: LokiCollection): void {
  const originalRemove = proto.removeBatchByPositions;
  proto.removeBatchByPositions = function (this: LokiCollection, positions: number[]): unknown {
    if (positions.length === 0) return undefined;
    if (positions.length > SMALL_BATCH || !this.adaptiveBinaryIndices)
      return originalRemove.call(this, positions);
    // Documents first: positions move as each one is removed.
    const docs = positions.map((p) => this.data[p]);
    for (const doc of docs) if (doc) this.remove(doc);
    return undefined;
  };
}
