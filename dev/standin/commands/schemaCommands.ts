import type { Cursor } from '../kqlLexer';
import { syntaxError } from '../kqlLexer';
import { KustoError } from '../kustoError';
import { resultTable, type ResultTable } from '../resultTable';
import type { KustoStore } from '../store';
import { batchingWindowMs, policyTable, streamingSetting } from './policies';
import {
  columnDefs,
  cslSchemaOf,
  MAPPING_KINDS,
  mappingKindName,
  TABLE_SCHEMA_COLUMNS,
  withProperties,
} from './syntax';

/** `.create database D volatile|persist (...) [ifnotexists]` (the cursor is past `database`). */
export function createDatabase(store: KustoStore, cursor: Cursor): ResultTable {
  const name = cursor.name();
  let persistence = 'volatile';
  let ifNotExists = false;
  while (!cursor.done) {
    if (cursor.acceptWord('ifnotexists')) ifNotExists = true;
    else if (cursor.acceptWord('volatile')) persistence = 'volatile';
    else if (cursor.acceptWord('persist')) {
      cursor.expectPunct('(');
      const paths: string[] = [];
      do paths.push(cursor.string());
      while (cursor.acceptPunct(','));
      cursor.expectPunct(')');
      persistence = paths.join(', ');
    } else throw syntaxError(`unexpected '${cursor.peek()?.value ?? ''}' in .create database`);
  }
  store.createDatabase(name, persistence, ifNotExists);
  return resultTable(
    [
      ['DatabaseName', 'string'],
      ['PersistentStorage', 'string'],
    ],
    [[name, persistence]],
  );
}

/** `.create[-merge|-or-alter] table T ...`: a table, or an ingestion mapping (the cursor is past `table`). */
export function createTable(
  store: KustoStore,
  database: string,
  verb: 'create' | 'create-merge' | 'create-or-alter',
  cursor: Cursor,
): ResultTable {
  const name = cursor.name();
  if (cursor.acceptWord('ingestion')) return createMapping(store, database, name, verb, cursor);
  if (verb === 'create-or-alter')
    throw syntaxError('.create-or-alter table is supported for ingestion mappings only');
  const defs = columnDefs(cursor);
  withProperties(cursor); // docstring, folder: accepted and ignored
  cursor.expectEnd();
  const t = store.createTable(database, name, defs, verb === 'create' ? 'create' : 'merge');
  return resultTable(TABLE_SCHEMA_COLUMNS, [[t.name, cslSchemaOf(t), t.database, '', '']]);
}

function createMapping(
  store: KustoStore,
  database: string,
  tableName: string,
  verb: string,
  cursor: Cursor,
): ResultTable {
  const kind = cursor.next().value.toLowerCase();
  if (!MAPPING_KINDS.includes(kind))
    throw syntaxError(`unknown mapping kind '${kind}': use one of ${MAPPING_KINDS.join(', ')}`);
  cursor.expectWord('mapping');
  const mappingName = cursor.name(true);
  const mapping = cursor.string();
  cursor.expectEnd();
  try {
    JSON.parse(mapping);
  } catch (e) {
    throw new KustoError(
      'BadRequest_InvalidMapping',
      `The mapping is not JSON: ${(e as Error).message}`,
      400,
    );
  }
  const t = store.table(database, tableName);
  store.setMapping(
    t.database,
    t.name,
    kind,
    mappingName,
    mapping,
    verb === 'create' ? 'create' : 'createOrAlter',
  );
  return resultTable(
    [
      ['Name', 'string'],
      ['Kind', 'string'],
      ['Mapping', 'string'],
      ['Database', 'string'],
      ['Table', 'string'],
    ],
    [[mappingName, mappingKindName(kind), mapping, t.database, t.name]],
  );
}

function remainingTables(store: KustoStore, database: string): ResultTable {
  return resultTable(
    [
      ['TableName', 'string'],
      ['DatabaseName', 'string'],
    ],
    store.tables(database).map((t) => [t.name, t.database]),
  );
}

/** `.drop table T [ifexists]`, `.drop tables (A, B) [ifexists]` (the cursor is past `.drop`). */
export function dropTables(
  store: KustoStore,
  database: string,
  cursor: Cursor,
  unsupported: () => never,
): ResultTable {
  if (cursor.acceptWord('tables')) {
    cursor.expectPunct('(');
    const names: string[] = [];
    do names.push(cursor.name());
    while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
    const ifExists = cursor.acceptWord('ifexists');
    cursor.expectEnd();
    if (!ifExists) for (const n of names) store.table(database, n); // all or nothing
    for (const n of names) store.dropTable(database, n, true);
    return remainingTables(store, database);
  }
  if (cursor.acceptWord('table')) {
    const name = cursor.name();
    const ifExists = cursor.acceptWord('ifexists');
    cursor.expectEnd();
    store.dropTable(database, name, ifExists);
    return remainingTables(store, database);
  }
  return unsupported();
}

/**
 * `.alter[-merge] table T policy streamingingestion|ingestionbatching ...` and
 * `.alter database D policy streamingingestion ...` (the cursor is past the verb).
 */
export function alterPolicy(
  store: KustoStore,
  database: string,
  cursor: Cursor,
  unsupported: () => never,
): ResultTable {
  const entity = cursor.next().value.toLowerCase();
  if (entity !== 'table' && entity !== 'database') unsupported();
  const name = cursor.name();
  cursor.expectWord('policy');
  const target = entity === 'table' ? store.table(database, name) : undefined;
  if (cursor.acceptWord('streamingingestion')) {
    const enabled = streamingSetting(cursor);
    cursor.expectEnd();
    if (target) {
      store.setTableStreaming(target.database, target.name, enabled);
      const policy = JSON.stringify({ IsEnabled: enabled, HintAllocatedRate: null });
      return policyTable(store, 'streamingingestion', { kind: 'Table', table: target }, policy);
    }
    store.setDatabaseStreaming(name, enabled);
    const policy = JSON.stringify({ IsEnabled: enabled, HintAllocatedRate: null });
    return policyTable(
      store,
      'streamingingestion',
      { kind: 'Database', database: store.database(name) },
      policy,
    );
  }
  if (target && cursor.acceptWord('ingestionbatching')) {
    const json = cursor.string();
    cursor.expectEnd();
    store.setTableBatching(target.database, target.name, batchingWindowMs(json), json);
    return policyTable(
      store,
      'ingestionbatching',
      { kind: 'Table', table: store.table(target.database, target.name) },
      json,
    );
  }
  return unsupported();
}
