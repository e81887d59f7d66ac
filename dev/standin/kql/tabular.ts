import { columnTypeName } from '../kqlTypes';
import type { KustoStore } from '../store';
import { summarizeSql } from './aggregates';
import { columnScope, scalar, type Scope } from './scalar';
import {
  columnsOf,
  firstToken,
  isTabular,
  kindOf,
  nameOf,
  parts,
  quoteId,
  sqlString,
  tokenTexts,
  typeOf,
  unsupported,
  type Column,
  type SyntaxNode,
} from './syntax';

/**
 * A tabular expression as SQL: a SELECT whose columns are the Kusto columns by name. When a sort gave
 * the rows an order, the SELECT also carries `__rn`, the row's rank, so later operators keep the order
 * (SQL keeps no order through a subquery).
 */
export interface Stage {
  readonly sql: string;
  readonly columns: readonly Column[];
  readonly ordered: boolean;
}

const RANK = '__rn';

function list(columns: readonly Column[], ordered: boolean): string {
  return [...columns.map((c) => quoteId(c.name)), ...(ordered ? [RANK] : [])].join(', ') || 'NULL';
}

/** The whole stage as one SELECT of its columns, in its order. */
export function finalSql(stage: Stage): string {
  return `SELECT ${list(stage.columns, false)} FROM (${stage.sql})${stage.ordered ? ` ORDER BY ${RANK}` : ''}`;
}

interface Named {
  readonly name?: string;
  readonly expression: SyntaxNode;
}

function named(node: SyntaxNode): Named {
  const kind = kindOf(node);
  if (kind === 'SimpleNamedExpression') {
    const [declaration, expression] = parts(node) as [SyntaxNode, SyntaxNode];
    return { name: nameOf(declaration), expression };
  }
  if (kind === 'CompoundNamedExpression') throw unsupported(`The assignment '${node.toString().trim()}'`);
  return { expression: node };
}

/** Operands of an operator: its expressions, without `kind=...`-style parameters. */
function operands(node: SyntaxNode): SyntaxNode[] {
  return parts(node).filter((p) => kindOf(p) !== 'NamedParameter');
}

function parameter(node: SyntaxNode, name: string): string | undefined {
  for (const p of parts(node).filter((q) => kindOf(q) === 'NamedParameter')) {
    const [declaration, value] = parts(p) as [SyntaxNode, SyntaxNode];
    if (nameOf(declaration).toLowerCase() === name) return value.toString().trim().toLowerCase();
  }
  return undefined;
}

const DATA_TYPE: Readonly<Record<string, string>> = {
  Decimal: 'System.Data.SqlTypes.SqlDecimal',
};

/** Translates the tabular part of a parsed query into SQL stages. One per query: it holds the `let`s. */
export class TabularTranslator {
  private readonly tables = new Map<string, Stage>();
  private readonly scalars = new Map<string, string>();

  constructor(
    private readonly store: KustoStore,
    private readonly database: string,
    private readonly now: number,
  ) {}

  scope(columns: ReadonlyMap<string, string>): Scope {
    return {
      columns,
      lets: this.scalars,
      now: this.now,
      table: (node) => {
        const stage = this.tabular(node);
        return { sql: finalSql(stage), first: stage.columns[0]?.name ?? '' };
      },
    };
  }

  private scopeOf(stage: Stage): Scope {
    return this.scope(columnScope(stage.columns.map((c) => c.name)));
  }

  /** Records a `let`: a table for later references, or a scalar's SQL. */
  let(statement: SyntaxNode): void {
    const [declaration, value] = parts(statement) as [SyntaxNode, SyntaxNode];
    const name = nameOf(declaration);
    if (kindOf(value) === 'FunctionDeclaration')
      throw unsupported(`The function definition 'let ${name} = (...) {...}'`);
    if (isTabular(value)) this.tables.set(name, this.tabular(value));
    else this.scalars.set(name, `(${scalar(value, this.scope(new Map()))})`);
  }

