import { isDataFormat, type DataFormat } from '../../message/dataFormat';
import type { PushRequest } from '../push/pushData';
import { HttpProblem, type HttpRequestLike } from './httpTypes';

// Content-Type → format, when ?format= is not given.
const CONTENT_TYPES: Readonly<Record<string, DataFormat>> = {
  'text/csv': 'csv',
  'application/csv': 'csv',
  'text/tab-separated-values': 'tsv',
  'application/x-ndjson': 'json',
  'application/jsonl': 'json',
  'application/json-seq': 'json',
  'application/json': 'multijson',
  'text/plain': 'txt',
  'application/vnd.apache.parquet': 'parquet',
  'application/x-parquet': 'parquet',
  'application/avro': 'avro',
  'application/vnd.apache.avro': 'avro',
};

/** Format from `?format=`, else the Content-Type, else csv. */
export function requestFormat(req: Pick<HttpRequestLike, 'query' | 'headers'>): DataFormat {
  const query = req.query.get('format');
  if (query !== null) {
    const lower = query.trim().toLowerCase();
    if (!isDataFormat(lower)) {
      throw new HttpProblem(
        400,
        'InvalidFormat',
        `Unknown format '${query}': use one of csv, tsv, json, multijson, parquet, avro...`,
      );
    }
    return lower;
  }
  const type = req.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (!type || type === 'application/octet-stream') return 'csv';
  const format = CONTENT_TYPES[type];
  if (!format) {
    throw new HttpProblem(
      415,
      'UnsupportedMediaType',
      `Content-Type '${type}' is not a data format: send text/csv, application/x-ndjson, application/json, application/vnd.apache.parquet..., or give ?format=.`,
    );
  }
  return format;
}

/** `?tags=a,b` or `?tags=["a","b"]`. */
export function requestTags(value: string | null): string[] {
  if (value === null || value.trim() === '') return [];
  if (value.trim().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((t) => typeof t === 'string')) return parsed;
    } catch {
      // reported below
    }
    throw new HttpProblem(
      400,
      'InvalidProperty',
      `?tags=${value} is not a JSON array of strings: use ?tags=a,b or ?tags=["a","b"].`,
    );
  }
  return value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The `Content-Encoding` of a push: gzip, or none. */
function requestEncoding(req: Pick<HttpRequestLike, 'headers'>): 'gzip' | undefined {
  const encoding = req.headers.get('content-encoding')?.trim().toLowerCase();
  if (!encoding || encoding === 'identity') return undefined;
  if (encoding === 'gzip') return 'gzip';
  throw new HttpProblem(
    415,
    'UnsupportedMediaType',
    `Content-Encoding '${encoding}' is not supported: send gzip or no encoding.`,
  );
}

/** A boolean query parameter: absent is false; anything but true or false is a 400. */
function requestBoolean(value: string | null, name: string): boolean {
  if (value === null) return false;
  const lower = value.trim().toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  throw new HttpProblem(
    400,
    'InvalidProperty',
    `The ${name} parameter must be true or false, got '${value}'.`,
  );
}

/** Reads a push's parameters from its route, query and headers; HttpProblem for anything malformed. */
export function parsePushRequest(req: HttpRequestLike): PushRequest {
  const format = requestFormat(req);
  const contentEncoding = requestEncoding(req);
  const tags = requestTags(req.query.get('tags'));
  const key = req.headers.get('idempotency-key') ?? undefined;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
    throw new HttpProblem(
      400,
      'InvalidProperty',
      'The Idempotency-Key header must be 1-200 visible ASCII characters.',
    );
  const mapping = req.query.get('mapping');
  const creationTime = req.query.get('creationTime');
  const ignoreFirstRecord = requestBoolean(req.query.get('ignoreFirstRecord'), 'ignoreFirstRecord');
  return {
    database: req.params.database ?? '',
    table: req.params.table ?? '',
    format,
    ...(mapping !== null && { mapping }),
    ...(creationTime !== null && { creationTime }),
    tags,
    ...(ignoreFirstRecord && { ignoreFirstRecord }),
    ...(key !== undefined && { idempotencyKey: key }),
    ...(contentEncoding && { contentEncoding }),
  };
}
