import { IngestServiceError, IngestValidationError } from '../../errors';
import type { ValidatedProps } from '../ingestionProps';
import { isUuid } from '../../uuid';

// The REST queued-ingestion submission (`POST /v1/rest/ingestion/queued/{db}/{table}`): its path, its body
// and its answer. Pure: the client that sends it (batching, retries) is elsewhere.

/** One blob of a submission, as the body names it. */
export interface SubmittedBlob {
  /** The URL the service reads, with its SAS. */
  readonly url: string;
  /** Our id for it: the status details name it back. */
  readonly sourceId: string;
  /** Its size before compression, when known (the service batches by it). */
  readonly rawSize?: number | undefined;
}

/** The request body, camelCase as the documentation and the OpenAPI description write it. */
export interface SubmissionBody {
  readonly timestamp: string;
  readonly blobs: readonly SubmittedBlob[];
  readonly properties: Readonly<Record<string, unknown>>;
}

/** How a blob's data was put where the service reads it: by the caller (kept), or by us (deleted after). */
export interface SubmissionOptions {
  /** True for the blobs this client uploaded: the service deletes them once it has read them. */
  readonly deleteAfterDownload: boolean;
  /**
   * When set, each submission carries one more plain tag, this prefix and the submission's own id, which
   * the ingested extents keep: evidence a caller can ask the engine for when the submission's answer was
   * lost (`journal` in IngestCallOptions).
   */
  readonly tagPrefix?: string | undefined;
}

const segment = (name: string) => encodeURIComponent(name);

export function submissionPath(database: string, table: string): string {
  return `/v1/rest/ingestion/queued/${segment(database)}/${segment(table)}`;
}

/** The status of one operation. Operation ids hold `;` and other reserved characters: encoded. */
export function operationPath(database: string, table: string, operationId: string, details = true): string {
  return `${submissionPath(database, table)}/${segment(operationId)}${details ? '?details=true' : ''}`;
}

/**
 * The submission's `properties`: the same ingestion properties a v1 message carries, named as v2 names
 * them, tracking always on (the operation id is how a status is read). Tags are one array: plain,
 * `drop-by:` and `ingest-by:` ones together, as v1 sends them; mappings and the validation policy are
 * JSON strings, as the OpenAPI description types them. Additional properties pass as they are, under the
 * names the caller gave (the description allows more properties).
 */
export function submissionProperties(
  props: ValidatedProps,
  options: SubmissionOptions,
  submissionTag?: string,
): Record<string, unknown> {
  const tags = [
    ...props.tags,
    ...(submissionTag !== undefined ? [submissionTag] : []),
    ...props.dropByTags.map((t) => `drop-by:${t}`),
    ...props.ingestByTags.map((t) => `ingest-by:${t}`),
  ];
  const named: Record<string, unknown> = {
    format: props.format,
    enableTracking: true,
    ...(tags.length > 0 && { tags }),
    ...(props.ingestIfNotExists !== undefined && { ingestIfNotExists: [...props.ingestIfNotExists] }),
    ...(props.flushImmediately && { skipBatching: true }),
    ...(options.deleteAfterDownload && { deleteAfterDownload: true }),
    ...(props.mappingReference !== undefined && { ingestionMappingReference: props.mappingReference }),
    ...(props.mapping !== undefined && {
      ingestionMapping: JSON.stringify(
        props.mapping.map((m) => ({
          Column: m.column,
          ...(m.datatype !== undefined && { DataType: m.datatype }),
          Properties: Object.fromEntries(Object.entries(m.properties).map(([k, v]) => [k, String(v)])),
        })),
      ),
    }),
    ...(props.validationPolicy !== undefined && {
      validationPolicy: JSON.stringify({
        ValidationOptions: props.validationPolicy.validationOptions,
        ValidationImplications: props.validationPolicy.validationImplications,
      }),
    }),
    ...(props.ignoreFirstRecord && { ignoreFirstRecord: true }),
    ...(props.creationTime !== undefined && { creationTime: props.creationTime }),
  };
  // validateProps already refuses an additional property that a named one covers.
  return { ...props.additionalProperties, ...named };
}