  tabular(node: SyntaxNode): Stage {
    const kind = kindOf(node);
    switch (kind) {
      case 'NameReference':
        return this.reference(node);
      case 'ParenthesizedExpression':
        return this.tabular(parts(node)[0] as SyntaxNode);
      case 'PipeExpression': {
        const [left, operator] = parts(node) as [SyntaxNode, SyntaxNode];
        return this.operator(operator, this.tabular(left), node);
      }
      case 'PrintOperator':
        return this.project(operands(node), { sql: 'SELECT 1', columns: [], ordered: false }, node);
      case 'UnionOperator':
        return this.union(node, [], node);
      default:
        throw unsupported(
          `The '${firstToken(node)?.Text ?? kind}' ${kind.endsWith('Operator') ? 'operator' : 'expression'}`,
        );
    }
  }

  private reference(node: SyntaxNode): Stage {
    const name = node.ReferencedSymbol?.Name ?? nameOf(node);
    const stored = this.tables.get(name);
    if (stored) return stored;
    const table = this.store.table(this.database, name);
    const select = table.columns.map(
      (c, i) => `${c.type === 'string' ? `COALESCE(c${i}, '')` : `c${i}`} AS ${quoteId(c.name)}`,
    );
    return {
      sql: `SELECT ${select.join(', ') || 'NULL'} FROM ${this.store.sqlTable(table)}`,
      columns: table.columns,
      ordered: false,
    };
  }

  private operator(op: SyntaxNode, input: Stage, pipe: SyntaxNode): Stage {
    const kind = kindOf(op);
    const outputs = (): Column[] => columnsOf(pipe);
    const scope = this.scopeOf(input);
    switch (kind) {
      case 'FilterOperator': {
        const condition = operands(op).at(-1) as SyntaxNode;
        return { ...input, sql: `SELECT * FROM (${input.sql}) WHERE ${scalar(condition, scope)}` };
      }
      case 'ProjectOperator':
        return this.project(operands(op), input, pipe);
      case 'ExtendOperator':
        return this.extend(operands(op), input, pipe);
      case 'ProjectAwayOperator':
      case 'ProjectKeepOperator':
      case 'ProjectReorderOperator':
        return this.select(input, outputs(), new Map());
      case 'ProjectRenameOperator': {
        const renames = new Map<string, string>();
        for (const p of operands(op)) {
          const { name, expression } = named(p);
          if (name) renames.set(name, nameOf(expression));
        }
        return this.select(input, outputs(), renames);
      }
      case 'SummarizeOperator': {
        const columns = outputs();
        return { sql: summarizeSql(op, input.sql, scope, columns), columns, ordered: false };
      }
      case 'SortOperator':
        return this.sort(input, operands(op));
      case 'TopOperator': {
        const [count, ...ordering] = operands(op) as [SyntaxNode, ...SyntaxNode[]];
        return this.take(this.sort(input, ordering), scalar(count, scope));
      }
      case 'TakeOperator':
        return this.take(input, scalar(operands(op).at(-1) as SyntaxNode, scope));
      case 'DistinctOperator': {
        const columns = outputs();
        const items = operands(op);
        const select =
          items.length === 1 && kindOf(items[0] as SyntaxNode) === 'StarExpression'
            ? list(columns, false)
            : items
                .map((e, i) => `${scalar(named(e).expression, scope)} AS ${quoteId(columns[i]?.name ?? '')}`)
                .join(', ');
        return { sql: `SELECT DISTINCT ${select} FROM (${input.sql})`, columns, ordered: false };
      }
      case 'CountOperator': {
        const columns = outputs();
        return {
          sql: `SELECT COUNT(*) AS ${quoteId(columns[0]?.name ?? 'Count')} FROM (${input.sql})`,
          columns,
          ordered: false,
        };
      }
      case 'GetSchemaOperator':
        return this.schema(input, outputs());
      case 'UnionOperator':
        return this.union(op, [input], pipe);
      case 'JoinOperator':
        return this.join(op, input, outputs());
      case 'SerializeOperator':
        return input;
      default:
        throw unsupported(`The '${tokenTexts(op)[0] ?? kind}' operator`);
    }
  }

  private select(input: Stage, outputs: readonly Column[], renames: ReadonlyMap<string, string>): Stage {
    const select = outputs.map((c) => `${quoteId(renames.get(c.name) ?? c.name)} AS ${quoteId(c.name)}`);
    if (input.ordered) select.push(RANK);
    return {
      sql: `SELECT ${select.join(', ') || 'NULL'} FROM (${input.sql})`,
      columns: outputs,
      ordered: input.ordered,
    };
  }

