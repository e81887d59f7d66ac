import type { Cursor } from '../kqlLexer';
import { resultTable, type ResultTable } from '../resultTable';
import type { KustoStore } from '../store';

/**
 * `.clear database cache streamingingestion schema`, `.clear table T cache streamingingestion schema` and
 * `.clear database cache query_results` (the cursor is past `.clear`). The stand-in keeps no caches: each
 * succeeds as a no-op with the docs' result, one row for its single node.
 */
export function runClear(
  store: KustoStore,
  database: string,
  cursor: Cursor,
  nodeId: string,
  unsupported: () => never,
): ResultTable {
  if (cursor.acceptWord('table')) store.table(database, cursor.name());
  else if (cursor.acceptWord('database')) store.database(database);
  else unsupported();
  cursor.expectWord('cache');
  if (cursor.acceptWord('streamingingestion')) {
    cursor.expectWord('schema');
    cursor.expectEnd();
    return resultTable(
      [
        ['NodeId', 'string'],
        ['Status', 'string'],
      ],
      [[nodeId, 'Succeeded']],
    );
  }
  if (cursor.acceptWord('query_results')) {
    cursor.expectEnd();
    return resultTable(
      [
        ['NodeId', 'string'],
        ['Count', 'long'],
      ],
      [[nodeId, 0]],
    );
  }
  return unsupported();
}
