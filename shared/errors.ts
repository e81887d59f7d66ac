/**
 * One error hierarchy for the whole library (docs/contracts.md, 'Errors'). Every error says whether a retry can help
 * (`transient`) and carries a stable `code` that the HTTP API and logs reuse.
 */
import { redactSecrets } from './log';

export type ValidationCode =
  | 'EmptyInput'
  | 'InvalidFormat'
  | 'InvalidName'
  | 'MappingMismatch'
  | 'InvalidProperty'
  /** Two sources of one property disagree (two metadata names for it with different values). */
  | 'ConflictingProperty'
  /** A database outside the ones this app may write to (ALLOWED_DATABASES). */
  | 'DatabaseNotAllowed'
  /** A storage container this app's settings do not let a caller read (BACKFILL_SOURCES), or its own. */
  | 'SourceNotAllowed'
  | 'TooLarge';
export type AuthCode = 'Unauthorized' | 'Forbidden';
export type TransientCode = 'ServiceUnavailable' | 'NetworkError';
export type ServiceCode = 'BadRequest' | 'NotFound' | 'NotImplemented' | 'StreamingDisabled';

export interface IngestErrorOptions {
  cause?: unknown;
  /** The service's own error code (e.g. `BadRequest_SyntaxError`), when it gave one. */
  serviceCode?: string | undefined;
}

export class IngestError extends Error {
  readonly code: string;
  readonly transient: boolean;
  readonly serviceCode: string | undefined;

  constructor(message: string, code: string, transient: boolean, options?: IngestErrorOptions) {
    super(redactSecrets(message), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IngestError';
    this.code = code;
    this.transient = transient;
    this.serviceCode = options?.serviceCode;
  }
}

export class IngestValidationError extends IngestError {
  declare readonly code: ValidationCode;

  constructor(message: string, code: ValidationCode, options?: IngestErrorOptions) {
    super(message, code, false, options);
    this.name = 'IngestValidationError';
  }
}

export class IngestAuthError extends IngestError {
  declare readonly code: AuthCode;

  constructor(message: string, code: AuthCode, options?: IngestErrorOptions) {
    super(message, code, false, options);
    this.name = 'IngestAuthError';
  }
}

export class IngestThrottledError extends IngestError {
  declare readonly code: 'Throttled';
  /** How long the service asked us to wait, when it said so (Retry-After). */
  readonly retryAfterInMs: number | undefined;

  constructor(message: string, retryAfterInMs?: number, options?: IngestErrorOptions) {
    super(message, 'Throttled', true, options);
    this.name = 'IngestThrottledError';
    this.retryAfterInMs = retryAfterInMs;
  }
}

export class IngestTransientError extends IngestError {
  declare readonly code: TransientCode;

  constructor(message: string, code: TransientCode, options?: IngestErrorOptions) {
    super(message, code, true, options);
    this.name = 'IngestTransientError';
  }
}

export class IngestServiceError extends IngestError {
  declare readonly code: ServiceCode;
  /** The HTTP status the service answered, when there was one. */
  readonly statusCode: number | undefined;

  constructor(message: string, code: ServiceCode, statusCode?: number, options?: IngestErrorOptions) {
    super(message, code, false, options);
    this.name = 'IngestServiceError';
    this.statusCode = statusCode;
  }
}

export class IngestResourceError extends IngestError {
  declare readonly code: 'ResourcesUnavailable';

  constructor(message: string, options?: IngestErrorOptions) {
    super(message, 'ResourcesUnavailable', true, options);
    this.name = 'IngestResourceError';
  }
}

// Guards check `name` too, so they hold across copies of this module (two bundles, jest module registries).
const guard =
  <T extends IngestError>(ctor: abstract new (...args: never[]) => T, name: string) =>
  (e: unknown): e is T =>
    e instanceof ctor || (e instanceof Error && e.name === name && 'code' in e && 'transient' in e);

export const isIngestError = guard(IngestError, 'IngestError');
export const isIngestValidationError = guard(IngestValidationError, 'IngestValidationError');
export const isIngestAuthError = guard(IngestAuthError, 'IngestAuthError');
export const isIngestThrottledError = guard(IngestThrottledError, 'IngestThrottledError');
export const isIngestTransientError = guard(IngestTransientError, 'IngestTransientError');
export const isIngestServiceError = guard(IngestServiceError, 'IngestServiceError');
export const isIngestResourceError = guard(IngestResourceError, 'IngestResourceError');

/** Any error that is ours and says so, or anything else: is it worth another try? */
export function isTransient(e: unknown): boolean {
  if (e instanceof Error && 'transient' in e && typeof e.transient === 'boolean') return e.transient;
  return classify(e).transient;
}

const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'REQUEST_SEND_ERROR',
]);