  /**
   * project and print: one column per expression, named by the analyzer. A name assigned earlier in
   * the list is seen by later expressions, as in Kusto.
   */
  private project(items: readonly SyntaxNode[], input: Stage, pipe: SyntaxNode): Stage {
    const columns = columnsOf(pipe);
    const visible = new Map(this.scopeOf(input).columns);
    const select: string[] = [];
    items.forEach((item, i) => {
      const column = columns[i];
      if (!column) throw unsupported(`The projection '${item.toString().trim()}'`);
      const sql = scalar(named(item).expression, this.scope(visible));
      select.push(`${sql} AS ${quoteId(column.name)}`);
      visible.set(column.name, `(${sql})`);
    });
    if (input.ordered) select.push(RANK);
    return { sql: `SELECT ${select.join(', ')} FROM (${input.sql})`, columns, ordered: input.ordered };
  }

  /** extend: the input's columns, a redefined one replaced in place, then the new ones. */
  private extend(items: readonly SyntaxNode[], input: Stage, pipe: SyntaxNode): Stage {
    const columns = columnsOf(pipe);
    const visible = new Map(this.scopeOf(input).columns);
    const declared = new Set(items.map((i) => named(i).name).filter((n): n is string => n !== undefined));
    const unnamed = columns
      .map((c) => c.name)
      .filter((n) => !declared.has(n) && !input.columns.some((c) => c.name === n));
    for (const item of items) {
      const { name, expression } = named(item);
      const target = name ?? unnamed.shift();
      if (!target) throw unsupported(`The extension '${item.toString().trim()}'`);
      visible.set(target, `(${scalar(expression, this.scope(visible))})`);
    }
    const select = columns.map((c) => `${visible.get(c.name) ?? quoteId(c.name)} AS ${quoteId(c.name)}`);
    if (input.ordered) select.push(RANK);
    return { sql: `SELECT ${select.join(', ')} FROM (${input.sql})`, columns, ordered: input.ordered };
  }

  /** order/sort by (and top): Kusto's default is descending, nulls last when descending, first when ascending. */
  private sort(input: Stage, ordering: readonly SyntaxNode[]): Stage {
    const scope = this.scopeOf(input);
    const keys = ordering.map((o) => {
      const [expression, clause] = (kindOf(o) === 'OrderedExpression' ? parts(o) : [o]) as [
        SyntaxNode,
        SyntaxNode | undefined,
      ];
      const words = clause ? [...tokenTexts(clause), ...parts(clause).flatMap((p) => tokenTexts(p))] : [];
      const ascending = words.includes('asc');
      const nullsFirst = words.includes('first') || (ascending && !words.includes('last'));
      const sql = scalar(expression, scope);
      const comparable = typeOf(expression) === 'dynamic' ? `kscalar(${sql})` : sql;
      return `${comparable} ${ascending ? 'ASC' : 'DESC'} NULLS ${nullsFirst ? 'FIRST' : 'LAST'}`;
    });
    if (input.ordered) keys.push(RANK);
    const select = `${list(input.columns, false)}, ROW_NUMBER() OVER (ORDER BY ${keys.join(', ')}) AS ${RANK}`;
    return { sql: `SELECT ${select} FROM (${input.sql})`, columns: input.columns, ordered: true };
  }

  private take(input: Stage, count: string): Stage {
    return {
      ...input,
      sql: `SELECT * FROM (${input.sql})${input.ordered ? ` ORDER BY ${RANK}` : ''} LIMIT MAX(0, ${count})`,
    };
  }

  private schema(input: Stage, columns: readonly Column[]): Stage {
    const rows = input.columns.map((c, i) => {
      const { dataType } = columnTypeName(c.type);
      return `(${sqlString(c.name)}, ${i}, ${sqlString(DATA_TYPE[dataType] ?? `System.${dataType}`)}, ${sqlString(c.type)})`;
    });
    const select = columns.map((c, i) => `column${i + 1} AS ${quoteId(c.name)}`).join(', ');
    const values = rows.length ? rows.join(', ') : '(NULL, NULL, NULL, NULL)';
    return {
      sql: `SELECT ${select} FROM (VALUES ${values})${rows.length ? '' : ' WHERE 0'}`,
      columns,
      ordered: false,
    };
  }

