import { randomUUID } from 'node:crypto';
import type { KustoStore } from './store';

export interface OperationOptions {
  /** The operation's id, when the caller has already named it (the DM worker's reports). @default a new guid */
  readonly operationId?: string;
  /** Failures that never became an operation (a command that does not parse). @default none */
  readonly notAnOperation?: (error: unknown) => boolean;
}

/**
 * Runs an ingestion or a command that changes something and logs it for `.show operations`: Completed,
 * or Failed with the reason.
 */
export async function asOperation<T>(
  store: KustoStore,
  operation: string,
  database: string,
  run: (operationId: string) => Promise<T>,
  options: OperationOptions = {},
): Promise<T> {
  const operationId = options.operationId ?? randomUUID();
  const startedOn = Date.now();
  const record = (state: 'Completed' | 'Failed', status: string): void =>
    store.recordOperation({
      operationId,
      operation,
      database,
      startedOn,
      lastUpdatedOn: Date.now(),
      state,
      status,
    });
  try {
    const result = await run(operationId);
    record('Completed', '');
    return result;
  } catch (e) {
    if (!options.notAnOperation?.(e)) record('Failed', e instanceof Error ? e.message : String(e));
    throw e;
  }
}
