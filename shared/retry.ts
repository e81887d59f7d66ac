import { setTimeout as sleepTimer } from 'node:timers/promises';
import { abortReason } from './abort';
import { classify, IngestError, isIngestThrottledError } from './errors';

export interface RetryOptions {
  /** Attempts in all, the first included. @default 3 */
  readonly maxAttempts?: number;
  /** Backoff base: attempt n waits up to base·2^(n-1). @default 500 */
  readonly baseDelayInMs?: number;
  /** Backoff ceiling (Retry-After from the service may ask for longer, up to 5 minutes). @default 10_000 */
  readonly maxDelayInMs?: number;
  readonly abortSignal?: AbortSignal | undefined;
  /** Whether an error is worth another attempt. @default the error's `transient` flag */
  readonly shouldRetry?: (error: IngestError, attempt: number) => boolean;
  /** The first N retries start at once: failover to another resource needs no backoff. @default 0 */
  readonly immediateRetries?: number;
  /** Called before each wait; for logs. */
  readonly onRetry?: (error: IngestError, attempt: number, delayInMs: number) => void;
  /** Injectable for tests. @default Math.random */
  readonly random?: () => number;
  /** Injectable for tests. @default an abortable setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_RETRY = { maxAttempts: 3, baseDelayInMs: 500, maxDelayInMs: 10_000 } as const;
const MAX_RETRY_AFTER_IN_MS = 300_000;

/**
 * The pure decision: how long to wait before attempt `attempt + 1`. "Full jitter" backoff (a random wait
 * in [0, min(max, base·2^(attempt-1))]), but never shorter than the service's Retry-After.
 */
export function retryDelayInMs(
  attempt: number,
  error: IngestError,
  options: { baseDelayInMs: number; maxDelayInMs: number; random: () => number },
): number {
  const ceiling = Math.min(options.maxDelayInMs, options.baseDelayInMs * 2 ** (attempt - 1));
  const jittered = Math.floor(options.random() * ceiling);
  const retryAfter = isIngestThrottledError(error) ? error.retryAfterInMs : undefined;
  if (retryAfter === undefined) return jittered;
  return Math.min(MAX_RETRY_AFTER_IN_MS, Math.max(jittered, retryAfter));
}

async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  await sleepTimer(ms, undefined, signal ? { signal } : undefined);
}

/**
 * Runs `op` until it succeeds, fails with an error not worth retrying, or runs out of attempts. The error
 * thrown at the end is the last one, classified, with the earlier attempts' errors kept as its cause.
 */
export async function withRetry<T>(
  op: (attempt: number, signal?: AbortSignal) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_RETRY.maxAttempts;
  const baseDelayInMs = options.baseDelayInMs ?? DEFAULT_RETRY.baseDelayInMs;
  const maxDelayInMs = options.maxDelayInMs ?? DEFAULT_RETRY.maxDelayInMs;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;
  const shouldRetry = options.shouldRetry ?? ((e: IngestError) => e.transient);
  const signal = options.abortSignal;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  }

  const failures: IngestError[] = [];
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw abortReason(signal);
    try {
      return await op(attempt, signal);
    } catch (raw) {
      if (signal?.aborted) throw abortReason(signal);
      const error = classify(raw);
      failures.push(error);
      if (attempt >= maxAttempts || !shouldRetry(error, attempt)) throw withEarlierFailures(error, failures);
      const delay =
        attempt <= (options.immediateRetries ?? 0) && !isIngestThrottledError(error)
          ? 0
          : retryDelayInMs(attempt, error, { baseDelayInMs, maxDelayInMs, random });
      options.onRetry?.(error, attempt, delay);
      try {
        if (delay > 0) await sleep(delay, signal);
      } catch {
        if (signal?.aborted) throw abortReason(signal);
        throw error;
      }
    }
  }
}

/** Keeps every attempt's error reachable from the one we throw. */
export function withEarlierFailures(last: IngestError, all: readonly IngestError[]): IngestError {
  const earlier = all.filter((e) => e !== last);
  if (earlier.length === 0) return last;
  const causes: unknown[] = last.cause === undefined ? earlier : [last.cause, ...earlier];
  Object.defineProperty(last, 'cause', {
    value: new AggregateError(causes, `${all.length} attempts failed; the earlier errors are listed here`),
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return last;
}
