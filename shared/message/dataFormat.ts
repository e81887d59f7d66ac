import { IngestValidationError } from '../errors';

/** Ingestion formats, as the service names them on the wire (docs/protocol.md, 'Formats and mappings'). */
export const DATA_FORMATS = [
  'csv',
  'tsv',
  'tsve',
  'scsv',
  'sohsv',
  'psv',
  'txt',
  'raw',
  'json',
  'multijson',
  'singlejson',
  'avro',
  'apacheavro',
  'parquet',
  'orc',
  'sstream',
  'w3clogfile',
] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export type MappingKind =
  'Csv' | 'Json' | 'Avro' | 'ApacheAvro' | 'Parquet' | 'Orc' | 'W3CLogFile' | 'SStream';

const MAPPING_KIND: Readonly<Record<DataFormat, MappingKind>> = {
  csv: 'Csv',
  tsv: 'Csv',
  tsve: 'Csv',
  scsv: 'Csv',
  sohsv: 'Csv',
  psv: 'Csv',
  txt: 'Csv',
  raw: 'Csv',
  json: 'Json',
  multijson: 'Json',
  singlejson: 'Json',
  avro: 'Avro',
  apacheavro: 'ApacheAvro',
  parquet: 'Parquet',
  orc: 'Orc',
  sstream: 'SStream',
  w3clogfile: 'W3CLogFile',
};

const BINARY: ReadonlySet<DataFormat> = new Set(['avro', 'apacheavro', 'parquet', 'orc', 'sstream']);

export function isDataFormat(value: string): value is DataFormat {
  return (DATA_FORMATS as readonly string[]).includes(value);
}

/** Accepts any casing ('CSV', 'MultiJson'); throws `InvalidFormat` with the list of valid ones otherwise. */
export function parseDataFormat(value: unknown, where?: string): DataFormat {
  const lower = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (isDataFormat(lower)) return lower;
  const context = where ? ` for ${where}` : '';
  throw new IngestValidationError(
    `Unknown format '${String(value)}'${context}: use one of ${DATA_FORMATS.join(', ')}.`,
    'InvalidFormat',
  );
}

export function mappingKindOf(format: DataFormat): MappingKind {
  return MAPPING_KIND[format];
}

/** Binary formats carry their own compression and go up as they are. */
export function isBinaryFormat(format: DataFormat): boolean {
  return BINARY.has(format);
}
