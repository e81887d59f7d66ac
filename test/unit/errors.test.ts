import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  classify,
  errorFromStatus,
  IngestAuthError,
  IngestError,
  IngestServiceError,
  IngestThrottledError,
  IngestTransientError,
  IngestValidationError,
  isAccessDenied,
  isAlreadyExists,
  isChangedSince,
  isIngestThrottledError,
  isIngestValidationError,
  isNotFound,
  isTransient,
  mayHaveBeenApplied,
  parseRetryAfter,
} from '../../shared/errors';

describe('errorFromStatus', () => {
  it.each([
    [429, IngestThrottledError, 'Throttled', true],
    [408, IngestTransientError, 'ServiceUnavailable', true],
    [500, IngestTransientError, 'ServiceUnavailable', true],
    [502, IngestTransientError, 'ServiceUnavailable', true],
    [503, IngestTransientError, 'ServiceUnavailable', true],
    [504, IngestTransientError, 'ServiceUnavailable', true],
    [501, IngestServiceError, 'NotImplemented', false],
    [505, IngestServiceError, 'NotImplemented', false],
    [401, IngestAuthError, 'Unauthorized', false],
    [403, IngestAuthError, 'Forbidden', false],
    [404, IngestServiceError, 'NotFound', false],
    [400, IngestServiceError, 'BadRequest', false],
    [409, IngestServiceError, 'BadRequest', false],
  ] as const)('HTTP %i is %p %s, transient %s', (statusCode, type, code, transient) => {
    const e = errorFromStatus({ statusCode, message: 'm' });
    expect(e).toBeInstanceOf(type);
    expect(e).toBeInstanceOf(IngestError);
    expect(e).toMatchObject({ code, transient });
  });

  it('keeps Retry-After on a throttling error', () => {
    const e = errorFromStatus({ statusCode: 429, message: 'slow down', retryAfterInMs: 2500 });
    expect(isIngestThrottledError(e) && e.retryAfterInMs).toBe(2500);
  });

  it('makes a checksum mismatch (a body changed on the way) transient, other 400s permanent', () => {
    for (const serviceCode of ['Md5Mismatch', 'Crc64Mismatch']) {
      const e = errorFromStatus({ statusCode: 400, message: 'm', serviceCode });
      expect(e).toBeInstanceOf(IngestTransientError);
      expect(e).toMatchObject({ code: 'NetworkError', transient: true, serviceCode });
    }
    const other = errorFromStatus({ statusCode: 400, message: 'm', serviceCode: 'InvalidBlockList' });
    expect(other).toMatchObject({ code: 'BadRequest', transient: false });
  });
});

describe('classify', () => {
  it('passes our own errors through unchanged', () => {
    const e = new IngestValidationError('bad', 'EmptyInput');
    expect(classify(e)).toBe(e);
  });

  it('reads statusCode from foreign errors (storage RestError) and keeps the cause', () => {
    const restError = Object.assign(new Error('Server busy'), { statusCode: 503 });
    const e = classify(restError, 'Could not upload');
    expect(e).toBeInstanceOf(IngestTransientError);
    expect(e.message).toBe('Could not upload: Server busy (HTTP 503)');
    expect(e.cause).toBe(restError);
  });

  it('never says nothing: an error with no message is named by its code or name, an aggregate by its errors', () => {
    // A storage answer with no body (a HEAD, a 400 with an empty body) is a RestError with no message.
    const rest = Object.assign(new Error(''), { name: 'RestError', code: 'InvalidInput', statusCode: 400 });
    expect(classify(rest).message).toBe('RestError InvalidInput (HTTP 400)');
    const bare = Object.assign(new Error(''), { name: 'RestError', statusCode: 500 });
    expect(classify(bare).message).toBe('RestError (HTTP 500)');
    const both = new AggregateError([new Error('first down'), new Error('second down')], '');
    expect(classify(both).message).toBe('first down; second down');
  });

  it.each(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])(
    'treats %s as a transient network error',
    (code) => {
      const e = classify(Object.assign(new Error('socket'), { code }));
      expect(e).toMatchObject({ code: 'NetworkError', transient: true });
    },
  );

  it('finds a system code in the cause chain (fetch failed)', () => {
    const e = classify(
      new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
    );
    expect(e).toMatchObject({ code: 'NetworkError', transient: true });
  });

  it('treats an unknown error as permanent, keeping its message', () => {
    const e = classify(new Error('something odd'));
    expect(e).toMatchObject({ code: 'Unknown', transient: false, message: 'something odd' });
  });

  it('redacts SAS signatures and bearer tokens from messages', () => {
    const e = classify(
      new Error(
        'GET https://a.blob.core.windows.net/c/b?sv=2020&sig=SECRETSIG&se=x failed; Authorization: Bearer eyJhbGciOi.abc',
      ),
    );
    expect(e.message).not.toContain('SECRETSIG');
    expect(e.message).not.toContain('eyJhbGciOi');
    expect(e.message).toContain('sig=REDACTED');
  });
});

