import { IngestValidationError } from '../errors';
import { mappingKindOf, parseDataFormat, type DataFormat, type MappingKind } from '../message/dataFormat';
import { validateEntityName } from '../names';
import { isUuid } from '../uuid';
import {
  ReportLevel,
  ReportMethod,
  type ColumnMapping,
  type IngestionProps,
  type ValidationPolicy,
} from './types';

/** Props after validation: format parsed, defaults applied, creationTime in ISO 8601. */
export interface ValidatedProps {
  readonly database: string;
  readonly table: string;
  readonly format: DataFormat;
  readonly mappingKind: MappingKind;
  readonly mappingReference: string | undefined;
  readonly mapping: readonly ColumnMapping[] | undefined;
  readonly tags: readonly string[];
  readonly ingestByTags: readonly string[];
  readonly dropByTags: readonly string[];
  readonly ingestIfNotExists: readonly string[] | undefined;
  readonly creationTime: string | undefined;
  readonly flushImmediately: boolean;
  readonly ignoreFirstRecord: boolean;
  readonly validationPolicy: ValidationPolicy | undefined;
  readonly reportLevel: ReportLevel;
  readonly reportMethod: ReportMethod;
  readonly additionalProperties: Readonly<Record<string, string>>;
  readonly sourceId: string | undefined;
  readonly rawDataSize: number | undefined;
}

// Which source properties each mapping kind understands (docs/protocol.md, 'Formats and mappings').
const MAPPING_PROPERTIES: Readonly<Record<MappingKind, readonly string[]>> = {
  Csv: ['Ordinal', 'ConstValue', 'Transform'],
  Json: ['Path', 'ConstValue', 'Transform'],
  Avro: ['Field', 'Path', 'ConstValue', 'Transform'],
  ApacheAvro: ['Field', 'Path', 'ConstValue', 'Transform'],
  Parquet: ['Field', 'Path', 'ConstValue', 'Transform'],
  Orc: ['Field', 'Path', 'ConstValue', 'Transform'],
  SStream: ['Field', 'Path', 'ConstValue', 'Transform'],
  W3CLogFile: ['Field', 'ConstValue', 'Transform'],
};
const SOURCE_ONLY_TRANSFORMS = new Set(['SourceLocation', 'SourceLineNumber']);

// Keys of AdditionalProperties that the named props own (compared case-insensitively).
const RESERVED_KEYS = new Set(
  [
    'authorizationContext',
    'format',
    'ingestionMappingReference',
    'mappingReference',
    'ingestionMapping',
    'ingestionMappingType',
    'tags',
    'ingestIfNotExists',
    'creationTime',
    'ignoreFirstRecord',
    'validationPolicy',
    'flushImmediately',
    'reportLevel',
    'reportMethod',
    'csvMapping',
    'jsonMapping',
    'avroMapping',
    'csvMappingReference',
    'jsonMappingReference',
    'avroMappingReference',
  ].map((k) => k.toLowerCase()),
);

function invalid(message: string): IngestValidationError {
  return new IngestValidationError(message, 'InvalidProperty');
}

function stringList(name: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    throw invalid(`'${name}' must be an array of non-empty strings, got ${JSON.stringify(value)}.`);
  }
  return [...(value as string[])];
}

function validateMapping(
  mapping: readonly ColumnMapping[],
  format: DataFormat,
  kind: MappingKind,
): ColumnMapping[] {
  if (!isNonEmptyList(mapping)) {
    throw invalid("'mapping' must be a non-empty array of { column, properties }.");
  }
  const allowed = MAPPING_PROPERTIES[kind];
  return mapping.map((m, i) => {
    validateEntityName('column', m.column);
    if (!isObject(m.properties)) {
      throw invalid(`mapping[${i}] (column '${m.column}') has no properties object.`);
    }
    const keys = Object.keys(m.properties);
    for (const key of keys) {
      if (!allowed.includes(key)) {
        throw new IngestValidationError(
          `mapping[${i}] (column '${m.column}') uses '${key}', but format '${format}' takes ${kind} mappings, whose properties are ${allowed.join(', ')}.`,
          'MappingMismatch',
        );
      }
    }
    const transform = m.properties.Transform;
    const hasSource =
      keys.some((k) => k !== 'Transform') ||
      (typeof transform === 'string' && SOURCE_ONLY_TRANSFORMS.has(transform));
    if (!hasSource) {
      throw new IngestValidationError(
        `mapping[${i}] (column '${m.column}') names no source: give one of ${allowed.filter((k) => k !== 'Transform').join(', ')}.`,
        'MappingMismatch',
      );
    }
    if (kind === 'Csv' && m.properties.Ordinal !== undefined) {
      const ordinal = Number(m.properties.Ordinal);
      if (!Number.isInteger(ordinal) || ordinal < 0) {
        throw new IngestValidationError(
          `mapping[${i}] (column '${m.column}') has Ordinal ${JSON.stringify(m.properties.Ordinal)}: use a non-negative integer.`,
          'MappingMismatch',
        );
      }
    }
    return { ...m, properties: { ...m.properties } };
  });
}

