import { Cursor, lex, syntaxError } from './kqlLexer';
import { KustoError } from './kustoError';
import { convert, toJsonValue, type KqlType, type Stored } from './kqlTypes';
import type { ResultTable } from './resultTable';
import type { KustoStore } from './store';

export type { ResultTable } from './resultTable';

export const SUPPORTED_QUERIES =
  'T, T | count, T | take n (or limit n), T | where c == v (then | count or | take n), T | summarize count() by c';

const unsupported = (what: string): KustoError =>
  new KustoError(
    'BadRequest_SyntaxError',
    `${what} is not supported locally by the Kusto stand-in. It answers: ${SUPPORTED_QUERIES}.`,
    400,
  );

/**
 * Words that start a KQL query without naming a table (statements, tabular operators and functions that
 * make data): a query starting with one is a query the stand-in cannot run, not a missing table.
 */
const NON_TABLE_STARTS = new Set([
  'print',
  'range',
  'datatable',
  'union',
  'let',
  'set',
  'declare',
  'alias',
  'restrict',
  'pattern',
  'search',
  'find',
  'evaluate',
  'externaldata',
  'external_table',
  'materialize',
  'materialized_view',
  'cluster',
  'database',
  'table',
  'view',
  'macro-expand',
  'getschema',
]);

function literal(cursor: Cursor): unknown {
  const t = cursor.next();
  if (t.kind === 'string') return t.value;
  if (t.kind === 'number') return t.value;
  if (t.kind === 'word') {
    const lower = t.value.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower;
    if (
      ['datetime', 'guid', 'timespan', 'long', 'int', 'real', 'bool', 'dynamic', 'decimal'].includes(lower)
    ) {
      cursor.expectPunct('(');
      const inner = cursor.next();
      cursor.expectPunct(')');
      return inner.value;
    }
  }
  throw syntaxError(`expected a literal value, got '${t.value}'`);
}

function fromSql(value: unknown, type: KqlType): unknown {
  const stored: Stored =
    typeof value === 'bigint'
      ? value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value
      : (value as Stored);
  return toJsonValue(stored, type);
}

/** Runs a query of the supported subset against one database. */
export function runQuery(store: KustoStore, database: string, text: string): ResultTable {
  // Typed literals (datetime(2024-01-03 10:00), guid(...), timespan(1d)) are taken verbatim, as strings: the
  // column's type converts them.
  const source = text
    .trim()
    .replace(/;\s*$/, '')
    .replace(/\b(datetime|guid|timespan|long|int|real|bool|decimal)\(([^)'"]*)\)/gi, (_m, _t, v: string) =>
      JSON.stringify(v.trim()),
    );
  const cursor = new Cursor(lex(source));
  const first = cursor.peek();
  const tableName = cursor.name();
  if (first?.kind === 'word' && !store.findTable(database, tableName)) {
    if (NON_TABLE_STARTS.has(tableName)) throw unsupported(`The '${tableName}' statement`);
    if (cursor.isPunct('(')) throw unsupported(`Calling the function '${tableName}()'`);
  }
  const table = store.table(database, tableName);
  const sqlTable = store.sqlTable(table);
  const columnIndex = (name: string): number => {
    const i = table.columns.findIndex((c) => c.name === name);
    if (i === -1)
      throw new KustoError(
        'BadRequest_SemanticError',
        `Column '${name}' does not exist in table '${table.name}'.`,
        400,
      );
    return i;
  };

  const where: string[] = [];
  const params: unknown[] = [];
  let limit: number | undefined;
  while (!cursor.done) {
    cursor.expectPunct('|');
    const op = cursor.next();
    const name = op.value.toLowerCase();
    if (op.kind !== 'word') throw unsupported(`'${op.value}'`);
    if (name === 'where') {
      const column = columnIndex(cursor.name());
      if (!cursor.acceptPunct('==')) throw unsupported(`This where clause (only 'c == v')`);
      const value = convert(literal(cursor), table.columns[column]?.type ?? 'string');
      where.push(value === null ? `c${column} IS NULL` : `c${column} = ?`);
      if (value !== null) params.push(value);
      if (cursor.isWord('and') || cursor.isWord('or')) throw unsupported('And/or in where');
    } else if (name === 'take' || name === 'limit') {
      const n = cursor.next();
      if (n.kind !== 'number' || !/^\d+$/.test(n.value)) throw syntaxError(`${name} needs a row count`);
      limit = Math.min(limit ?? Number.MAX_SAFE_INTEGER, Number(n.value));
    } else if (name === 'count') {
      cursor.expectEnd();
      const sql = `SELECT COUNT(*) FROM (SELECT 1 FROM ${sqlTable}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}${limit !== undefined ? ` LIMIT ${limit}` : ''})`;
      const [[count]] = store.select(sql, params) as [[bigint]];
      return { columns: [{ name: 'Count', type: 'long' }], rows: [[Number(count)]] };
    } else if (name === 'summarize') {
      if (!(
        cursor.acceptWord('count') &&
        cursor.acceptPunct('(') &&
        cursor.acceptPunct(')') &&
        cursor.acceptWord('by')
      )) {
        throw unsupported('This summarize (only summarize count() by c)');
      }
      const by = cursor.name();
      const column = columnIndex(by);
      cursor.expectEnd();
      const sql = `SELECT c${column}, COUNT(*) FROM (SELECT * FROM ${sqlTable}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}${limit !== undefined ? ` LIMIT ${limit}` : ''}) GROUP BY c${column} ORDER BY 2 DESC`;
      const type = table.columns[column]?.type ?? 'string';
      return {
        columns: [
          { name: by, type },
          { name: 'count_', type: 'long' },
        ],
        rows: store.select(sql, params).map(([v, n]) => [fromSql(v, type), Number(n)]),
      };
    } else {
      throw unsupported(`The '${op.value}' operator`);
    }
  }
  const columns = table.columns.map((_, i) => `c${i}`).join(', ') || 'NULL';
  const sql = `SELECT ${columns} FROM ${sqlTable}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid${limit !== undefined ? ` LIMIT ${limit}` : ''}`;
  const rows = store.select(sql, params).map((row) => table.columns.map((c, i) => fromSql(row[i], c.type)));
  return { columns: table.columns, rows };
}
