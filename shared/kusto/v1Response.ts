/** A v1 REST result table (docs/protocol.md, 'Management commands'). */
export interface KustoTable {
  readonly tableName: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

interface RawV1Table {
  TableName?: unknown;
  Columns?: unknown;
  Rows?: unknown;
}

/** Parses `{ Tables: [{ TableName, Columns: [{ ColumnName }], Rows }] }`; throws on any other shape. */
export function parseV1Response(body: unknown): KustoTable[] {
  const tables = (body as { Tables?: unknown } | null)?.Tables;
  if (!Array.isArray(tables)) throw new TypeError('the response has no Tables array');
  return tables.map((raw: RawV1Table, i) => {
    if (!Array.isArray(raw.Columns) || !Array.isArray(raw.Rows)) {
      throw new TypeError(`table ${i} of the response has no Columns or Rows`);
    }
    const columns = raw.Columns.map((c: { ColumnName?: unknown }) => {
      if (typeof c.ColumnName !== 'string') throw new TypeError(`table ${i} has a column without a name`);
      return c.ColumnName;
    });
    const rows = raw.Rows.map((r: unknown) => {
      if (!Array.isArray(r)) throw new TypeError(`table ${i} has a row that is not an array`);
      return r as unknown[];
    });
    return { tableName: typeof raw.TableName === 'string' ? raw.TableName : `Table_${i}`, columns, rows };
  });
}

/** Rows of a table as objects keyed by column name. */
export function rowsAsObjects(table: KustoTable): Record<string, unknown>[] {
  return table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i]])));
}
