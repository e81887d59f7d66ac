import { Cursor, syntaxError, type Token } from './kqlLexer';
import { KustoError } from './kustoError';
import type { ResultTable } from './resultTable';

/** What may follow a control command's result, as real clients use it. */
export const SUPPORTED_COMMAND_PIPES =
  '| project a, b; | where c == v (or !=, and <, <=, >, >= with numbers and datetime(...)); | count; | take n';

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

type Literal = string | number | boolean | null | Date;

function literal(cursor: Cursor): Literal {
  const t = cursor.next();
  if (t.kind === 'word' && t.value.toLowerCase() === 'datetime' && cursor.acceptPunct('(')) {
    // The lexer splits a datetime into numbers, words and colons with nothing between them: rejoin them.
    let text = '';
    while (!cursor.done && !cursor.isPunct(')')) text += cursor.next().value;
    cursor.expectPunct(')');
    const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(text) ? text : `${text}Z`);
    if (Number.isNaN(ms)) throw syntaxError(`'datetime(${text})' is not a datetime`);
    return new Date(ms);
  }
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
/** An order comparison of a number or datetime cell; other cells (null, strings) never match. */
function compare(cell: unknown, op: string, value: Literal): boolean {
  const left = value instanceof Date ? Date.parse(String(cell)) : Number(cell);
  const right = value instanceof Date ? value.getTime() : Number(value);
  if (cell === null || cell === undefined || Number.isNaN(left) || Number.isNaN(right)) return false;
  switch (op) {
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    default:
      return left >= right;
  }
}

function equal(cell: unknown, value: Literal): boolean {
  if (value === null) return cell === null || cell === undefined;
  if (value instanceof Date) return Date.parse(String(cell)) === value.getTime();
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
      const order = ['<', '<=', '>', '>='].find((op) => cursor.acceptPunct(op));
      const negate = order === undefined && cursor.acceptPunct('!=');
      if (order === undefined && !negate && !cursor.acceptPunct('=='))
        throw notSupported(
          `The where clause near '${cursor.peek()?.value ?? 'the end'}' (only ==, !=, <, <=, >, >=)`,
        );
      const value = literal(cursor);
      if (cursor.isWord('and') || cursor.isWord('or')) throw notSupported('and/or in where');
      current = {
        columns: current.columns,
        rows: current.rows.filter((row) =>
          order !== undefined ? compare(row[column], order, value) : equal(row[column], value) !== negate,
        ),
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
