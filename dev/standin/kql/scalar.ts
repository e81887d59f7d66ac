import { convert, type KqlType } from '../kqlTypes';
import {
  children,
  columnsOf,
  isTabular,
  kindOf,
  nameOf,
  parts,
  quoteId,
  sqlString,
  tokenTexts,
  typeOf,
  unsupported,
  type SyntaxNode,
} from './syntax';

/**
 * Scalar expressions as SQL over the stand-in's stored forms: datetime as epoch milliseconds, timespan
 * as 100 ns ticks, bool as 0/1, dynamic as JSON text, strings never null (Kusto has no null string).
 * What SQL lacks (Kusto's string operators, dynamic access, conversions) is a function registered in
 * sqlFunctions.ts; their names start with `k`.
 */
export interface Scope {
  /** SQL for each column the expression sees, by Kusto name. */
  readonly columns: ReadonlyMap<string, string>;
  /** Scalar `let` values, as SQL. */
  readonly lets: ReadonlyMap<string, string>;
  /** The query's `now()`, fixed for the whole query as Kusto fixes it. */
  readonly now: number;
  /** SQL of a tabular expression used inside a scalar one (`x in (T | project y)`, `toscalar(...)`). */
  readonly table: (node: SyntaxNode) => { readonly sql: string; readonly first: string };
}

const MS_PER_DAY = 86_400_000;
const TICKS_PER_MS = 10_000;

function literal(node: SyntaxNode): string {
  const type = typeOf(node);
  const token = children(node).find((c) => c.IsToken && c.Text !== '(' && c.Text !== ')');
  const text = token?.ValueText ?? '';
  if (/^null$/i.test(text) || kindOf(node) === 'NullLiteralExpression') return 'NULL';
  const value = type === 'string' ? text : convert(text, type);
  if (value === null) throw unsupported(`The literal '${node.toString().trim()}'`);
  return sqlValue(value);
}

