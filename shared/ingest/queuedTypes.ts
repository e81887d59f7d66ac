// The shapes the queued client's parts pass between them, and the two its callers see.
import type { StorageResource } from '../resources/storageUrl';
import type { ValidatedProps } from './ingestionProps';

/** A source staged in temp storage and not queued yet (see `uploadToTempStorage`). */
export interface UploadedSource {
  readonly sourceId: string;
  /** The blob's URL without SAS: safe to store. */
  readonly blobPath: string;
  readonly rawDataSize: number | undefined;
}

export interface IngestCallOptions {
  readonly abortSignal?: AbortSignal;
  /**
   * What to do when sending the ingestion message failed in a way that may have queued it anyway (the
   * connection broke after the request went out, a 500): 'retry' sends it again (it may then be ingested
   * twice); 'throw' stops and throws, for a caller that can find out later (the app asks the status row).
   * @default 'retry'
   */
  readonly ambiguousEnqueue?: 'retry' | 'throw';
  /**
   * v2 only: lets a caller record a submission before it is sent, so that a process that stops before the
   * answer (or loses it) can find out later whether it was accepted (docs/lifecycle.md, 'The app on v2').
   * Ignored on v1, whose status row is that record.
   */
  readonly journal?: SubmissionJournal;
  /**
   * The call's reportLevel and reportMethod are for v1 only: they do not keep an `auto` client on v1 (a
   * caller that reads a v2 source's status by its operation, as the app does). @default false: under
   * `auto`, a call that asks for v1's reporting stays on v1
   */
  readonly reportingOnV1Only?: boolean;
}

/** A caller's record of each REST submission that carries its blob (ingest v2). */
export interface SubmissionJournal {
  /**
   * The submission carries the plain tag `${tagPrefix}${submissionId}`, which its ingested extents keep:
   * `.show table T extents where tags has '<tag>'` tells later whether anything of it was ingested.
   */
  readonly tagPrefix: string;
  /**
   * Awaited before each submission that carries the blob is sent (a refused batch is split and each part
   * sent under a new id: called again). When it fails, the blob is left out and its call fails with
   * `SubmissionNotSent`: nothing of it reached the service.
   */
  readonly beforeSubmit: (submissionId: string, tag: string) => Promise<void>;
}

/** One blob staged in temp storage: the whole input, or one part of a split one. */
export interface StagedBlob {
  readonly sourceId: string;
  /** With SAS. */
  readonly blobUrl: string;
  readonly rawDataSize: number | undefined;
  /** The part's index when the input was split. */
  readonly part?: number;
  /** Its queue message, when the preflight built exactly this one (same blob URL and size). */
  readonly message?: BuiltMessage;
}

/** An encoded ingestion message and what it names. */
export interface BuiltMessage {
  readonly text: string;
  readonly statusTable: StorageResource | undefined;
  readonly now: Date;
}

/** What one ingestion message is about: a blob (with SAS), its source and properties. */
export interface QueueItem {
  readonly sourceId: string;
  /** With SAS. */
  readonly blobUrl: string;
  readonly rawDataSize: number | undefined;
  readonly props: ValidatedProps;
  readonly retain: boolean;
  /** Built for this very item already (by the preflight): not built again. */
  readonly message?: BuiltMessage | undefined;
}