// Props may come from JavaScript callers or parsed JSON: check shapes at run time, whatever the types say.
function isNonEmptyList(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}

// A date string must at least start as ISO 8601 does: `new Date('0')` would otherwise be the year 2000.
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function toIsoDate(value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime()) || (typeof value === 'string' && !ISO_DATE.test(value.trim()))) {
    throw invalid(
      `'creationTime' ${JSON.stringify(value)} is not a valid date: use ISO 8601, e.g. 2024-01-31T00:00:00Z.`,
    );
  }
  return date.toISOString();
}

/** Checks every prop, with messages that name the field, the bad value and the fix. Never mutates `props`. */
export function validateProps(props: IngestionProps): ValidatedProps {
  if (!isObject(props)) throw invalid('Ingestion properties are required.');
  const database = validateEntityName('database', props.database);
  const table = validateEntityName('table', props.table);
  const format = parseDataFormat(props.format);
  const mappingKind = mappingKindOf(format);

  if (props.mapping !== undefined && props.mappingReference !== undefined) {
    throw invalid(
      "Give either 'mapping' (inline) or 'mappingReference' (a mapping created on the table), not both.",
    );
  }
  const mappingReference =
    props.mappingReference === undefined ? undefined : validateEntityName('mapping', props.mappingReference);
  const mapping =
    props.mapping === undefined ? undefined : validateMapping(props.mapping, format, mappingKind);

  const reportLevel = props.reportLevel ?? ReportLevel.FailuresOnly;
  const reportMethod = props.reportMethod ?? ReportMethod.Queue;
  if (!(Object.values(ReportLevel) as number[]).includes(reportLevel)) {
    throw invalid(
      `'reportLevel' ${String(reportLevel)} is not one of 0 (FailuresOnly), 1 (DoNotReport), 2 (FailuresAndSuccesses).`,
    );
  }
  if (!(Object.values(ReportMethod) as number[]).includes(reportMethod)) {
    throw invalid(
      `'reportMethod' ${String(reportMethod)} is not one of 0 (Queue), 1 (Table), 2 (QueueAndTable).`,
    );
  }
  if (reportMethod !== ReportMethod.Queue && reportLevel !== ReportLevel.FailuresAndSuccesses) {
    throw invalid(
      'ReportMethod Table or QueueAndTable needs ReportLevel FailuresAndSuccesses (2): otherwise the status row of a success stays Pending forever.',
    );
  }

  const additionalProperties = { ...(props.additionalProperties ?? {}) };
  for (const [key, value] of Object.entries(additionalProperties)) {
    if (RESERVED_KEYS.has(key.toLowerCase())) {
      throw invalid(
        `additionalProperties.${key} collides with a named ingestion property: set it through that property instead.`,
      );
    }
    if (typeof value !== 'string')
      throw invalid(`additionalProperties.${key} must be a string, got ${typeof value}.`);
  }

  if (props.sourceId !== undefined && (typeof props.sourceId !== 'string' || !isUuid(props.sourceId))) {
    throw invalid(
      `'sourceId' ${JSON.stringify(props.sourceId)} is not a UUID: give an RFC 4122 UUID or leave it out.`,
    );
  }
  if (
    props.rawDataSize !== undefined &&
    !(Number.isSafeInteger(props.rawDataSize) && props.rawDataSize >= 0)
  ) {
    throw invalid(`'rawDataSize' must be a non-negative integer (bytes), got ${String(props.rawDataSize)}.`);
  }
  const policy = props.validationPolicy;
  if (
    policy !== undefined &&
    (![0, 1, 2].includes(policy.validationOptions) || ![0, 1].includes(policy.validationImplications))
  ) {
    throw invalid(
      `'validationPolicy' ${JSON.stringify(policy)} needs validationOptions 0-2 and validationImplications 0-1.`,
    );
  }
  const ingestIfNotExists =
    props.ingestIfNotExists === undefined
      ? undefined
      : stringList('ingestIfNotExists', props.ingestIfNotExists);

  return {
    database,
    table,
    format,
    mappingKind,
    mappingReference,
    mapping,
    tags: stringList('tags', props.tags),
    ingestByTags: stringList('ingestByTags', props.ingestByTags),
    dropByTags: stringList('dropByTags', props.dropByTags),
    ingestIfNotExists,
    creationTime: props.creationTime === undefined ? undefined : toIsoDate(props.creationTime),
    flushImmediately: props.flushImmediately ?? false,
    ignoreFirstRecord: props.ignoreFirstRecord ?? false,
    validationPolicy: policy === undefined ? undefined : { ...policy },
    reportLevel,
    reportMethod,
    additionalProperties,
    sourceId: props.sourceId,
    rawDataSize: props.rawDataSize,
  };
}

/** Whether a status row is written and the service updates it. */
export function reportsToTable(props: Pick<ValidatedProps, 'reportMethod'>): boolean {
  return props.reportMethod !== ReportMethod.Queue;
}