export function sqlValue(value: string | number | bigint): string {
  if (typeof value === 'string') return sqlString(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return 'NULL';
  return String(value);
}

function compoundString(node: SyntaxNode): string {
  return sqlString(
    children(node)
      .flatMap((c) => (c.IsToken ? [c] : children(c).filter((t) => t.IsToken)))
      .map((t) => t.ValueText)
      .join(''),
  );
}

/** The expression as text, for the string operators: Kusto converts other types with tostring(). */
function text(node: SyntaxNode, scope: Scope): string {
  const sql = scalar(node, scope);
  const type = typeOf(node);
  return type === 'string' ? sql : `ktostring(${sql}, '${type}')`;
}

/** The expression as a value SQL compares: a dynamic value is unwrapped to its scalar. */
function comparable(node: SyntaxNode, scope: Scope): string {
  const sql = scalar(node, scope);
  return typeOf(node) === 'dynamic' ? `kscalar(${sql})` : sql;
}

const STRING_OPERATORS: Readonly<Record<string, (a: string, b: string) => string>> = {
  '=~': (a, b) => `(klower(${a}) = klower(${b}))`,
  '!~': (a, b) => `(klower(${a}) <> klower(${b}))`,
  has: (a, b) => `khas(${a}, ${b}, 0)`,
  has_cs: (a, b) => `khas(${a}, ${b}, 1)`,
  hasprefix: (a, b) => `khasprefix(${a}, ${b}, 0)`,
  hasprefix_cs: (a, b) => `khasprefix(${a}, ${b}, 1)`,
  hassuffix: (a, b) => `khassuffix(${a}, ${b}, 0)`,
  hassuffix_cs: (a, b) => `khassuffix(${a}, ${b}, 1)`,
  contains: (a, b) => `kcontains(${a}, ${b}, 0)`,
  contains_cs: (a, b) => `kcontains(${a}, ${b}, 1)`,
  startswith: (a, b) => `kstartswith(${a}, ${b}, 0)`,
  startswith_cs: (a, b) => `kstartswith(${a}, ${b}, 1)`,
  endswith: (a, b) => `kendswith(${a}, ${b}, 0)`,
  endswith_cs: (a, b) => `kendswith(${a}, ${b}, 1)`,
  'matches regex': (a, b) => `kregex(${a}, ${b})`,
};

const COMPARISONS: Readonly<Record<string, string>> = {
  '==': '=',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};

function arithmetic(op: string, node: SyntaxNode, scope: Scope): string {
  const [left, right] = parts(node) as [SyntaxNode, SyntaxNode];
  const a = comparable(left, scope);
  const b = comparable(right, scope);
  const lt = typeOf(left);
  const rt = typeOf(right);
  const result = typeOf(node);
  if (op === '+' || op === '-') {
    if (lt === 'datetime' && rt === 'timespan') return `(${a} ${op} (${b}) / ${TICKS_PER_MS})`;
    if (lt === 'timespan' && rt === 'datetime' && op === '+') return `(${b} + (${a}) / ${TICKS_PER_MS})`;
    if (lt === 'datetime' && rt === 'datetime') return `((${a} - ${b}) * ${TICKS_PER_MS})`;
  }
  if (result === 'timespan' && (op === '*' || op === '/')) return `CAST(${a} ${op} ${b} AS INTEGER)`;
  if (op === '/' && result === 'real') return `(CAST(${a} AS REAL) / ${b})`;
  return `(${a} ${op} ${b})`;
}

function inList(node: SyntaxNode, scope: Scope, op: string): string {
  const [left, list] = parts(node) as [SyntaxNode, SyntaxNode];
  const caseless = op.endsWith('~');
  const negate = op.startsWith('!');
  const items = parts(list);
  const value = (sql: string) => (caseless ? `klower(${sql})` : sql);
  const subject = value(comparable(left, scope));
  let set: string;
  const only = items[0];
  if (items.length === 1 && only && isTabular(only)) {
    const sub = scope.table(only);
    set = `SELECT ${value(quoteId(sub.first))} FROM (${sub.sql})`;
  } else if (items.length === 1 && only && typeOf(only) === 'dynamic') {
    set = `SELECT ${value('value')} FROM json_each(${scalar(only, scope)})`;
  } else {
    set = items.map((i) => value(comparable(i, scope))).join(', ');
  }
  return `(${subject} ${negate ? 'NOT IN' : 'IN'} (${set}))`;
}

function between(node: SyntaxNode, scope: Scope, negate: boolean): string {
  const [left, couple] = parts(node) as [SyntaxNode, SyntaxNode];
  const [lo, hi] = parts(couple) as [SyntaxNode, SyntaxNode];
  const subject = comparable(left, scope);
  const low = comparable(lo, scope);
  // `ts between (datetime(...) .. 1d)`: the upper bound is an offset from the lower one.
  const high =
    typeOf(left) === 'datetime' && typeOf(hi) === 'timespan'
      ? `(${low} + (${scalar(hi, scope)}) / ${TICKS_PER_MS})`
      : comparable(hi, scope);
  return `(${subject} ${negate ? 'NOT BETWEEN' : 'BETWEEN'} ${low} AND ${high})`;
}

function binary(node: SyntaxNode, scope: Scope): string {
  const op = tokenTexts(node).join(' ');
  if (op === 'in' || op === 'in~' || op === '!in' || op === '!in~') return inList(node, scope, op);
  if (op === 'between' || op === '!between') return between(node, scope, op === '!between');
  const [left, right] = parts(node) as [SyntaxNode, SyntaxNode];
  if (op === 'and' || op === 'or')
    return `(${scalar(left, scope)} ${op.toUpperCase()} ${scalar(right, scope)})`;
  if (['+', '-', '*', '/', '%'].includes(op)) return arithmetic(op, node, scope);
  const comparison = COMPARISONS[op];
  if (comparison) return `(${comparable(left, scope)} ${comparison} ${comparable(right, scope)})`;
  const negated = op.startsWith('!') && op !== '!~';
  const stringOp = STRING_OPERATORS[negated ? op.slice(1) : op];
  if (stringOp) {
    const sql = stringOp(text(left, scope), text(right, scope));
    return negated ? `(NOT ${sql})` : sql;
  }
  throw unsupported(`The operator '${op}'`);
}

function reference(node: SyntaxNode, scope: Scope): string {
  const name = node.ReferencedSymbol?.Name ?? nameOf(node);
  const column = scope.columns.get(name);
  if (column !== undefined) return column;
  const value = scope.lets.get(name);
  if (value !== undefined) return value;
  throw unsupported(`The name '${name}' here`);
}

/** Kusto's bin(): round down to a multiple of the size, in the stored unit of the value's type. */
function bin(value: string, type: KqlType, size: string): string {
  if (type === 'real' || type === 'decimal') return `(floor((${value}) / (${size})) * (${size}))`;
  const step = type === 'datetime' ? `((${size}) / ${TICKS_PER_MS})` : `(${size})`;
  return `(${value} - (((${value}) % ${step}) + ${step}) % ${step})`;
}

function nonEmptyString(sql: string): string {
  return `NULLIF(${sql}, '')`;
}

type Call = (args: SyntaxNode[], scope: Scope, node: SyntaxNode) => string;

const conversion =
  (to: KqlType): Call =>
  ([arg], scope) => {
    if (!arg) throw unsupported(`to${to}() without an argument`);
    const from = typeOf(arg);
    return from === to ? scalar(arg, scope) : `kconvert(${scalar(arg, scope)}, '${from}', '${to}')`;
  };

const startOf =
  (unit: string): Call =>
  ([arg], scope) =>
    `kstartof(${scalar(arg as SyntaxNode, scope)}, '${unit}')`;

const FUNCTIONS: Readonly<Record<string, Call>> = {
  now: (_args, scope) => String(scope.now),
  ago: ([span], scope) => `(${scope.now} - (${scalar(span as SyntaxNode, scope)}) / ${TICKS_PER_MS})`,
  bin: ([value, size], scope) =>
    bin(scalar(value as SyntaxNode, scope), typeOf(value as SyntaxNode), scalar(size as SyntaxNode, scope)),
  floor: (args, scope, node) => FUNCTIONS.bin?.(args, scope, node) ?? '',
  startofday: ([arg], scope) =>
    bin(scalar(arg as SyntaxNode, scope), 'datetime', String(MS_PER_DAY * TICKS_PER_MS)),
  startofweek: startOf('week'),
  startofmonth: startOf('month'),
  startofyear: startOf('year'),
  format_datetime: ([value, format], scope) =>
    `kformatdatetime(${scalar(value as SyntaxNode, scope)}, ${scalar(format as SyntaxNode, scope)})`,
  tostring: ([arg], scope) => text(arg as SyntaxNode, scope),
  toint: conversion('int'),
  tolong: conversion('long'),
  todouble: conversion('real'),
  toreal: conversion('real'),
  tobool: conversion('bool'),
  toboolean: conversion('bool'),
  todatetime: conversion('datetime'),
  totimespan: conversion('timespan'),
  toguid: conversion('guid'),
  todecimal: conversion('decimal'),
  parse_json: ([arg], scope) =>
    `kparsejson(${scalar(arg as SyntaxNode, scope)}, '${typeOf(arg as SyntaxNode)}')`,
  todynamic: (args, scope, node) => FUNCTIONS.parse_json?.(args, scope, node) ?? '',
  strlen: ([arg], scope) => `length(${text(arg as SyntaxNode, scope)})`,
  substring: ([value, start, length], scope) =>
    `substr(${text(value as SyntaxNode, scope)}, (${scalar(start as SyntaxNode, scope)}) + 1${length ? `, ${scalar(length, scope)}` : ''})`,
  tolower: ([arg], scope) => `klower(${text(arg as SyntaxNode, scope)})`,
  toupper: ([arg], scope) => `kupper(${text(arg as SyntaxNode, scope)})`,
  strcat: (args, scope) => `(${args.map((a) => text(a, scope)).join(' || ')})`,
  split: ([value, delimiter, index], scope) =>
    `ksplit(${text(value as SyntaxNode, scope)}, ${text(delimiter as SyntaxNode, scope)}${index ? `, ${scalar(index, scope)}` : ''})`,
  replace_string: ([value, find, replacement], scope) =>
    `replace(${text(value as SyntaxNode, scope)}, ${text(find as SyntaxNode, scope)}, ${text(replacement as SyntaxNode, scope)})`,
  iff: ([condition, then, otherwise], scope) =>
    `(CASE WHEN ${scalar(condition as SyntaxNode, scope)} THEN ${scalar(then as SyntaxNode, scope)} ELSE ${scalar(otherwise as SyntaxNode, scope)} END)`,
  iif: (args, scope, node) => FUNCTIONS.iff?.(args, scope, node) ?? '',
  case: (args, scope) => {
    const branches: string[] = [];
    for (let i = 0; i + 1 < args.length; i += 2)
      branches.push(
        `WHEN ${scalar(args[i] as SyntaxNode, scope)} THEN ${scalar(args[i + 1] as SyntaxNode, scope)}`,
      );
    return `(CASE ${branches.join(' ')} ELSE ${scalar(args[args.length - 1] as SyntaxNode, scope)} END)`;
  },
  coalesce: (args, scope, node) =>
    typeOf(node) === 'string'
      ? `COALESCE(${args.map((a) => nonEmptyString(scalar(a, scope))).join(', ')}, '')`
      : `COALESCE(${args.map((a) => scalar(a, scope)).join(', ')})`,
  isnull: ([arg], scope) => `(${scalar(arg as SyntaxNode, scope)} IS NULL)`,
  isnotnull: ([arg], scope) => `(${scalar(arg as SyntaxNode, scope)} IS NOT NULL)`,
  isempty: ([arg], scope) => `(COALESCE(${text(arg as SyntaxNode, scope)}, '') = '')`,
  isnotempty: ([arg], scope) => `(COALESCE(${text(arg as SyntaxNode, scope)}, '') <> '')`,
  not: ([arg], scope) => `(NOT ${scalar(arg as SyntaxNode, scope)})`,
  abs: ([arg], scope) => `abs(${comparable(arg as SyntaxNode, scope)})`,
  round: ([value, digits], scope) =>
    `round(${comparable(value as SyntaxNode, scope)}${digits ? `, ${scalar(digits, scope)}` : ''})`,
  array_length: ([arg], scope) => `json_array_length(${scalar(arg as SyntaxNode, scope)})`,
  pack_array: (args, scope) => `json_array(${args.map((a) => jsonOf(a, scope)).join(', ')})`,
  bag_pack: (args, scope) =>
    `json_object(${args.map((a, i) => (i % 2 === 0 ? text(a, scope) : jsonOf(a, scope))).join(', ')})`,
  pack: (args, scope, node) => FUNCTIONS.bag_pack?.(args, scope, node) ?? '',
  toscalar: ([arg], scope) => {
    const sub = scope.table(arg as SyntaxNode);
    return `(SELECT ${quoteId(sub.first)} FROM (${sub.sql}) LIMIT 1)`;
  },
};

/** A value as JSON (for building dynamic values): json() keeps SQLite from quoting it twice. */
export function jsonOf(node: SyntaxNode, scope: Scope): string {
  return `json(kjson(${scalar(node, scope)}, '${typeOf(node)}'))`;
}

function call(node: SyntaxNode, scope: Scope): string {
  const [callee, list] = parts(node) as [SyntaxNode, SyntaxNode];
  const name = (node.ReferencedSymbol?.Name ?? nameOf(callee)).toLowerCase();
  const fn = FUNCTIONS[name];
  if (!fn) throw unsupported(`The function '${name}()'`);
  return fn(parts(list), scope, node);
}

const LITERALS = new Set([
  'BooleanLiteralExpression',
  'IntLiteralExpression',
  'LongLiteralExpression',
  'RealLiteralExpression',
  'DecimalLiteralExpression',
  'DateTimeLiteralExpression',
  'TimespanLiteralExpression',
  'GuidLiteralExpression',
  'StringLiteralExpression',
  'NullLiteralExpression',
]);

/** Translates a scalar expression to SQL. */
export function scalar(node: SyntaxNode, scope: Scope): string {
  const kind = kindOf(node);
  if (LITERALS.has(kind)) return literal(node);
  switch (kind) {
    case 'CompoundStringLiteralExpression':
      return compoundString(node);
    case 'DynamicExpression':
      return sqlString(JSON.stringify(JSON.parse(String(node.LiteralValue))));
    case 'ParenthesizedExpression':
      return `(${scalar(parts(node)[0] as SyntaxNode, scope)})`;
    case 'NameReference':
      return reference(node, scope);
    case 'PathExpression': {
      const [subject, member] = parts(node) as [SyntaxNode, SyntaxNode];
      return `kget(${scalar(subject, scope)}, ${sqlString(nameOf(member))})`;
    }
    case 'ElementExpression': {
      const [subject, bracketed] = parts(node) as [SyntaxNode, SyntaxNode];
      return `kget(${scalar(subject, scope)}, ${scalar(parts(bracketed)[0] as SyntaxNode, scope)})`;
    }
    case 'FunctionCallExpression':
      return call(node, scope);
    case 'UnaryMinusExpression':
      return `(-${scalar(parts(node)[0] as SyntaxNode, scope)})`;
    case 'UnaryPlusExpression':
      return scalar(parts(node)[0] as SyntaxNode, scope);
    case 'ToScalarExpression': {
      const sub = scope.table(parts(node)[0] as SyntaxNode);
      return `(SELECT ${quoteId(sub.first)} FROM (${sub.sql}) LIMIT 1)`;
    }
    default:
      if (kind.endsWith('Expression') && parts(node).length >= 2 && tokenTexts(node).length > 0)
        return binary(node, scope);
      throw unsupported(`The expression '${node.toString().trim()}' (${kind})`);
  }
}

/** A column reference's SQL in a scope built from a table's columns. */
export function columnScope(names: readonly string[], alias?: string): Map<string, string> {
  return new Map(names.map((n) => [n, alias ? `${alias}.${quoteId(n)}` : quoteId(n)]));
}

export { columnsOf };
