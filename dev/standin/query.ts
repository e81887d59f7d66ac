import type { Stored } from './kqlTypes';
import { toJsonValue } from './kqlTypes';
import { KustoError } from './kustoError';
import { analyze, KqlDiagnosticError } from './kql/kustoLanguage';
import { kindOf, parts, unsupported, type SyntaxNode } from './kql/syntax';
import { finalSql, TabularTranslator } from './kql/tabular';
import type { ResultTable } from './resultTable';
import type { KustoStore } from './store';

export type { ResultTable } from './resultTable';

function fromSql(value: unknown, type: ResultTable['columns'][number]['type']): unknown {
  const stored: Stored =
    typeof value === 'bigint'
      ? value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value
      : (value as Stored);
  // Kusto has no null string: an unmatched outer-join column reads as empty.
  return stored === null && type === 'string' ? '' : toJsonValue(stored, type);
}

/** Statements that set options for the query (`set notruncation;`): they change nothing locally. */
const OPTION_STATEMENTS = new Set(['SetOptionStatement', 'QueryParametersStatement']);

/** A query as the store runs it: one SELECT, and the columns it gives, named and typed by the analyzer. */
export interface TranslatedQuery {
  readonly sql: string;
  readonly columns: ResultTable['columns'];
}

/**
 * Translates a KQL query against one database: Kusto.Language parses and analyzes it (its diagnostics
 * are the errors), and the tree becomes one SQL SELECT over the store's tables.
 */
export function translateQuery(
  store: KustoStore,
  database: string,
  text: string,
  now = Date.now(),
): TranslatedQuery {
  const db = store.database(database);
  const tables = store.tables(db).map((t) => ({ name: t.name, columns: t.columns }));
  let root: SyntaxNode;
  try {
    root = analyze(text, db, tables);
  } catch (e) {
    // An unknown table is reported as the service reports it, with the parser's diagnostic beside: a
    // name the parser knows is a table (KS204), or an unknown name that starts a statement.
    const missing =
      e instanceof KqlDiagnosticError &&
      (e.diagnostic.code === 'KS204' ||
        (e.diagnostic.code === 'KS142' && /(^|;)\s*$/.test(text.slice(0, e.diagnostic.position)))) &&
      /^The name '(.+)' does not refer to any known/.exec(e.diagnostic.message);
    if (missing)
      throw new KustoError(
        'BadRequest_TableNotExist',
        `Table '${missing[1] ?? ''}' was not found in database '${db}'. (${e instanceof Error ? e.message : ''})`,
        400,
      );
    throw e;
  }
  const translator = new TabularTranslator(store, db, now);
  let result: SyntaxNode | undefined;
  for (const statement of parts(root)) {
    const kind = kindOf(statement);
    if (kind === 'LetStatement') translator.let(statement);
    else if (kind === 'ExpressionStatement') {
      if (result) throw unsupported('A query with more than one result (statements after the first)');
      result = parts(statement)[0];
    } else if (!OPTION_STATEMENTS.has(kind))
      throw unsupported(`The statement '${statement.toString().trim()}'`);
  }
  if (!result)
    throw new KustoError('BadRequest_SyntaxError', 'The query has no tabular expression to run.', 400);
  const stage = translator.tabular(result);
  return { sql: finalSql(stage), columns: stage.columns };
}

/** Runs a KQL query; the result keeps the column names and types the analyzer gave it. */
export function runQuery(store: KustoStore, database: string, text: string, now = Date.now()): ResultTable {
  const { sql, columns } = translateQuery(store, database, text, now);
  const rows = store.select(sql, []).map((row) => columns.map((c, i) => fromSql(row[i], c.type)));
  return { columns, rows };
}
