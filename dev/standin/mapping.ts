import type { Records } from './formats';
import { KustoError } from './kustoError';
import { convert, parseKqlType, type KqlType, type Stored } from './kqlTypes';
import type { TableInfo } from './store';

export interface MappingElement {
  readonly column: string;
  readonly datatype?: KqlType | undefined;
  readonly ordinal?: number | undefined;
  readonly path?: string | undefined;
  readonly field?: string | undefined;
  readonly constValue?: string | undefined;
  readonly transform?: string | undefined;
}

const TRANSFORMS = new Set([
  'SourceLocation',
  'SourceLineNumber',
  'DateTimeFromUnixSeconds',
  'DateTimeFromUnixMilliseconds',
  'DateTimeFromUnixMicroseconds',
  'DateTimeFromUnixNanoseconds',
  'PropertyBagArrayToDictionary',
]);

const invalidMapping = (message: string): KustoError =>
  new KustoError('BadRequest_InvalidMapping', `Ingestion mapping is invalid: ${message}`, 400);

function pick(obj: Record<string, unknown>, ...names: string[]): unknown {
  for (const [key, value] of Object.entries(obj)) if (names.includes(key.toLowerCase())) return value;
  return undefined;
}

function optionalText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string'
    ? value
    : typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : undefined;
}

/**
 * Reads a mapping as the service does: `[{ Column, DataType, Properties: { Ordinal | Path | Field | ConstValue,
 * Transform } }]`, keys in any casing, property values as strings or numbers, and the legacy flat forms
 * (`{ column, path, datatype }`, `{ Name, DataType, Ordinal }`).
 */
export function parseMapping(raw: unknown): MappingElement[] {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw invalidMapping(`not JSON (${(e as Error).message})`);
    }
  }
  if (!Array.isArray(value) || value.length === 0) throw invalidMapping('expected a non-empty JSON array');
  return value.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw invalidMapping(`element ${i} is not an object`);
    const element = item as Record<string, unknown>;
    const props = pick(element, 'properties');
    const source: Record<string, unknown> =
      typeof props === 'object' && props !== null ? (props as Record<string, unknown>) : element;
    const column = optionalText(pick(element, 'column', 'name'));
    if (!column) throw invalidMapping(`element ${i} names no column`);
    const typeName = optionalText(pick(element, 'datatype'));
    const datatype = typeName ? parseKqlType(typeName) : undefined;
    if (typeName && !datatype) throw invalidMapping(`element ${i} has unknown datatype '${typeName}'`);
    const ordinalText = optionalText(pick(source, 'ordinal'));
    const ordinal = ordinalText === undefined ? undefined : Number(ordinalText);
    if (ordinal !== undefined && !(Number.isInteger(ordinal) && ordinal >= 0))
      throw invalidMapping(`element ${i} has Ordinal '${ordinalText}'`);
    const transform = optionalText(pick(source, 'transform'));
    if (transform && !TRANSFORMS.has(transform))
      throw invalidMapping(`element ${i} has unsupported Transform '${transform}'`);
    return {
      column,
      datatype,
      ordinal,
      path: optionalText(pick(source, 'path')),
      field: optionalText(pick(source, 'field')),
      constValue: optionalText(pick(source, 'constvalue')),
      transform,
    };
  });
}

/** JSONPath subset used by ingestion mappings: `$`, `$.a.b`, `$['a b']`, `$["a"]`, `$.a[0]`. */
export function evaluatePath(record: unknown, path: string): unknown {
  if (!path.startsWith('$')) throw invalidMapping(`path '${path}' must start with '$'`);
  const tokens = /\.([^.[\]]+)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[(\d+)\]/g;
  let current: unknown = record;
  let consumed = 1;
  for (let m = tokens.exec(path); m; m = tokens.exec(path)) {
    if (m.index !== consumed) throw invalidMapping(`path '${path}' cannot be read at offset ${consumed}`);
    consumed = m.index + m[0].length;
    if (current === null || typeof current !== 'object') return undefined;
    const key = m[1] ?? m[2] ?? m[3];
    current =
      key !== undefined ? (current as Record<string, unknown>)[key] : (current as unknown[])[Number(m[4])];
  }
  if (consumed !== path.length) throw invalidMapping(`path '${path}' cannot be read at offset ${consumed}`);
  return current;
}

