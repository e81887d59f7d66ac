import { AccountRanking, accountsOf, orderResources } from '../../../shared/resources/accountRanking';
import { parseStorageResourceUrl } from '../../../shared/resources/storageUrl';

describe('AccountRanking', () => {
  it('ranks an account without recent results as perfect', () => {
    expect(new AccountRanking().rank('a')).toBe(1);
  });

  it('weighs recent results more and forgets them after the window', () => {
    let now = 0;
    const ranking = new AccountRanking({ clock: () => now });
    ranking.record('a', false); // bucket 0
    now = 50_000;
    ranking.record('a', true); // bucket 5: weight 6 against weight 1
    expect(ranking.rank('a')).toBeCloseTo(6 / 7);
    now = 70_000; // bucket 0 has left the one-minute window
    expect(ranking.rank('a')).toBe(1);
    now = 200_000;
    expect(ranking.rank('a')).toBe(1);
  });

  it('orders accounts best tier first', () => {
    const ranking = new AccountRanking({ clock: () => 0, random: () => 0 });
    for (let i = 0; i < 5; i++) ranking.record('bad', false);
    ranking.record('half', true);
    ranking.record('half', false);
    expect(ranking.order(['bad', 'half', 'good'])).toEqual(['good', 'half', 'bad']);
  });

  it('shuffles accounts within a tier so that load spreads', () => {
    const seen = new Set<string>();
    for (const r of [0, 0.99]) seen.add(new AccountRanking({ random: () => r }).order(['a', 'b']).join(','));
    expect(seen).toEqual(new Set(['a,b', 'b,a']));
  });
});

describe('orderResources', () => {
  const r = (account: string, name: string) =>
    parseStorageResourceUrl(`https://${account}.queue.core.windows.net/${name}?sig=s`);
  const resources = [r('a', 'q1'), r('a', 'q2'), r('a', 'q3'), r('b', 'q1')];
  const names = (list: ReturnType<typeof orderResources>) => list.map((x) => `${x.accountName}/${x.name}`);

  it('interleaves accounts in rank order so the next attempt goes elsewhere', () => {
    expect(names(orderResources(resources, ['b', 'a'], 0))).toEqual(['b/q1', 'a/q1', 'a/q2', 'a/q3']);
  });

  it("rotates within an account's resources from call to call (round-robin)", () => {
    expect(names(orderResources(resources, ['a', 'b'], 1))).toEqual(['a/q2', 'b/q1', 'a/q3', 'a/q1']);
    expect(names(orderResources(resources, ['a', 'b'], 2))).toEqual(['a/q3', 'b/q1', 'a/q1', 'a/q2']);
  });
});

describe('accountsOf', () => {
  it('names each account of a resource list once, in first-seen order', () => {
    const list = ['b/c1', 'a/c1', 'b/c2', 'a/c2', 'c/c1'].map((p) => {
      const [account, name] = p.split('/');
      return parseStorageResourceUrl(`https://${account}.blob.core.windows.net/${name}?sig=x`);
    });
    expect([...accountsOf(list)]).toEqual(['b', 'a', 'c']);
    expect([...accountsOf(list)]).toEqual(['b', 'a', 'c']); // again, from the cached grouping
  });
});
