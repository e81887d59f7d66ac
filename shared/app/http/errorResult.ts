import {
  classify,
  isIngestAuthError,
  isIngestThrottledError,
  isIngestValidationError,
  type IngestError,
  type ValidationCode,
} from '../../errors';
import { redactSecrets, type Logger } from '../../log';
import { errorBody, HttpProblem, type HttpResult } from './httpTypes';

/** Validation errors answered otherwise than 400. */
const VALIDATION_STATUS: Partial<Record<ValidationCode, number>> = {
  TooLarge: 413,
  SourceNotAllowed: 403,
  DatabaseNotAllowed: 403,
};

/** Seconds a caller waits before retrying after a dependency failure, unless the dependency said. */
const RETRY_AFTER_SECONDS = 10;

/** A refusal of the HTTP API: what was wrong and what to do, the source it concerns when one is known. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Record<string, string> | undefined;
  readonly sourceId?: string | undefined;
}

/**
 * Answers a refusal, and logs it first (a warning: the caller's to fix or to retry), so that an operator can
 * tell which refusal a caller got; its message has no secret (errors redact theirs when made).
 */
export function refusal(log: Logger, r: Refusal): HttpResult {
  log.warn(
    JSON.stringify({
      event: 'HttpIngestRefused',
      status: r.status,
      code: r.code,
      ...(r.sourceId !== undefined && { sourceId: r.sourceId }),
      message: redactSecrets(r.message),
    }),
  );
  return errorBody(r.status, r.code, r.message, r.headers);
}

/**
 * Maps an error to the HTTP API's answer: what was wrong and what to do, never a secret and never an
 * internal endpoint. Bad input is 4xx; a dependency that failed is 502 (it refused us) or 503 (try again).
 */
export function errorResult(e: unknown, log: Logger): HttpResult {
  const refused = (status: number, code: string, message: string, headers?: Record<string, string>) =>
    refusal(log, { status, code, message, headers });
  if (e instanceof HttpProblem) return refused(e.status, e.code, e.message, e.headers);
  const err: IngestError = classify(e);
  if (isIngestValidationError(err)) return refused(VALIDATION_STATUS[err.code] ?? 400, err.code, err.message);
  if (isIngestThrottledError(err)) {
    const retryAfter = String(Math.ceil((err.retryAfterInMs ?? RETRY_AFTER_SECONDS * 1000) / 1000));
    return refused(503, err.code, `Kusto is throttling ingestion: retry after ${retryAfter} s.`, {
      'retry-after': retryAfter,
    });
  }
  log.error(JSON.stringify({ event: 'HttpIngestError', code: err.code, message: err.message }));
  if (isIngestAuthError(err))
    return errorBody(
      502,
      err.code,
      "The app's identity was refused by Kusto or storage: check its role assignments.",
    );
  if (err.transient)
    return errorBody(
      503,
      err.code,
      `Kusto or storage is unavailable right now (${err.code}): retry after ${RETRY_AFTER_SECONDS} s.`,
      { 'retry-after': String(RETRY_AFTER_SECONDS) },
    );
  if (err.code === 'Unknown')
    return errorBody(500, 'InternalError', 'The app failed unexpectedly: the error is in its log.');
  return errorBody(
    502,
    err.code,
    `Kusto or storage refused the request (${err.code}): the details are in the app's log.`,
  );
}
