/**
 * Express 5 parses `req.query` from the URL on every read (a getter, by design: nothing can replace it).
 * Azurite reads it once per required query parameter of every operation its dispatcher tests, and again in
 * its middlewares: on a run of Put Blobs with a SAS, `node:querystring` took 8% of its CPU. In the local
 * Azurite (dev/azuritePreload.ts) a request parses its query once per URL: the same object for as long as
 * `req.url` stays the same, parsed afresh if it changes. Azurite only reads what it gets (checked for this
 * version: no write to a parsed query), so the answers are the same.
 */

/** What Express exports as its request prototype: `req.query` is a getter on it. */
export interface RequestPrototype {
  readonly query?: unknown;
}

const PARSED = Symbol('kif.parsedQuery');

interface Parsed {
  readonly url: unknown;
  readonly query: unknown;
}

/** Makes `proto`'s `query` getter parse once per URL of each request. Returns false when there is none. */
export function parseQueryOnce(proto: RequestPrototype): boolean {
  const descriptor = Object.getOwnPropertyDescriptor(proto, 'query');
  if (descriptor?.get === undefined) return false;
  // Called below with each request as `this`, as Express calls it.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- a getter, bound to each request at the call
  const parse: (this: unknown) => unknown = descriptor.get;
  Object.defineProperty(proto, 'query', {
    configurable: true,
    enumerable: descriptor.enumerable ?? true,
    get(this: { url?: unknown; [PARSED]?: Parsed }) {
      const known = this[PARSED];
      if (known !== undefined && known.url === this.url) return known.query;
      const query: unknown = parse.call(this);
      this[PARSED] = { url: this.url, query };
      return query;
    },
  });
  return true;
}

/** Patches the Express that Azurite (in `azuriteDir`) loads. */
export function patchExpressQuery(azuriteDir: string): void {
  const path = require.resolve('express/lib/request.js', { paths: [azuriteDir] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Express's request prototype, untyped
  const proto = require(path) as RequestPrototype;
  if (!parseQueryOnce(proto))
    throw new Error(`${path} has no query getter: Express changed, review dev/expressQueryOnce.ts`);
}
