import { dirname } from 'node:path';
import { parse } from 'node:querystring';
import { parseQueryOnce, type RequestPrototype } from '../../dev/expressQueryOnce';

/** A request prototype whose `query` getter parses `url` as Express 5's does, counting its parses. */
function prototypeCountingParses(): { proto: RequestPrototype; parses: () => number } {
  let parses = 0;
  const proto = {};
  Object.defineProperty(proto, 'query', {
    configurable: true,
    enumerable: true,
    get(this: { url: string }) {
      parses++;
      return parse(this.url.split('?')[1] ?? '');
    },
  });
  return { proto, parses: () => parses };
}

describe('parseQueryOnce (the local Azurite parses a request query once per URL)', () => {
  it('parses once per URL of each request, afresh when the URL changes, and per request', () => {
    const { proto, parses } = prototypeCountingParses();
    expect(parseQueryOnce(proto)).toBe(true);
    const req = Object.create(proto) as { url: string; query: Record<string, unknown> };
    req.url = '/c/b?sv=2024&sig=abc&comp=block';
    const first = req.query;
    expect(first).toEqual({ sv: '2024', sig: 'abc', comp: 'block' });
    expect(req.query).toBe(first);
    expect(req.query.comp).toBe('block');
    expect(parses()).toBe(1);
    req.url = '/c/b?comp=list';
    expect(req.query).toEqual({ comp: 'list' });
    expect(parses()).toBe(2);
    const other = Object.create(proto) as { url: string; query: unknown };
    other.url = '/c/b?comp=list';
    expect(other.query).toEqual({ comp: 'list' });
    expect(parses()).toBe(3);
  });

  it('says so when there is no getter to wrap', () => {
    expect(parseQueryOnce({})).toBe(false);
    expect(parseQueryOnce({ query: {} })).toBe(false);
  });

  it("finds the getter on the Express that Azurite loads (a new Express would fail here, not in Azurite's start)", () => {
    const azuriteDir = dirname(require.resolve('azurite/package.json'));
    const path = require.resolve('express/lib/request.js', { paths: [azuriteDir] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- Express's request prototype, untyped
    const proto = require(path) as RequestPrototype;
    expect(typeof Object.getOwnPropertyDescriptor(proto, 'query')?.get).toBe('function');
  });
});
