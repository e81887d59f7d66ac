import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { streams as avroStreams } from 'avsc';
import { parse as parseCsv } from 'csv-parse/sync';
import { unzipSync } from 'fflate';
import { parquetReadObjects } from 'hyparquet';
import { KustoError } from './kustoError';

/** Records as a format yields them: positional fields (delimited, txt, raw) or named values (JSON, Avro...). */
export type Records =
  | { readonly shape: 'fields'; readonly records: string[][] }
  | { readonly shape: 'object'; readonly records: Record<string, unknown>[] };

export const SUPPORTED_FORMATS = [
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
  'parquet',
  'avro',
  'apacheavro',
  'w3clogfile',
] as const;

const DELIMITERS: Readonly<Record<string, string>> = {
  csv: ',',
  tsv: '\t',
  scsv: ';',
  sohsv: '\x01',
  psv: '|',
};

const invalidBlob = (format: string, detail: string): KustoError =>
  new KustoError('BadRequest_InvalidBlob', `The data is not valid ${format}: ${detail}`, 400);

/** Undoes the compression a blob name announces (`.gz`, `.zip`). */
export function decompress(data: Buffer, blobName: string, zipPattern?: string): Buffer {
  const name = blobName.toLowerCase();
  if (name.endsWith('.gz')) {
    try {
      return gunzipSync(data);
    } catch (e) {
      throw invalidBlob('gzip', `the blob name ends in .gz but ${(e as Error).message}`);
    }
  }
  if (name.endsWith('.zip')) {
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      throw new KustoError('BadRequest_InvalidArchive', `Archive is invalid: ${(e as Error).message}`, 400);
    }
    const pattern = zipPattern ? new RegExp(zipPattern) : undefined;
    const files = Object.entries(entries)
      .filter(([entry]) => !entry.endsWith('/') && (!pattern || pattern.test(entry)))
      .sort(([a], [b]) => a.localeCompare(b));
    if (files.length === 0) throw new KustoError('BadRequest_EmptyArchive', 'Archive is empty.', 400);
    return Buffer.concat(files.map(([, bytes]) => Buffer.from(bytes)));
  }
  return data;
}

function delimited(text: string, delimiter: string, format: string): string[][] {
  try {
    return parseCsv(text, {
      delimiter,
      quote: '"',
      escape: '"',
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      bom: true,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'CSV_QUOTE_NOT_CLOSED') {
      throw new KustoError(
        'Stream_ClosingQuoteMissing',
        `Invalid ${format} format: a closing quote is missing.`,
        400,
      );
    }
    throw invalidBlob(format, (e as Error).message);
  }
}

// TSVE: tab-separated, with backslash escapes (\t, \n, \r, \\) instead of quoting.
function tsve(text: string): string[][] {
  const unescape = (field: string): string =>
    field.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
  return text
    .split(/\r?\n/)
    .filter((line) => line !== '')
    .map((line) => line.split('\t').map(unescape));
}

function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    try {
      const value: unknown = JSON.parse(trimmed);
      if (typeof value === 'object' && value !== null && !Array.isArray(value))
        out.push(value as Record<string, unknown>);
    } catch {
      // Documented: malformed records in format 'json' are skipped, not failed.
    }
  }
  return out;
}

/** Splits concatenated top-level JSON values (objects separated by whitespace or newlines). */
function concatenatedJson(text: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth < 0) throw new Error(`unexpected '${c}' at offset ${i}`);
      if (depth === 0) values.push(JSON.parse(text.slice(start, i + 1)));
    } else if (depth === 0 && !/\s|,/.test(c ?? '')) {
      throw new Error(`unexpected '${c}' at offset ${i}`);
    }
  }
  if (depth !== 0 || inString) throw new Error('the input ends inside a JSON value');
  return values;
}

function multiJson(text: string): Record<string, unknown>[] {
  let values: unknown[];
  try {
    values = concatenatedJson(text).flatMap((v) => (Array.isArray(v) ? (v as unknown[]) : [v]));
  } catch (e) {
    throw invalidBlob('multijson', (e as Error).message);
  }
  return values.filter(
    (v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v),
  );
}

function w3c(text: string): Record<string, unknown>[] {
  let fields: string[] = [];
  const out: Record<string, unknown>[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) {
      const directive = /^#Fields:\s*(.*)$/i.exec(line);
      if (directive) fields = (directive[1] ?? '').trim().split(/\s+/);
      continue;
    }
    if (line.trim() === '') continue;
    if (fields.length === 0)
      throw invalidBlob('w3clogfile', 'a data line comes before any #Fields directive');
    const values = line.trim().split(/\s+/);
    out.push(Object.fromEntries(fields.map((f, i) => [f, values[i] === '-' ? null : values[i]])));
  }
  return out;
}

async function avro(data: Buffer): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  await new Promise<void>((resolve, reject) => {
    const decoder = new avroStreams.BlockDecoder();
    decoder.on('data', (r: Record<string, unknown>) => records.push(r));
    decoder.on('error', reject);
    decoder.on('end', resolve);
    Readable.from([data]).pipe(decoder);
  }).catch((e: unknown) => {
    throw invalidBlob('avro', (e as Error).message);
  });
  return records;
}

async function parquet(data: Buffer): Promise<Record<string, unknown>[]> {
  const file = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
  try {
    return (await parquetReadObjects({ file })) as Record<string, unknown>[];
  } catch (e) {
    throw invalidBlob('parquet', (e as Error).message);
  }
}

/** Parses decompressed data in one of the supported formats. */
export async function parseRecords(format: string, data: Buffer): Promise<Records> {
  const text = (): string => data.toString('utf8').replace(/^\uFEFF/, '');
  switch (format) {
    case 'csv':
    case 'tsv':
    case 'scsv':
    case 'sohsv':
    case 'psv':
      return { shape: 'fields', records: delimited(text(), DELIMITERS[format] ?? ',', format) };
    case 'tsve':
      return { shape: 'fields', records: tsve(text()) };
    case 'txt':
      return {
        shape: 'fields',
        records: text()
          .split(/\r?\n/)
          .filter((l) => l !== '')
          .map((l) => [l]),
      };
    case 'raw':
      return { shape: 'fields', records: data.length === 0 ? [] : [[text()]] };
    case 'json':
      return { shape: 'object', records: jsonLines(text()) };
    case 'multijson':
      return { shape: 'object', records: multiJson(text()) };
    case 'singlejson': {
      try {
        const value: unknown = JSON.parse(text());
        const list = Array.isArray(value) ? (value as unknown[]) : [value];
        return {
          shape: 'object',
          records: list.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null),
        };
      } catch (e) {
        throw invalidBlob('singlejson', (e as Error).message);
      }
    }
    case 'parquet':
      return { shape: 'object', records: await parquet(data) };
    case 'avro':
    case 'apacheavro':
      return { shape: 'object', records: await avro(data) };
    case 'w3clogfile':
      return { shape: 'object', records: w3c(text()) };
    default:
      throw new KustoError(
        'BadRequest_FormatNotSupported',
        `Format '${format}' is not supported by the stand-in: use one of ${SUPPORTED_FORMATS.join(', ')}.`,
        400,
      );
  }
}

/** Mapping kinds that fit each format. */
export function mappingKindFor(format: string): string {
  if (['json', 'multijson', 'singlejson'].includes(format)) return 'json';
  if (format === 'avro') return 'avro';
  if (format === 'apacheavro') return 'apacheavro';
  if (format === 'parquet') return 'parquet';
  if (format === 'w3clogfile') return 'w3clogfile';
  if (format === 'orc') return 'orc';
  return 'csv';
}
