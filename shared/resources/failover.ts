import { classify, IngestResourceError, isIngestValidationError, type IngestError } from '../errors';
import { withRetry, type RetryOptions } from '../retry';
import type { StorageResource } from './storageUrl';

export interface FailoverOptions {
  /** What is being done, for messages: 'upload to temp storage', 'enqueue the ingestion message'. */
  readonly what: string;
  readonly retry?: RetryOptions | undefined;
  readonly abortSignal?: AbortSignal | undefined;
  /** Told about every attempt's outcome, to rank accounts. */
  readonly report: (resource: StorageResource, success: boolean, error?: IngestError) => void;
  /** A failure after which no other attempt is made (one that may have been carried out). @default none */
  readonly stopAfter?: (error: IngestError) => boolean;
}

/** Whether another resource may succeed where this one failed: a bad request will fail everywhere. */
function worthFailover(error: IngestError): boolean {
  if (isIngestValidationError(error)) return false;
  return (
    error.transient ||
    error.code === 'Unauthorized' ||
    error.code === 'Forbidden' ||
    error.code === 'NotFound'
  );
}

/**
 * Runs `op` on the ranked resources in order, moving to the next one on failure: at once while untried
 * accounts remain, then with jittered backoff, for at most max(retry.maxAttempts, accounts) attempts.
 */
export async function withFailover<T>(
  candidates: readonly StorageResource[],
  op: (resource: StorageResource, signal?: AbortSignal) => Promise<T>,
  options: FailoverOptions,
): Promise<{ value: T; resource: StorageResource }> {
  if (candidates.length === 0) {
    throw new IngestResourceError(
      `Cannot ${options.what}: the Data Management service handed out no resource for it.`,
    );
  }
  const accounts = new Set(candidates.map((c) => c.accountName)).size;
  const maxAttempts = Math.max(options.retry?.maxAttempts ?? 3, accounts);
  return withRetry(
    async (attempt, signal) => {
      const resource = candidates[(attempt - 1) % candidates.length] as StorageResource;
      try {
        const value = await op(resource, signal);
        options.report(resource, true);
        return { value, resource };
      } catch (raw) {
        if (signal?.aborted) throw raw;
        const error = classify(raw, `Could not ${options.what} (${resource.accountName}/${resource.name})`);
        options.report(resource, false, error);
        throw error;
      }
    },
    {
      ...options.retry,
      maxAttempts,
      immediateRetries: accounts - 1,
      abortSignal: options.abortSignal,
      shouldRetry: (error) => worthFailover(error) && !(options.stopAfter?.(error) ?? false),
    },
  );
}
