import { scalar, type Scope } from './scalar';
import { kindOf, nameOf, parts, quoteId, typeOf, unsupported, type Column, type SyntaxNode } from './syntax';

/** One aggregate of a summarize: the SQL of each output column it makes, in order. */
type Aggregate = (args: SyntaxNode[], scope: Scope, width: number, outputs: readonly Column[]) => string[];

const one =
  (sql: (args: SyntaxNode[], scope: Scope) => string): Aggregate =>
  (args, scope) => [sql(args, scope)];

const arg = (args: SyntaxNode[], i: number): SyntaxNode => {
  const node = args[i];
  if (!node) throw unsupported('An aggregate without its argument');
  return node;
};

/** The value aggregates compare: a dynamic value unwrapped to its scalar. */
function value(node: SyntaxNode, scope: Scope): string {
  const sql = scalar(node, scope);
  return typeOf(node) === 'dynamic' ? `kscalar(${sql})` : sql;
}

/**
 * arg_max/arg_min: the row where the first argument is largest (smallest); the other columns come from
 * that row. The row's values travel as one JSON array through a JavaScript aggregate, so the other
 * aggregates of the same summarize still share its GROUP BY.
 */
const argExtreme =
  (direction: 'max' | 'min'): Aggregate =>
  (args, scope, width, outputs) => {
    const [subject, ...rest] = args as [SyntaxNode, ...SyntaxNode[]];
    const values = [scalar(subject, scope)];
    const explicit = rest.filter((a) => kindOf(a) !== 'StarExpression');
    for (const a of explicit)
      values.push(
        kindOf(a) === 'SimpleNamedExpression' ? scalar(parts(a)[1] as SyntaxNode, scope) : scalar(a, scope),
      );
    // `*` adds the input's other columns, named as the analyzer named them.
    for (const c of outputs.slice(values.length, width)) {
      const sql = scope.columns.get(c.name);
      if (sql === undefined) throw unsupported(`The column '${c.name}' of arg_${direction}()`);
      values.push(sql);
    }
    const row = `karg${direction}(${value(subject, scope)}, json_array(${values.join(', ')}))`;
    return values.map((_, i) => `json_extract(${row}, '$[${i}]')`);
  };

const percentiles: Aggregate = (args, scope) => {
  const [subject, ...levels] = args as [SyntaxNode, ...SyntaxNode[]];
  return levels.map((p) => `kpercentile(${value(subject, scope)}, ${scalar(p, scope)})`);
};

const AGGREGATES: Readonly<Record<string, Aggregate>> = {
  count: one(() => 'COUNT(*)'),
  countif: one((a, s) => `COALESCE(SUM(CASE WHEN ${scalar(arg(a, 0), s)} THEN 1 ELSE 0 END), 0)`),
  sum: one((a, s) => `SUM(${value(arg(a, 0), s)})`),
  sumif: one((a, s) => `SUM(CASE WHEN ${scalar(arg(a, 1), s)} THEN ${value(arg(a, 0), s)} END)`),
  avg: one((a, s) => `AVG(${value(arg(a, 0), s)})`),
  avgif: one((a, s) => `AVG(CASE WHEN ${scalar(arg(a, 1), s)} THEN ${value(arg(a, 0), s)} END)`),
  min: one((a, s) => `MIN(${value(arg(a, 0), s)})`),
  max: one((a, s) => `MAX(${value(arg(a, 0), s)})`),
  take_any: one((a, s) => `MIN(${scalar(arg(a, 0), s)})`),
  dcount: one((a, s) => `COUNT(DISTINCT ${value(arg(a, 0), s)})`),
  arg_max: argExtreme('max'),
  arg_min: argExtreme('min'),
  make_list: one(
    (a, s) =>
      `kmakelist(${scalar(arg(a, 0), s)}, '${typeOf(arg(a, 0))}', ${a[1] ? scalar(a[1], s) : 1048576})`,
  ),
  make_set: one(
    (a, s) =>
      `kmakeset(${scalar(arg(a, 0), s)}, '${typeOf(arg(a, 0))}', ${a[1] ? scalar(a[1], s) : 1048576})`,
  ),
  percentile: percentiles,
  percentiles,
};

interface Named {
  readonly name?: string;
  readonly call: SyntaxNode;
}

function named(node: SyntaxNode): Named {
  if (kindOf(node) === 'SimpleNamedExpression') {
    const [declaration, expression] = parts(node) as [SyntaxNode, SyntaxNode];
    return { name: nameOf(declaration), call: expression };
  }
  return { call: node };
}

function aggregateOf(call: SyntaxNode): { fn: Aggregate; args: SyntaxNode[]; name: string } {
  if (kindOf(call) !== 'FunctionCallExpression')
    throw unsupported(`The aggregate '${call.toString().trim()}'`);
  const [callee, list] = parts(call) as [SyntaxNode, SyntaxNode];
  const name = (call.ReferencedSymbol?.Name ?? nameOf(callee)).toLowerCase();
  const fn = AGGREGATES[name];
  if (!fn) throw unsupported(`The aggregate function '${name}()'`);
  return { fn, args: parts(list), name };
}

/** How many output columns an aggregate makes, when known before the others are counted. */
function fixedWidth(name: string, args: SyntaxNode[]): number | undefined {
  if (name === 'percentiles' || name === 'percentile') return args.length - 1;
  if (name === 'arg_max' || name === 'arg_min')
    return args.some((a) => kindOf(a) === 'StarExpression') ? undefined : args.length;
  return 1;
}

/**
 * The SELECT of a summarize over its input: the `by` keys first, then each aggregate's columns, named
 * as the analyzer named them (`count_`, `max_x`, `ts` for `bin(ts, 1d)`).
 */
export function summarizeSql(
  operator: SyntaxNode,
  input: string,
  scope: Scope,
  outputs: readonly Column[],
): string {
  const items = parts(operator).filter((p) => kindOf(p) !== 'NamedParameter');
  const byClause = items.find((p) => kindOf(p) === 'SummarizeByClause');
  const keys = byClause ? parts(byClause).map((k) => named(k).call) : [];
  const aggregates = items.filter((p) => p !== byClause).map((a) => aggregateOf(named(a).call));
  const known = aggregates.map((a) => fixedWidth(a.name, a.args));
  const unknown = known.filter((w) => w === undefined).length;
  if (unknown > 1) throw unsupported('More than one arg_max/arg_min(..., *) in one summarize');
  const rest = outputs.length - keys.length - known.reduce<number>((sum, w) => sum + (w ?? 0), 0);
  const select: string[] = keys.map((k, i) => `${scalar(k, scope)} AS ${quoteId(outputs[i]?.name ?? '')}`);
  let at = keys.length;
  aggregates.forEach((a, i) => {
    const width = known[i] ?? rest;
    const columns = outputs.slice(at, at + width);
    const sql = a.fn(a.args, scope, width, columns);
    sql.forEach((s, j) => select.push(`${s} AS ${quoteId(columns[j]?.name ?? '')}`));
    at += width;
  });
  const groupBy = keys.length ? ` GROUP BY ${keys.map((_, i) => i + 1).join(', ')}` : '';
  return `SELECT ${select.join(', ')} FROM (${input})${groupBy}`;
}
