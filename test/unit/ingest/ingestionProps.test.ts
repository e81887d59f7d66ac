import { IngestValidationError } from '../../../shared/errors';
import { validateProps } from '../../../shared/ingest/ingestionProps';
import { ReportLevel, ReportMethod, type IngestionProps } from '../../../shared/ingest/types';

const base: IngestionProps = { database: 'db', table: 'T', format: 'csv' };

function codeOf(props: unknown): string | undefined {
  try {
    validateProps(props as IngestionProps);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(IngestValidationError);
    return (e as IngestValidationError).code;
  }
}

describe('validateProps', () => {
  it('applies the documented defaults', () => {
    expect(validateProps(base)).toMatchObject({
      format: 'csv',
      mappingKind: 'Csv',
      reportLevel: ReportLevel.FailuresOnly,
      reportMethod: ReportMethod.Queue,
      flushImmediately: false,
      ignoreFirstRecord: false,
      tags: [],
    });
  });

  it('accepts any casing of a format and derives the mapping kind', () => {
    expect(validateProps({ ...base, format: 'MultiJSON' as never })).toMatchObject({
      format: 'multijson',
      mappingKind: 'Json',
    });
    expect(validateProps({ ...base, format: 'apacheavro' })).toMatchObject({ mappingKind: 'ApacheAvro' });
  });

  it('lets false and 0 override defaults (never merges by truthiness)', () => {
    const v = validateProps({ ...base, flushImmediately: false, reportLevel: 0, reportMethod: 0 });
    expect(v.reportLevel).toBe(0);
    expect(v.flushImmediately).toBe(false);
  });

  it('normalises creationTime to ISO 8601 and rejects nonsense', () => {
    expect(validateProps({ ...base, creationTime: new Date('2024-02-01T00:00:00Z') }).creationTime).toBe(
      '2024-02-01T00:00:00.000Z',
    );
    expect(codeOf({ ...base, creationTime: 'yesterday' })).toBe('InvalidProperty');
  });

  it.each([
    [{ ...base, database: 'a b' }, undefined],
    [{ ...base, database: 'a:b' }, 'InvalidName'],
    [{ ...base, table: 'x'.repeat(1025) }, 'InvalidName'],
    [{ ...base, table: ' T' }, 'InvalidName'],
    [{ ...base, format: 'xml' }, 'InvalidFormat'],
    [{ ...base, mappingReference: 'bad;name' }, 'InvalidName'],
    [{ ...base, mapping: [] }, 'InvalidProperty'],
    [{ ...base, mapping: [{ column: 'c', properties: { Ordinal: -1 } }] }, 'MappingMismatch'],
    [
      { ...base, mapping: [{ column: 'c', properties: { Transform: 'DateTimeFromUnixSeconds' } }] },
      'MappingMismatch',
    ],
    [{ ...base, format: 'json', mapping: [{ column: 'c', properties: { Ordinal: 1 } }] }, 'MappingMismatch'],
    [{ ...base, format: 'parquet', mapping: [{ column: 'c', properties: { Field: 'c' } }] }, undefined],
    [
      { ...base, format: 'w3clogfile', mapping: [{ column: 'c', properties: { Path: '$.c' } }] },
      'MappingMismatch',
    ],
    [{ ...base, tags: ['ok', ''] }, 'InvalidProperty'],
    [{ ...base, tags: 'ok' }, 'InvalidProperty'],
    [{ ...base, ingestIfNotExists: ['a'] }, undefined],
    [{ ...base, reportLevel: 7 }, 'InvalidProperty'],
    [
      { ...base, reportMethod: ReportMethod.QueueAndTable, reportLevel: ReportLevel.DoNotReport },
      'InvalidProperty',
    ],
    [{ ...base, reportMethod: ReportMethod.Table, reportLevel: ReportLevel.FailuresAndSuccesses }, undefined],
    [{ ...base, additionalProperties: { authorizationContext: 'x' } }, 'InvalidProperty'],
    [{ ...base, additionalProperties: { zipPattern: 5 } }, 'InvalidProperty'],
    [{ ...base, rawDataSize: -1 }, 'InvalidProperty'],
    [{ ...base, rawDataSize: 1.5 }, 'InvalidProperty'],
    [{ ...base, sourceId: '11111111-2222-4333-8444-555555555555' }, undefined],
    [{ ...base, validationPolicy: { validationOptions: 3, validationImplications: 0 } }, 'InvalidProperty'],
    [null, 'InvalidProperty'],
  ])('%j -> %s', (props, code) => {
    expect(codeOf(props)).toBe(code);
  });

  it('never mutates its input', () => {
    const props = { ...base, tags: ['a'], mapping: [{ column: 'c', properties: { Ordinal: 0 } }] };
    const before = JSON.stringify(props);
    const v = validateProps(props);
    expect(JSON.stringify(props)).toBe(before);
    expect(v.tags).not.toBe(props.tags);
  });
});
