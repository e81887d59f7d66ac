import { Cursor, syntaxError } from '../kqlLexer';
import { KustoError } from '../kustoError';
import { KQL_TYPES, parseKqlType } from '../kqlTypes';
import type { ColumnDef, TableInfo } from '../store';

export const MAPPING_KINDS = ['csv', 'json', 'avro', 'apacheavro', 'parquet', 'orc', 'w3clogfile', 'sstream'];

/** The columns of `.show table T cslschema` and of `.create table`'s answer (the docs' table schema result). */
export const TABLE_SCHEMA_COLUMNS = [
  ['TableName', 'string'],
  ['Schema', 'string'],
  ['DatabaseName', 'string'],
  ['Folder', 'string'],
  ['DocString', 'string'],
] as const;

export const cslSchemaOf = (t: TableInfo): string => t.columns.map((c) => `${c.name}:${c.type}`).join(',');

/** `(c:type, ...)` of `.create table`. */
export function columnDefs(cursor: Cursor): ColumnDef[] {
  cursor.expectPunct('(');
  const defs: ColumnDef[] = [];
  if (!cursor.acceptPunct(')')) {
    do {
      const name = cursor.name();
      cursor.expectPunct(':');
      const typeName = cursor.name();
      const type = parseKqlType(typeName);
      if (!type) throw syntaxError(`unknown column type '${typeName}': use one of ${KQL_TYPES.join(', ')}`);
      defs.push({ name, type });
    } while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  return defs;
}

/** `with (k=v, k2='v2')`: values are literals or names. */
export function withProperties(cursor: Cursor): Record<string, string> {
  const props: Record<string, string> = {};
  if (!cursor.acceptWord('with')) return props;
  cursor.expectPunct('(');
  if (!cursor.acceptPunct(')')) {
    do {
      const key = cursor.name();
      cursor.expectPunct('=');
      const value = cursor.next();
      props[key] = value.value;
    } while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  return props;
}

/** A property by name, case-insensitively. */
export function prop(props: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(props).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : props[key];
}

export function jsonList(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed) && parsed.every((v) => typeof v === 'string')) return parsed;
  } catch {
    // fall through
  }
  throw new KustoError(
    'BadRequest_MalformedIngestionProperty',
    `Expected a JSON array of strings, got ${value}.`,
    400,
  );
}

/** A mapping kind as Kusto spells it in results. */
export function mappingKindName(kind: string): string {
  const names: Record<string, string> = {
    csv: 'Csv',
    json: 'Json',
    avro: 'Avro',
    apacheavro: 'ApacheAvro',
    parquet: 'Parquet',
    orc: 'Orc',
    w3clogfile: 'W3CLogFile',
    sstream: 'SStream',
  };
  return names[kind.toLowerCase()] ?? kind;
}
