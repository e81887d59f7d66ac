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
