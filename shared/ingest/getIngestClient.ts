import { IngestValidationError } from '../errors';
import { QueuedIngestClient, type QueuedIngestClientOptions } from './queuedIngestClient';

const clients = new Map<
  string,
  { client: QueuedIngestClient; options: Omit<QueuedIngestClientOptions, 'ingestUri'> }
>();

function sameOptions(a: object, b: object): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const x: unknown = (a as Record<string, unknown>)[key];
    const y: unknown = (b as Record<string, unknown>)[key];
    if (x === y) continue;
    if (typeof x === 'object' && typeof y === 'object' && x !== null && y !== null && sameOptions(x, y))
      continue;
    return false;
  }
  return true;
}

function normalizeUri(ingestUri: string): string {
  try {
    return new URL(ingestUri).origin.toLowerCase();
  } catch {
    return ingestUri;
  }
}

/**
 * One client per cluster per process (the service's best practice), created on first use. Asking again
 * for the same URI with different options throws rather than silently ignoring them.
 */
export function getIngestClient(
  ingestUri: string,
  options: Omit<QueuedIngestClientOptions, 'ingestUri'> = {},
): QueuedIngestClient {
  const key = normalizeUri(ingestUri);
  const existing = clients.get(key);
  if (existing) {
    if (!sameOptions(existing.options, options)) {
      throw new IngestValidationError(
        `getIngestClient('${key}') was already called with other options: share one options object per cluster, or construct a QueuedIngestClient yourself.`,
        'InvalidProperty',
      );
    }
    return existing.client;
  }
  const client = new QueuedIngestClient({ ...options, ingestUri });
  clients.set(key, { client, options: { ...options } });
  return client;
}

/** Closes and forgets every shared client (tests, graceful shutdown). */
export function closeIngestClients(): void {
  for (const { client } of clients.values()) client.close();
  clients.clear();
}
