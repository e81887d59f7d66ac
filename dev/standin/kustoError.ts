/**
 * An error the stand-in reports as Kusto would: an ingestion error code (docs/protocol.md, 'Error codes'), whether it
 * is permanent, and the HTTP status when it answers a request.
 */
export class KustoError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 400,
    readonly permanent: boolean = status < 500,
  ) {
    super(message);
    this.name = 'KustoError';
  }
}

/** Permanence of each ingestion error code the stand-in emits, as the Azure Data Explorer docs' ingestion error codes page lists them (docs/protocol.md, 'Error codes'). */
const TRANSIENT_CODES = new Set([
  'Download_UnknownError',
  'Download_TransientNameResolutionFailure',
  'General_InternalServerError',
  'General_TransientSchemaMismatch',
  'General_ThrottledIngestion',
  'Timeout',
  'OutOfMemory',
  'Unknown',
]);

export function isTransientCode(code: string): boolean {
  return TRANSIENT_CODES.has(code);
}