function unixToDate(value: unknown, perSecond: number): Date | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number(value);
  if (value === null || value === undefined || value === '' || !Number.isFinite(n)) return undefined;
  return new Date((n / perSecond) * 1000);
}

function applyTransform(transform: string | undefined, value: unknown, ctx: RowContext): unknown {
  switch (transform) {
    case undefined:
      return value;
    case 'SourceLocation':
      return ctx.sourceLocation;
    case 'SourceLineNumber':
      return ctx.lineNumber;
    case 'DateTimeFromUnixSeconds':
      return unixToDate(value, 1);
    case 'DateTimeFromUnixMilliseconds':
      return unixToDate(value, 1_000);
    case 'DateTimeFromUnixMicroseconds':
      return unixToDate(value, 1_000_000);
    case 'DateTimeFromUnixNanoseconds':
      return unixToDate(value, 1_000_000_000);
    case 'PropertyBagArrayToDictionary':
      return Array.isArray(value) ? Object.assign({}, ...(value as object[])) : value;
    default:
      return value;
  }
}

interface RowContext {
  readonly sourceLocation: string;
  readonly lineNumber: number;
}

export interface MappingContext {
  /** The source blob, without its SAS, for the SourceLocation transform. */
  readonly sourceLocation: string;
  /** Records already skipped before these (ignoreFirstRecord), to number lines from the source's start. */
  readonly firstLineNumber: number;
}

/** Turns records into typed rows in table column order (nulls where nothing maps). */
export function applyMapping(
  records: Records,
  table: TableInfo,
  mapping: readonly MappingElement[] | undefined,
  context: MappingContext,
): Stored[][] {
  const columns = table.columns;
  if (!mapping) {
    if (records.shape === 'fields') {
      const width = records.records[0]?.length ?? 0;
      return records.records.map((fields, i) => {
        if (fields.length !== width) {
          throw new KustoError(
            'Stream_WrongNumberOfFields',
            `Inconsistent number of fields in the input records: record ${i + context.firstLineNumber} has ${fields.length} fields, the first has ${width}.`,
            400,
          );
        }
        if (fields.length > columns.length) {
          throw new KustoError(
            'Stream_WrongNumberOfFields',
            `Record ${i + context.firstLineNumber} has ${fields.length} fields but table '${table.name}' has ${columns.length} columns: add a mapping or fix the data.`,
            400,
          );
        }
        return columns.map((c, ordinal) => convert(fields[ordinal], c.type));
      });
    }
    return records.records.map((record) => columns.map((c) => convert(record[c.name], c.type)));
  }

  const targets = mapping.map((element) => {
    const index = columns.findIndex((c) => c.name === element.column);
    if (index === -1) {
      throw new KustoError(
        'BadRequest_InconsistentMapping',
        `The mapping names column '${element.column}', which table '${table.name}' does not have.`,
        400,
      );
    }
    return { element, index, type: columns[index]?.type ?? 'string' };
  });
  const width = records.shape === 'fields' ? (records.records[0]?.length ?? 0) : 0;
  return records.records.map((record, i) => {
    const row: Stored[] = columns.map(() => null);
    const ctx = { sourceLocation: context.sourceLocation, lineNumber: i + context.firstLineNumber };
    if (records.shape === 'fields' && (record as string[]).length !== width) {
      throw new KustoError(
        'Stream_WrongNumberOfFields',
        `Inconsistent number of fields in the input records: record ${ctx.lineNumber} has ${(record as string[]).length} fields, the first has ${width}.`,
        400,
      );
    }
    for (const { element, index, type } of targets) {
      let value: unknown;
      if (element.constValue !== undefined) value = element.constValue;
      else if (records.shape === 'fields')
        value = element.ordinal === undefined ? undefined : (record as string[])[element.ordinal];
      else if (element.path !== undefined) value = evaluatePath(record, element.path);
      else if (element.field !== undefined) value = (record as Record<string, unknown>)[element.field];
      row[index] = convert(applyTransform(element.transform, value, ctx), type);
    }
    return row;
  });
}