/** Errors of ours that say the request was never sent (ingest v2: a submission whose record failed first). */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['SubmissionNotSent']);

// Failures after the request may have reached the service: it may have done what was asked.
const AFTER_SEND_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Whether a failed call may nevertheless have been carried out: the connection broke or timed out after the
 * request could have reached the service, or the service answered 500 (Azure Storage's "the operation may or
 * may not have succeeded"). Walks the causes, and every earlier attempt a retry kept. A refused connection,
 * an unknown host, 503 (busy) or a 4xx mean it was not.
 */
export function mayHaveBeenApplied(e: unknown, depth = 0): boolean {
  if (depth > 8 || typeof e !== 'object' || e === null) return false;
  // Our own word that nothing was sent, whatever failed before it (its message may quote a broken connection).
  if (e instanceof IngestError && NOT_SENT_CODES.has(e.code)) return false;
  if (e instanceof AggregateError) return e.errors.some((x) => mayHaveBeenApplied(x, depth + 1));
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && AFTER_SEND_CODES.has(code)) return true;
  const status = statusCodeOf(e);
  // 500: storage's "may or may not have succeeded"; 2xx: carried out, and its answer could not be read.
  if (status === 500 || (status !== undefined && status >= 200 && status < 300)) return true;
  if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError')) return true;
  if (e instanceof Error && /socket hang up/i.test(e.message)) return true;
  return mayHaveBeenApplied((e as { cause?: unknown }).cause, depth + 1);
}

export interface HttpFailure {
  statusCode: number;
  /** The service's own words, already free of secrets or about to be redacted. */
  message: string;
  retryAfterInMs?: number | undefined;
  cause?: unknown;
  serviceCode?: string | undefined;
  /**
   * The service's own word on whether trying again can help (Kusto's OneAPI `@permanent`): it overrides
   * what the status alone would say, except for sign-in and permission failures.
   */
  permanent?: boolean | undefined;
}

const CHECKSUM_MISMATCH: ReadonlySet<string> = new Set(['Md5Mismatch', 'Crc64Mismatch']);

/** Maps an HTTP status to our error type (docs/contracts.md, 'Errors'). */
export function errorFromStatus(failure: HttpFailure): IngestError {
  const byStatus = errorFromStatusAlone(failure);
  const { statusCode, message, cause, serviceCode, permanent } = failure;
  if (permanent === undefined || byStatus instanceof IngestAuthError) return byStatus;
  const opts = { cause, serviceCode };
  if (permanent && byStatus.transient)
    return new IngestServiceError(
      `${message} (the service says it is permanent)`,
      'BadRequest',
      statusCode,
      opts,
    );
  if (!permanent && !byStatus.transient)
    return new IngestTransientError(
      `${message} (the service says it is transient)`,
      'ServiceUnavailable',
      opts,
    );
  return byStatus;
}

function errorFromStatusAlone(failure: HttpFailure): IngestError {
  const { statusCode, message, retryAfterInMs, cause, serviceCode } = failure;
  const opts = { cause, serviceCode };
  // The body changed on the way (the service checked its Content-MD5): sending it again can succeed.
  if (serviceCode !== undefined && CHECKSUM_MISMATCH.has(serviceCode))
    return new IngestTransientError(message, 'NetworkError', opts);
  if (statusCode === 429) return new IngestThrottledError(message, retryAfterInMs, opts);
  if (statusCode === 401) return new IngestAuthError(message, 'Unauthorized', opts);
  if (statusCode === 403) return new IngestAuthError(message, 'Forbidden', opts);
  if (statusCode === 501 || statusCode === 505)
    return new IngestServiceError(message, 'NotImplemented', statusCode, opts);
  if (statusCode === 408 || statusCode >= 500)
    return new IngestTransientError(message, 'ServiceUnavailable', opts);
  if (statusCode === 404) return new IngestServiceError(message, 'NotFound', statusCode, opts);
  return new IngestServiceError(message, 'BadRequest', statusCode, opts);
}