describe('guards and isTransient', () => {
  it('recognise errors by name across module copies', () => {
    const lookalike = Object.assign(new Error('x'), {
      name: 'IngestValidationError',
      code: 'EmptyInput',
      transient: false,
    });
    expect(isIngestValidationError(lookalike)).toBe(true);
    expect(isIngestValidationError(new Error('x'))).toBe(false);
  });

  it('uses the transient flag when there is one, else classifies', () => {
    expect(isTransient(new IngestTransientError('x', 'NetworkError'))).toBe(true);
    expect(isTransient(new IngestValidationError('x', 'InvalidName'))).toBe(false);
    expect(isTransient(Object.assign(new Error('x'), { statusCode: 502 }))).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0')).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('mayHaveBeenApplied', () => {
  const sys = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ['a connection reset after sending', sys('ECONNRESET'), true],
    ['a socket hang up', new Error('socket hang up'), true],
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    [
      'a 500 (storage: may or may not have succeeded)',
      Object.assign(new Error('x'), { statusCode: 500 }),
      true,
    ],
    [
      'a 200 whose answer could not be read (the service carried it out)',
      new IngestServiceError('accepted without an ingestionOperationId', 'BadRequest', 200),
      true,
    ],
    ['a refused connection', sys('ECONNREFUSED'), false],
    ['an unknown host', sys('ENOTFOUND'), false],
    ['503 busy', Object.assign(new Error('x'), { statusCode: 503 }), false],
    ['a 400', Object.assign(new Error('x'), { statusCode: 400 }), false],
  ])('%s: %s', (_name, error, expected) => {
    expect(mayHaveBeenApplied(error)).toBe(expected);
  });

  it('looks through causes and every earlier attempt a retry kept', () => {
    const last = new IngestTransientError('busy', 'ServiceUnavailable', {
      cause: new AggregateError([sys('ECONNRESET')], 'earlier attempts'),
    });
    expect(mayHaveBeenApplied(last)).toBe(true);
    expect(mayHaveBeenApplied(new IngestTransientError('busy', 'ServiceUnavailable'))).toBe(false);
  });
});

describe('the status questions, asked in one place', () => {
  const failed = (statusCode: number) => Object.assign(new Error(`HTTP ${statusCode}`), { statusCode });

  it('answer each question for its status codes only', () => {
    const asked = (status: number) => ({
      notFound: isNotFound(failed(status)),
      exists: isAlreadyExists(failed(status)),
      changed: isChangedSince(failed(status)),
      denied: isAccessDenied(failed(status)),
    });
    expect(asked(404)).toEqual({ notFound: true, exists: false, changed: false, denied: false });
    expect(asked(409)).toEqual({ notFound: false, exists: true, changed: false, denied: false });
    expect(asked(412)).toEqual({ notFound: false, exists: false, changed: true, denied: false });
    expect(asked(401)).toEqual({ notFound: false, exists: false, changed: false, denied: true });
    expect(asked(403)).toEqual({ notFound: false, exists: false, changed: false, denied: true });
    expect(asked(500)).toEqual({ notFound: false, exists: false, changed: false, denied: false });
  });

  it('nothing outside shared/errors.ts compares a failed call’s status code itself', () => {
    const root = join(__dirname, '..', '..');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) walk(path);
        else if (path.endsWith('.ts') && path !== 'shared/errors.ts') {
          const source = readFileSync(join(root, path), 'utf8');
          // An error's status: isHttpStatus(e, n), or e.statusCode / err.statusCode compared to a number.
          for (const m of source.matchAll(/isHttpStatus\(|\b(?:e|err|error)\??\.statusCode\s*[!=]==?\s*\d/g))
            offenders.push(`${path}: ${m[0]}`);
        }
      }
    };
    for (const dir of ['shared', 'functions']) walk(dir);
    expect(offenders).toEqual([]);
  });
});
