import { Cursor, syntaxError, type Token } from './kqlLexer';
import { KustoError } from './kustoError';
import type { ResultTable } from './resultTable';

/** What may follow a control command's result, as real clients use it. */
export const SUPPORTED_COMMAND_PIPES = '| project a, b; | where c == v (or !=); | count; | take n';

const notSupported = (what: string): KustoError =>
  new KustoError(
    'BadRequest_SyntaxError',
    `${what} is not supported locally: the Kusto stand-in supports, after a command, ${SUPPORTED_COMMAND_PIPES}.`,
    400,
  );

function columnIndex(table: ResultTable, name: string): number {
  const i = table.columns.findIndex((c) => c.name === name);
  if (i === -1) {
    throw new KustoError(
      'BadRequest_SemanticError',
      `Column '${name}' is not in the result: it has ${table.columns.map((c) => c.name).join(', ')}.`,
      400,
    );
  }
  return i;
}

function literal(cursor: Cursor): string | number | boolean | null {
  const t = cursor.next();
  if (t.kind === 'string') return t.value;
  if (t.kind === 'number') return Number(t.value);
  if (t.kind === 'word') {
    const lower = t.value.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
    if (lower === 'null') return null;
  }
  throw syntaxError(`expected a literal value after the comparison, got '${t.value}'`);
}

/** Equality as KQL has it for the scalar values a command result holds. */
function equal(cell: unknown, value: string | number | boolean | null): boolean {
  if (value === null) return cell === null || cell === undefined;
  if (typeof value === 'number') return Number(cell) === value;
  if (typeof value === 'boolean') return cell === value || String(cell).toLowerCase() === String(value);
  return typeof cell === 'string' ? cell === value : JSON.stringify(cell) === value;
}

/** Applies `| project`, `| where c == v`, `| count` and `| take n` to a command's result. */
export function applyPipes(result: ResultTable, pipes: readonly Token[]): ResultTable {
  const cursor = new Cursor(pipes);
  let current = result;
  while (!cursor.done) {
    cursor.expectPunct('|');
    const op = cursor.next();
    const name = op.value.toLowerCase();
    if (op.kind !== 'word') throw notSupported(`'${op.value}'`);
    if (name === 'project') {
      const names: string[] = [cursor.name()];
      while (cursor.acceptPunct(',')) names.push(cursor.name());
      const indexes = names.map((n) => columnIndex(current, n));
      const table = current;
      current = {
        columns: indexes.map((i) => table.columns[i] ?? { name: '?', type: 'string' }),
        rows: table.rows.map((row) => indexes.map((i) => row[i])),
      };
    } else if (name === 'where') {
      const column = columnIndex(current, cursor.name());
      const negate = cursor.acceptPunct('!=');
      if (!negate && !cursor.acceptPunct('=='))
        throw notSupported(
          `The where clause near '${cursor.peek()?.value ?? 'the end'}' (only c == v and c != v)`,
        );
      const value = literal(cursor);
      if (cursor.isWord('and') || cursor.isWord('or')) throw notSupported('and/or in where');
      current = {
        columns: current.columns,
        rows: current.rows.filter((row) => equal(row[column], value) !== negate),
      };
    } else if (name === 'count') {
      current = { columns: [{ name: 'Count', type: 'long' }], rows: [[current.rows.length]] };
    } else if (name === 'take' || name === 'limit') {
      const n = cursor.next();
      if (n.kind !== 'number' || !/^\d+$/.test(n.value)) throw syntaxError(`${name} needs a row count`);
      current = { columns: current.columns, rows: current.rows.slice(0, Number(n.value)) };
    } else {
      throw notSupported(`The '${op.value}' operator`);
    }
  }
  return current;
}
