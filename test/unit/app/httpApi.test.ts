import { Readable } from 'node:stream';
/** The HTTP adapter's pure parts: reading a push request, and mapping errors to answers. */
import {
  IngestAuthError,
  IngestError,
  IngestServiceError,
  IngestThrottledError,
  IngestTransientError,
  IngestValidationError,
} from '../../../shared/errors';
import { errorResult, refusal } from '../../../shared/app/http/errorResult';
import { HttpProblem, type HttpRequestLike } from '../../../shared/app/http/httpTypes';
import { parsePushRequest, requestFormat, requestTags } from '../../../shared/app/http/pushRequest';
import { expectGzip, pushFingerprint, pushProps, pushSourceId } from '../../../shared/app/push/pushData';
import { silentLogger } from '../../../shared/log';

function req(path: string, headers: Record<string, string> = {}): HttpRequestLike {
  const url = new URL(`http://h${path}`);
  return {
    method: 'POST',
    url: url.toString(),
    headers: new Headers(headers),
    query: url.searchParams,
    params: { database: 'db', table: 't' },
    body: null,
  };
}

describe('requestFormat', () => {
  it.each([
    ['?format= wins', '/x?format=JSON', { 'content-type': 'text/csv' }, 'json'],
    ['text/csv', '/x', { 'content-type': 'text/csv; charset=utf-8' }, 'csv'],
    ['ndjson', '/x', { 'content-type': 'application/x-ndjson' }, 'json'],
    ['application/json is multijson', '/x', { 'content-type': 'application/json' }, 'multijson'],
    ['parquet', '/x', { 'content-type': 'application/vnd.apache.parquet' }, 'parquet'],
    ['no type: csv', '/x', {}, 'csv'],
    ['octet-stream: csv', '/x', { 'content-type': 'application/octet-stream' }, 'csv'],
  ])('%s', (_name, path, headers, format) => {
    expect(requestFormat(req(path, headers))).toBe(format);
  });

  it('refuses an unknown format (400) and a content type that is no data format (415)', () => {
    expect(() => requestFormat(req('/x?format=xlsx'))).toThrow(
      expect.objectContaining({ status: 400, code: 'InvalidFormat' }) as Error,
    );
    expect(() => requestFormat(req('/x', { 'content-type': 'image/png' }))).toThrow(
      expect.objectContaining({ status: 415, code: 'UnsupportedMediaType' }) as Error,
    );
  });
});