/**
 * Which items may share one submission: the same database, table and properties (one format per request,
 * one set of tags, one mapping). Items with equal keys are batched together.
 */
export function batchKey(props: ValidatedProps, options: SubmissionOptions): string {
  return JSON.stringify([
    props.database,
    props.table,
    options.tagPrefix ?? null,
    submissionProperties(props, options),
  ]);
}

/** A blob URL as the service compares them: without its query (the SAS), host in lower case. */
export function blobKey(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host.toLowerCase()}${u.pathname}`;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

/**
 * Whether one blob may join a submission: an absolute https URL (http only to a local emulator's
 * loopback), a GUID source id, a size within what the service takes. Throws the typed error that says
 * what is wrong, so the blob alone is refused and its neighbours go on.
 */
export function checkSubmittedBlob(
  blob: SubmittedBlob,
  limits: { readonly maxDataSize?: number | undefined; readonly ignoreSizeLimit?: boolean },
): void {
  let url: URL;
  try {
    url = new URL(blob.url);
  } catch {
    throw new IngestValidationError(
      `The blob URL '${blobKey(blob.url)}' is not an absolute URL: give the blob's full https URL.`,
      'InvalidProperty',
    );
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
    throw new IngestValidationError(
      `The blob URL '${blobKey(blob.url)}' is not https: the service reads blobs over https only.`,
      'InvalidProperty',
    );
  if (!isUuid(blob.sourceId))
    throw new IngestValidationError(
      `The source id '${blob.sourceId}' is not a GUID: the status details name blobs by it.`,
      'InvalidProperty',
    );
  if (
    !limits.ignoreSizeLimit &&
    limits.maxDataSize !== undefined &&
    blob.rawSize !== undefined &&
    blob.rawSize > limits.maxDataSize
  )
    throw new IngestValidationError(
      `The blob '${blobKey(blob.url)}' holds ${blob.rawSize} bytes, over the service's limit of ${limits.maxDataSize}: split it.`,
      'TooLarge',
    );
}

/**
 * The body of one submission. Refuses what the service would: no blob, more than maxBlobsPerBatch, the
 * same blob twice (compared without the query, as the official clients do).
 */
export function buildSubmission(
  blobs: readonly SubmittedBlob[],
  properties: Readonly<Record<string, unknown>>,
  maxBlobsPerBatch: number,
  now: Date,
): SubmissionBody {
  if (blobs.length === 0)
    throw new IngestValidationError('A submission needs at least one blob.', 'InvalidProperty');
  if (blobs.length > maxBlobsPerBatch)
    throw new IngestValidationError(
      `A submission may name at most ${maxBlobsPerBatch} blobs (the service's maxBlobsPerBatch); it names ${blobs.length}.`,
      'InvalidProperty',
    );
  const seen = new Set<string>();
  for (const blob of blobs) {
    const key = blobKey(blob.url);
    if (seen.has(key))
      throw new IngestValidationError(
        `The blob '${key}' is named twice in one submission: the service would refuse the request.`,
        'InvalidProperty',
      );
    seen.add(key);
  }
  return {
    timestamp: now.toISOString(),
    blobs: blobs.map((b) => ({
      url: b.url,
      sourceId: b.sourceId,
      ...(b.rawSize !== undefined && { rawSize: b.rawSize }),
    })),
    properties,
  };
}

/**
 * The operation id of an accepted submission. Tracking is always on, so an answer without one is a
 * service that did not do what was asked: an error, not a silent untracked ingestion.
 */
export function parseSubmissionAnswer(body: unknown): string {
  const id =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>).ingestionOperationId
      : undefined;
  if (typeof id === 'string' && id.trim() !== '') return id;
  throw new IngestServiceError(
    `The service accepted the submission without an ingestionOperationId (answer: ${preview(body)}): ` +
      "its status cannot be read. Check that the endpoint is the cluster's ingestion endpoint.",
    'BadRequest',
    200,
  );
}

/** A glimpse of an answer for an error message (JSON.stringify gives undefined for some values). */
export function preview(body: unknown): string {
  return ((JSON.stringify(body) as string | undefined) ?? String(body)).slice(0, 200);
}