  private union(op: SyntaxNode, inputs: Stage[], pipe: SyntaxNode): Stage {
    if (parameter(op, 'withsource') !== undefined) throw unsupported("union's withsource=");
    const columns = columnsOf(pipe);
    const all = [...inputs, ...operands(op).map((e) => this.tabular(e))];
    const selects = all.map((stage) => {
      const names = new Set(stage.columns.map((c) => c.name));
      return `SELECT ${columns.map((c) => `${names.has(c.name) ? quoteId(c.name) : 'NULL'} AS ${quoteId(c.name)}`).join(', ')} FROM (${stage.sql})`;
    });
    return { sql: selects.join(' UNION ALL '), columns, ordered: false };
  }

  private join(op: SyntaxNode, left: Stage, outputs: readonly Column[]): Stage {
    const kind = parameter(op, 'kind') ?? 'innerunique';
    const [rightNode, on] = operands(op).filter((p) => kindOf(p) !== 'NamedParameter') as [
      SyntaxNode,
      SyntaxNode,
    ];
    if (kindOf(on) !== 'JoinOnClause') throw unsupported("join without 'on' keys");
    const right = this.tabular(rightNode);
    const pairs = parts(on).map((key): [string, string] => {
      if (kindOf(key) === 'NameReference') return [nameOf(key), nameOf(key)];
      const sides = parts(key);
      if (sides.length !== 2 || tokenTexts(key)[0] !== '==')
        throw unsupported(`The join key '${key.toString().trim()}'`);
      const side = (n: SyntaxNode): [string, string] => {
        const [owner, member] = parts(n) as [SyntaxNode, SyntaxNode];
        return [nameOf(owner).toLowerCase(), nameOf(member)];
      };
      const [a, b] = sides.map(side) as [[string, string], [string, string]];
      return a[0] === '$left' ? [a[1], b[1]] : [b[1], a[1]];
    });
    const condition = pairs.map(([l, r]) => `l.${quoteId(l)} = r.${quoteId(r)}`).join(' AND ');
    const leftColumns = left.columns.map((c) => c.name);
    let leftSql = `SELECT ${list(left.columns, false)} FROM (${left.sql})`;
    if (kind === 'innerunique') {
      // innerunique (the default) keeps one left row per key before joining.
      const keys = pairs.map(([l]) => quoteId(l)).join(', ');
      leftSql = `SELECT ${list(left.columns, false)} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${keys}) AS __u FROM (${left.sql})) WHERE __u = 1`;
    }
    const pick = (alias: string, names: readonly string[], from: number) =>
      names.map((n, i) => `${alias}.${quoteId(n)} AS ${quoteId(outputs[from + i]?.name ?? n)}`);
    const rightColumns = right.columns.map((c) => c.name);
    let sql: string;
    switch (kind) {
      case 'inner':
      case 'innerunique':
      case 'leftouter':
      case 'rightouter':
      case 'fullouter': {
        const join = {
          inner: 'JOIN',
          innerunique: 'JOIN',
          leftouter: 'LEFT JOIN',
          rightouter: 'RIGHT JOIN',
          fullouter: 'FULL JOIN',
        }[kind];
        const select = [...pick('l', leftColumns, 0), ...pick('r', rightColumns, leftColumns.length)];
        sql = `SELECT ${select.join(', ')} FROM (${leftSql}) l ${join} (${right.sql}) r ON ${condition}`;
        break;
      }
      case 'leftsemi':
      case 'leftanti':
        sql = `SELECT ${pick('l', leftColumns, 0).join(', ')} FROM (${leftSql}) l WHERE ${kind === 'leftanti' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM (${right.sql}) r WHERE ${condition})`;
        break;
      case 'rightsemi':
      case 'rightanti':
        sql = `SELECT ${pick('r', rightColumns, 0).join(', ')} FROM (${right.sql}) r WHERE ${kind === 'rightanti' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM (${left.sql}) l WHERE ${condition})`;
        break;
      default:
        throw unsupported(`join kind=${kind}`);
    }
    return { sql, columns: outputs, ordered: false };
  }
}