function systemCodeOf(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    if (
      typeof cur === 'object' &&
      'code' in cur &&
      typeof cur.code === 'string' &&
      /^[A-Z_]+$/.test(cur.code)
    ) {
      return cur.code;
    }
    cur = typeof cur === 'object' && 'cause' in cur ? cur.cause : undefined;
  }
  return undefined;
}

function statusCodeOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const rec = e as { statusCode?: unknown; status?: unknown };
  if (typeof rec.statusCode === 'number') return rec.statusCode;
  if (typeof rec.status === 'number') return rec.status;
  return undefined;
}

/** Whether a foreign error (a storage RestError, a fetch failure) carries this HTTP status. */
export function isHttpStatus(e: unknown, status: number): boolean {
  return statusCodeOf(e) === status;
}

/*
 * The questions the code asks of a failed storage or service call, each answered in one place: nothing
 * outside this file compares an error's status code (test/unit/errors.test.ts checks).
 */

/** "It is not there": a 404 from storage or a service, raw or already classified. */
export function isNotFound(e: unknown): boolean {
  return isHttpStatus(e, 404) || (isIngestError(e) && e.code === 'NotFound');
}

/** "It is there already": a create (insert, a container or queue, a copy with if-none-match) met one (409). */
export function isAlreadyExists(e: unknown): boolean {
  return isHttpStatus(e, 409);
}

/** "It changed since you read it": a condition on its ETag failed (412). */
export function isChangedSince(e: unknown): boolean {
  return isHttpStatus(e, 412);
}

/** "You may not": the caller's identity was refused (401 or 403). */
export function isAccessDenied(e: unknown): boolean {
  return isHttpStatus(e, 401) || isHttpStatus(e, 403);
}

function retryAfterOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null || !('response' in e)) return undefined;
  const response = (e as { response?: { headers?: { get?: (n: string) => string | undefined } } }).response;
  const value = response?.headers?.get?.('retry-after');
  return parseRetryAfter(value ?? null);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The storage service's error code (x-ms-error-code) of a RestError. */
function storageCodeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The one place where foreign errors (storage RestError, fetch/undici errors, system errors) become ours.
 * Our own errors pass through unchanged.
 */
/**
 * A foreign error in words, never empty: its message, else its code or name (a storage answer with no body
 * gives a RestError with an empty message, and an AggregateError says nothing of its errors).
 */
function describeForeign(e: unknown): string {
  if (e instanceof AggregateError && e.message === '')
    return e.errors.map(describeForeign).join('; ') || 'AggregateError';
  if (!(e instanceof Error)) return String(e);
  if (e.message !== '') return e.message;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? `${e.name} ${code}` : e.name;
}

export function classify(e: unknown, context?: string): IngestError {
  if (isIngestError(e)) return e;
  const prefix = context ? `${context}: ` : '';
  const detail = describeForeign(e);
  const statusCode = statusCodeOf(e);
  if (statusCode !== undefined && statusCode > 0) {
    return errorFromStatus({
      statusCode,
      message: `${prefix}${detail} (HTTP ${statusCode})`,
      retryAfterInMs: retryAfterOf(e),
      cause: e,
      serviceCode: storageCodeOf(e),
    });
  }
  const sys = systemCodeOf(e);
  if (sys !== undefined && TRANSIENT_SYSTEM_CODES.has(sys)) {
    return new IngestTransientError(`${prefix}${detail} (${sys})`, 'NetworkError', { cause: e });
  }
  if (e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError')) {
    // A request timeout is worth retrying; the caller's own abort is checked before any retry.
    return new IngestTransientError(`${prefix}${detail}`, 'NetworkError', { cause: e });
  }
  if (e instanceof TypeError && /fetch failed/i.test(detail)) {
    return new IngestTransientError(`${prefix}${detail}`, 'NetworkError', { cause: e });
  }
  return new IngestError(`${prefix}${detail}`, 'Unknown', false, { cause: e });
}