describe('requestTags', () => {
  it('reads a comma list or a JSON array', () => {
    expect(requestTags('a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(requestTags('["a,b","c"]')).toEqual(['a,b', 'c']);
    expect(requestTags(null)).toEqual([]);
  });
  it('refuses a JSON array that is not of strings', () => {
    expect(() => requestTags('[1,2]')).toThrow(HttpProblem);
  });
});

describe('parsePushRequest', () => {
  it('reads every parameter', () => {
    expect(
      parsePushRequest(
        req('/x?mapping=m&tags=a&creationTime=2024-01-01T00:00:00Z', {
          'content-type': 'text/csv',
          'content-encoding': 'gzip',
          'idempotency-key': 'k-1',
        }),
      ),
    ).toEqual({
      database: 'db',
      table: 't',
      format: 'csv',
      mapping: 'm',
      tags: ['a'],
      creationTime: '2024-01-01T00:00:00Z',
      idempotencyKey: 'k-1',
      contentEncoding: 'gzip',
    });
  });
  it('refuses an encoding other than gzip and a key that is not visible ASCII', () => {
    expect(() => parsePushRequest(req('/x', { 'content-encoding': 'br' }))).toThrow(
      expect.objectContaining({ status: 415 }) as Error,
    );
    expect(() => parsePushRequest(req('/x', { 'idempotency-key': 'a b' }))).toThrow(
      expect.objectContaining({ status: 400 }) as Error,
    );
  });
});

describe('push source ids and fingerprints', () => {
  const base = { database: 'db', table: 't', format: 'csv' as const, tags: [] };
  it('a key gives the same id every time; no key, a new one', () => {
    expect(pushSourceId('db', 't', 'k')).toBe(pushSourceId('db', 't', 'k'));
    expect(pushSourceId('db', 't', 'k')).not.toBe(pushSourceId('db', 'u', 'k'));
    expect(pushSourceId('db', 't', undefined)).not.toBe(pushSourceId('db', 't', undefined));
  });
  it('the fingerprint changes with every parameter that changes what is ingested', () => {
    const fp = pushFingerprint(base);
    for (const other of [
      { ...base, format: 'json' as const },
      { ...base, mapping: 'm' },
      { ...base, tags: ['x'] },
      { ...base, creationTime: '2024-01-01T00:00:00Z' },
      { ...base, contentEncoding: 'gzip' as const },
    ])
      expect(pushFingerprint(other)).not.toBe(fp);
    expect(pushFingerprint({ ...base })).toBe(fp);
  });
  it('props are checked before anything is recorded: a date must be ISO 8601', () => {
    const id = pushSourceId('db', 't', 'k');
    expect(() => pushProps({ ...base, creationTime: '0' }, id)).toThrow(/creationTime/);
    expect(() => pushProps({ ...base, creationTime: 'soon' }, id)).toThrow(IngestValidationError);
    expect(pushProps({ ...base, creationTime: '2024-01-31' }, id).creationTime).toBe('2024-01-31');
    expect(pushProps({ ...base, creationTime: '2024-01-31T10:00:00+02:00' }, id).creationTime).toBeDefined();
  });
});

describe('expectGzip', () => {
  async function drain(chunks: number[][]): Promise<number> {
    let n = 0;
    const body = Readable.from(chunks.map((c) => Uint8Array.from(c)));
    for await (const c of expectGzip(body)) n += c.length;
    return n;
  }
  const rest = (n: number) => Array.from({ length: n }, (_, i) => i);
  it('checks the two magic bytes across chunk boundaries', async () => {
    await expect(drain([[0x1f], [0x41, 0x42, ...rest(20)]])).rejects.toThrow(/not gzip/);
    await expect(drain([[], [0x1f], [0x8b, ...rest(18)]])).resolves.toBe(20);
    await expect(drain([[0x1f, 0x8b, ...rest(30)]])).resolves.toBe(32);
  });
  it('refuses a body that ends before a gzip stream could (its first byte alone passed before)', async () => {
    await expect(drain([[0x1f]])).rejects.toThrow(/not gzip/);
    await expect(drain([[0x1f, 0x8b]])).rejects.toThrow(/not gzip/);
    await expect(drain([[0x1f, 0x8b, ...rest(17)]])).rejects.toThrow(/not gzip/);
    await expect(drain([])).rejects.toThrow(/not gzip/);
  });
});

describe('errorResult', () => {
  const answer = (e: unknown) => errorResult(e, silentLogger);
  it.each([
    ['a validation error', new IngestValidationError('bad', 'InvalidName'), 400, 'InvalidName'],
    ['too large', new IngestValidationError('big', 'TooLarge'), 413, 'TooLarge'],
    ['throttling', new IngestThrottledError('slow down', 7_000), 503, 'Throttled'],
    [
      'a transient failure',
      new IngestTransientError('down at http://10.0.0.5:10002/x', 'ServiceUnavailable'),
      503,
      'ServiceUnavailable',
    ],
    ['an auth failure', new IngestAuthError('no', 'Forbidden'), 502, 'Forbidden'],
    [
      'a permanent service error',
      new IngestServiceError('table missing', 'BadRequest', 400),
      502,
      'BadRequest',
    ],
    ['anything else', new Error('boom'), 500, 'InternalError'],
    ['a request problem', new HttpProblem(415, 'UnsupportedMediaType', 'no'), 415, 'UnsupportedMediaType'],
  ])('%s', (_name, e, status, code) => {
    const r = answer(e);
    expect(r.status).toBe(status);
    expect(r.jsonBody).toMatchObject({ error: { code, message: expect.any(String) as unknown } });
  });

  it('logs each refusal as a warning, with its status and code, and never a signature', () => {
    const lines: string[] = [];
    const log = { ...silentLogger, warn: (line: string) => void lines.push(line) };
    errorResult(
      new IngestValidationError('not allowed: https://a.blob/c/x?sig=SECRET', 'SourceNotAllowed'),
      log,
    );
    errorResult(new IngestThrottledError('slow down', 2_000), log);
    errorResult(new HttpProblem(415, 'UnsupportedMediaType', 'send text/csv'), log);
    errorResult(new IngestTransientError('down', 'ServiceUnavailable'), log); // an error, not a refusal
    expect(lines.map((l) => JSON.parse(l) as { event: string; status: number; code: string })).toEqual([
      expect.objectContaining({ event: 'HttpIngestRefused', status: 403, code: 'SourceNotAllowed' }),
      expect.objectContaining({ event: 'HttpIngestRefused', status: 503, code: 'Throttled' }),
      expect.objectContaining({ event: 'HttpIngestRefused', status: 415, code: 'UnsupportedMediaType' }),
    ]);
    expect(lines.join('\n')).not.toContain('SECRET');
  });

  it('logs a refusal that concerns a known source with its id, and answers it with what to do', () => {
    const lines: string[] = [];
    const log = { ...silentLogger, warn: (l: string) => void lines.push(l) };
    const answered = refusal(log, {
      status: 409,
      code: 'RequestInProgress',
      message: 'still being processed: retry after 3 s',
      headers: { 'retry-after': '3' },
      sourceId: '11111111-1111-4111-8111-111111111111',
    });
    expect(answered).toMatchObject({ status: 409, headers: { 'retry-after': '3' } });
    expect(JSON.stringify(answered.jsonBody)).toContain('RequestInProgress');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
      {
        event: 'HttpIngestRefused',
        status: 409,
        code: 'RequestInProgress',
        sourceId: '11111111-1111-4111-8111-111111111111',
        message: 'still being processed: retry after 3 s',
      },
    ]);
  });

  it('tells when to retry, and never names an internal endpoint', () => {
    const throttled = answer(new IngestThrottledError('slow down', 7_000));
    expect(throttled.headers).toEqual({ 'retry-after': '7' });
    const down = answer(
      new IngestTransientError('refused by http://10.0.0.5:10002/devstoreaccount1', 'NetworkError'),
    );
    expect(down.headers?.['retry-after']).toBe('10');
    expect(JSON.stringify(down.jsonBody)).not.toMatch(/10\.0\.0\.5|devstoreaccount/);
    expect(
      JSON.stringify(answer(new IngestError('at https://ingest-x.kusto.windows.net', 'Odd', false)).jsonBody),
    ).not.toMatch(/kusto\.windows/);
  });
});
