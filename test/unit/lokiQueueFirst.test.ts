import { dirname } from 'node:path';
import { patchQueueFirst, queueFirst, type LokiResultset } from '../../dev/lokiQueueFirst';

interface Message {
  $loki?: number;
  accountName: string;
  queueName: string;
  messageId: string;
  timeNextVisible: number;
  expirationTime: number;
}

interface Resultset {
  find(query: object, firstOnly?: boolean): Resultset;
  compoundsort(properties: [string, boolean][]): Resultset;
  limit(n: number): Resultset;
  data(): Message[];
}

interface Collection {
  insert(doc: Message): Message;
  chain(): Resultset;
  find(query: object): Message[];
  findOne(query: object): Message | null;
  count(query?: object): number;
  remove(doc: Message): void;
}

// The LokiJS Azurite loads, as the preload resolves it.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped, resolved at run time
const Loki = require(
  require.resolve('lokijs', { paths: [dirname(require.resolve('azurite/package.json'))] }),
) as {
  new (name: string): { addCollection(name: string, options: object): Collection };
  Collection: { prototype: { chain: (this: Collection) => Resultset } };
  Resultset: { prototype: LokiResultset };
};

// Azurite's messages collection, as it declares it.
const INDICES = ['accountName', 'queueName', 'messageId', 'visibleTime'];

/** Two collections with the same messages: one on LokiJS as shipped, one whose result sets are patched. */
function pair(): { stock: Collection; patched: Collection } {
  const proto = Object.create(Loki.Resultset.prototype) as LokiResultset;
  patchQueueFirst(proto);
  const stock = new Loki('stock').addCollection('messages', { indices: INDICES });
  const patched = new Loki('patched').addCollection('messages', { indices: INDICES });
  const chain = Loki.Collection.prototype.chain;
  patched.chain = function (this: Collection) {
    const rs = chain.call(this);
    Object.setPrototypeOf(rs, proto);
    return rs;
  };
  return { stock, patched };
}

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const ids = (docs: readonly (Message | null)[]) => docs.map((d) => d?.messageId ?? null);

describe('patchQueueFirst (the local Azurite LokiJS fix)', () => {
  it('puts queueName first and keeps every clause; leaves other queries as they are', () => {
    const query = { accountName: 'a', queueName: 'q', timeNextVisible: { $lte: 5 } };
    const moved = queueFirst(query) as Record<string, unknown>;
    expect(Object.keys(moved)).toEqual(['queueName', 'accountName', 'timeNextVisible']);
    expect(moved).toEqual(query);
    const first = { queueName: 'q', accountName: 'a' };
    expect(queueFirst(first)).toBe(first);
    const other = { accountName: 'a', name: 'q' };
    expect(queueFirst(other)).toBe(other);
    expect(queueFirst(undefined)).toBeUndefined();
    const and = { $and: [{ accountName: 'a' }, { queueName: 'q' }] };
    expect(queueFirst(and)).toBe(and);
  });

  it("answers Azurite's queue queries exactly as stock LokiJS does, through random inserts, receives and deletes", () => {
    const { stock, patched } = pair();
    const next = random(11);
    const queues = ['items', 'pages', 'events', 'empty'];
    let made = 0;
    for (let step = 0; step < 300; step++) {
      const now = 1_000 + step * 10;
      // Mostly one deep queue, as in a backfill: its depth is what the stock query scanned.
      for (let i = 0; i < 5; i++) {
        const queueName = next() < 0.8 ? 'items' : (queues[Math.floor(next() * 3)] ?? 'items');
        const doc = {
          accountName: next() < 0.9 ? 'devstoreaccount1' : 'other',
          queueName,
          messageId: `m${made++}`,
          timeNextVisible: now + Math.floor(next() * 200) - 100,
          expirationTime: now + Math.floor(next() * 6_000),
        };
        stock.insert({ ...doc });
        patched.insert({ ...doc });
      }
      for (const queueName of queues) {
        const visible = { accountName: 'devstoreaccount1', queueName, timeNextVisible: { $lte: now } };
        const receive = (c: Collection) =>
          c
            .chain()
            .find(visible)
            .compoundsort([
              ['timeNextVisible', false],
              ['$loki', false],
            ])
            .limit(32)
            .data();
        expect(ids(receive(patched))).toEqual(ids(receive(stock)));
        const expired = { accountName: 'devstoreaccount1', queueName, expirationTime: { $lte: now } };
        const sorted = (docs: Message[]) => ids(docs).sort();
        expect(sorted(patched.find(expired))).toEqual(sorted(stock.find(expired)));
        const count = { accountName: 'devstoreaccount1', queueName };
        expect(patched.count(count)).toBe(stock.count(count));
        // Azurite's clean-up: the expired messages go from both.
        for (const c of [stock, patched]) for (const doc of c.find(expired)) c.remove(doc);
      }
      const id = `m${Math.floor(next() * made)}`;
      for (const queueName of queues) {
        const one = { messageId: id, accountName: 'devstoreaccount1', queueName };
        expect(patched.findOne(one)?.messageId).toBe(stock.findOne(one)?.messageId);
      }
    }
    expect(patched.count()).toBe(stock.count());
    expect(patched.count()).toBeGreaterThan(100);
  });
});
