import { runQuery } from '../../../dev/standin/query';
import { convert, parseKqlType } from '../../../dev/standin/kqlTypes';
import { KustoError } from '../../../dev/standin/kustoError';
import { KustoStore } from '../../../dev/standin/store';
import { CORPUS, ERRORS, EVENTS, EVENTS_SCHEMA, expectCorpusResult, USERS, USERS_SCHEMA } from './kqlCorpus';

function load(store: KustoStore, name: string, schema: string, rows: readonly (readonly unknown[])[]): void {
  const columns = schema
    .slice(1, -1)
    .split(',')
    .map((c) => {
      const [column, type] = c.split(':').map((s) => s.trim());
      return { name: column ?? '', type: parseKqlType(type ?? '') ?? 'string' };
    });
  const table = store.createTable('demo', name, columns, 'create');
  store.appendExtents(table, [
    { rows: rows.map((r) => columns.map((c, i) => convert(r[i], c.type))), tags: [] },
  ]);
}

describe('the stand-in runs KQL through Kusto.Language: the corpus', () => {
  const store = new KustoStore();
  beforeAll(() => {
    load(store, 'Events', EVENTS_SCHEMA, EVENTS);
    load(store, 'Users', USERS_SCHEMA, USERS);
  });
  afterAll(() => store.close());

  it('holds at least 80 queries and 15 refusals', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(80);
    expect(ERRORS.length).toBeGreaterThanOrEqual(15);
  });

  it.each(CORPUS.map((c) => [c.q, c] as const))('%s', (_q, c) => {
    const result = runQuery(store, 'demo', c.q);
    expectCorpusResult(
      {
        columns: result.columns.map((x) => x.name),
        types: result.columns.map((x) => x.type),
        rows: result.rows,
      },
      c,
    );
  });

  it.each(ERRORS.map((e) => [e.q, e] as const))('refuses %s', (_q, e) => {
    let error: unknown;
    try {
      runQuery(store, 'demo', e.q);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KustoError);
    expect((error as KustoError).status).toBe(400);
    expect((error as KustoError).code).toBe(e.code);
    expect((error as KustoError).message).toMatch(e.message);
  });
});
