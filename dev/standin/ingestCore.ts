import { decompress, mappingKindFor, parseRecords, SUPPORTED_FORMATS, type Records } from './formats';
import { KustoError } from './kustoError';
import { applyMapping, parseMapping, type MappingElement } from './mapping';
import type { KustoStore, TableInfo } from './store';

export interface IngestRequest {
  readonly database: string;
  readonly table: string;
  readonly format: string;
  /** The bytes as stored (compressed or not); `sourceName` says which by its extension. */
  readonly data: Buffer;
  readonly sourceName: string;
  /** For the SourceLocation transform (no SAS). */
  readonly sourceLocation: string;
  readonly mapping?: {
    readonly inline?: unknown;
    readonly reference?: string | undefined;
    readonly kind?: string | undefined;
  };
  readonly ignoreFirstRecord?: boolean;
  readonly tags?: readonly string[];
  readonly ingestIfNotExists?: readonly string[];
  readonly creationTime?: string | undefined;
  readonly zipPattern?: string | undefined;
}

export interface IngestOutcome {
  readonly status: 'Succeeded' | 'Skipped';
  readonly rows: number;
  readonly extentId?: string;
  readonly details?: string;
}

/** Checks that need no data: the database, the table, the format. */
export function resolveTarget(
  store: KustoStore,
  database: string,
  tableName: string,
  format: string,
): TableInfo {
  store.database(database);
  const table = store.table(database, tableName);
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) {
    throw new KustoError(
      'BadRequest_FormatNotSupported',
      `Format '${format}' is not supported: use one of ${SUPPORTED_FORMATS.join(', ')}.`,
      400,
    );
  }
  return table;
}

function resolveMapping(
  store: KustoStore,
  table: TableInfo,
  format: string,
  request: IngestRequest,
): MappingElement[] | undefined {
  const spec = request.mapping;
  if (!spec) return undefined;
  const kind = (spec.kind ?? mappingKindFor(format)).toLowerCase();
  if (spec.inline !== undefined && spec.inline !== null && spec.inline !== '')
    return parseMapping(spec.inline);
  if (spec.reference) {
    const found = store.findMapping(table.database, table.name, kind, spec.reference);
    if (!found) {
      throw new KustoError(
        'BadRequest_MappingReferenceWasNotFound',
        `Mapping reference '${spec.reference}' of kind '${kind}' was not found on table '${table.name}'.`,
        400,
      );
    }
    return parseMapping(found.mapping);
  }
  return undefined;
}

/** Ingests one source into one table as one extent, or explains why not. */
export async function ingestData(store: KustoStore, request: IngestRequest): Promise<IngestOutcome> {
  const format = request.format.toLowerCase();
  const table = resolveTarget(store, request.database, request.table, format);
  for (const value of request.ingestIfNotExists ?? []) {
    if (store.hasTag(table.database, table.name, `ingest-by:${value}`)) {
      return {
        status: 'Skipped',
        rows: 0,
        details: `ingestIfNotExists: data tagged 'ingest-by:${value}' is already in table '${table.name}'.`,
      };
    }
  }
  if (request.data.length === 0) throw new KustoError('BadRequest_EmptyBlob', 'Blob is empty.', 400);
  const mapping = resolveMapping(store, table, format, request);
  const parsed = await parseRecords(format, decompress(request.data, request.sourceName, request.zipPattern));
  const skip = request.ignoreFirstRecord ? 1 : 0;
  const records: Records =
    parsed.shape === 'fields'
      ? { shape: 'fields', records: parsed.records.slice(skip) }
      : { shape: 'object', records: parsed.records.slice(skip) };
  if (records.records.length === 0) {
    throw new KustoError(
      'BadRequest_NoRecordsOrWrongFormat',
      `The data has no records in format '${format}': it is empty or the format does not match the content.`,
      400,
    );
  }
  const rows = applyMapping(records, table, mapping, {
    sourceLocation: request.sourceLocation,
    firstLineNumber: 1 + skip,
  });
  const creationTime = request.creationTime ? Date.parse(request.creationTime) : undefined;
  const [extentId] = store.appendExtents(table, [
    { rows, tags: request.tags ?? [], creationTime: Number.isNaN(creationTime) ? undefined : creationTime },
  ]);
  return { status: 'Succeeded', rows: rows.length, ...(extentId !== undefined && { extentId }) };
}
