import { dirname } from 'node:path';
import { patchSmallBatches, SMALL_BATCH, type LokiCollection } from '../../dev/lokiSmallBatches';

interface Doc {
  $loki?: number;
  queue: string;
  id: string;
  visible: number;
}

interface Collection extends Omit<LokiCollection, 'update' | 'binaryIndices'> {
  insert(doc: Doc): Doc;
  find(query?: object): Doc[];
  findAndRemove(query: object): void;
  update(doc: Doc | Doc[]): void;
  checkAllIndexes(options?: { repair?: boolean }): string[];
  ensureAllIndexes(force?: boolean): void;
  binaryIndices: Record<string, { dirty: boolean; values: number[] }>;
}

interface LokiDb {
  addCollection(name: string, options: object): Collection;
}

// The LokiJS Azurite loads, as the preload resolves it.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped, resolved at run time
const Loki = require(
  require.resolve('lokijs', { paths: [dirname(require.resolve('azurite/package.json'))] }),
) as { new (name: string): LokiDb; Collection: { prototype: LokiCollection } };

// Azurite's messages collection has these indices.
const INDICES = ['queue', 'id', 'visible'];

/** Two collections: one on LokiJS as shipped, one on a patched copy of its prototype. */
function pair(): { stock: Collection; patched: Collection; proto: LokiCollection } {
  const proto = Object.create(Loki.Collection.prototype) as LokiCollection;
  patchSmallBatches(proto);
  const stock = new Loki('stock').addCollection('messages', { indices: INDICES });
  const patched = new Loki('patched').addCollection('messages', { indices: INDICES });
  Object.setPrototypeOf(patched, proto);
  return { stock, patched, proto };
}

/** A deterministic generator, so that a failure replays. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const plain = (docs: Doc[]) =>
  docs.map(({ queue, id, visible }) => ({ queue, id, visible })).sort((a, b) => a.id.localeCompare(b.id));

describe('patchSmallBatches (the local Azurite LokiJS fix)', () => {
  it('leaves the same documents and valid indices as stock LokiJS through random inserts, removes and updates', () => {
    const { stock, patched } = pair();
    const next = random(7);
    let made = 0;
    for (let step = 0; step < 400; step++) {
      const action = next();
      if (action < 0.4) {
        for (let i = 0; i < 1 + Math.floor(next() * 5); i++) {
          const doc = {
            queue: `q${Math.floor(next() * 3)}`,
            id: `m${made++}`,
            visible: Math.floor(next() * 50),
          };
          stock.insert({ ...doc });
          patched.insert({ ...doc });
        }
      } else if (action < 0.6) {
        // clearExpiredMessages's shape: remove what a query found (often nothing), as an array.
        const below = Math.floor(next() * 8);
        for (const c of [stock, patched]) c.remove(c.find({ visible: { $lt: below } }));
      } else if (action < 0.75) {
        // Delete Message's shape: findAndRemove of one id.
        const id = `m${Math.floor(next() * made)}`;
        for (const c of [stock, patched]) c.findAndRemove({ id });
      } else {
        // Get Messages' shape: the first few visible of a queue updated as a batch.
        const queue = `q${Math.floor(next() * 3)}`;
        const take = 1 + Math.floor(next() * 40);
        const later = Math.floor(next() * 100);
        for (const c of [stock, patched]) {
          // Ordered as Azurite orders them (ties by $loki), not by an index whose ties may differ.
          const docs = c
            .find({ queue })
            .sort((a, b) => a.visible - b.visible || (a.$loki ?? 0) - (b.$loki ?? 0))
            .slice(0, take);
          for (const d of docs) d.visible = later;
          c.update(docs);
        }
      }
      expect(plain(patched.find())).toEqual(plain(stock.find()));
      expect(patched.checkAllIndexes()).toEqual([]);
      expect(stock.checkAllIndexes()).toEqual([]);
      for (const q of ['q0', 'q1', 'q2'])
        expect(plain(patched.find({ queue: q, visible: { $lte: 30 } }))).toEqual(
          plain(stock.find({ queue: q, visible: { $lte: 30 } })),
        );
    }
    expect(made).toBeGreaterThan(200);
  });

  it('rebuilds no index for an empty or small batch, and leaves large batches to LokiJS', () => {
    const { patched } = pair();
    for (let i = 0; i < 500; i++) patched.insert({ queue: 'q', id: `m${i}`, visible: i });
    const values = () => patched.binaryIndices.visible?.values;
    const before = values();
    patched.remove([]);
    patched.remove(patched.find({ visible: { $lt: 3 } }));
    // In place: the same array, never rebuilt.
    expect(values()).toBe(before);
    expect(patched.find()).toHaveLength(497);
    patched.remove(patched.find({ visible: { $lt: 3 + SMALL_BATCH + 1 } }));
    expect(values()).not.toBe(before); // LokiJS's own batch path rebuilt it
    expect(patched.find()).toHaveLength(500 - 3 - SMALL_BATCH - 1);
    expect(patched.checkAllIndexes()).toEqual([]);
  });

  it('updates an empty or small batch of changed documents without a rebuild, and leaves large ones to LokiJS', () => {
    const { patched } = pair();
    for (let i = 0; i < 500; i++) patched.insert({ queue: 'q', id: `m${i}`, visible: i });
    const rebuilds = jest.spyOn(patched, 'ensureAllIndexes');
    patched.update([]);
    patched.removeBatch([]);
    // Changed in place before the call, as Azurite does: the first few move past the rest.
    const few = patched.find({ visible: { $lt: 5 } });
    for (const d of few) d.visible += 1000;
    patched.update(few);
    expect(rebuilds).not.toHaveBeenCalled();
    expect(patched.checkAllIndexes()).toEqual([]);
    expect(
      patched
        .find({ visible: { $gte: 1000 } })
        .map((d) => d.id)
        .sort(),
    ).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const many = patched.find({ visible: { $lt: 5 + SMALL_BATCH + 1 } });
    for (const d of many) d.visible += 2000;
    patched.update(many);
    expect(rebuilds).toHaveBeenCalled(); // LokiJS's own batch path
    expect(patched.checkAllIndexes()).toEqual([]);
  });
});
