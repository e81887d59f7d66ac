import { z } from 'zod';
import { IngestValidationError } from '../../errors';
import { unsafeBlobUrl } from './landingBlob';

const isUrl = (u: string) => URL.canParse(u);
const eventData = z
  .object({
    // BlobCreated names the blob in url; BlobRenamed in destinationUrl (and sourceUrl).
    url: z.string().refine(isUrl, 'data.url is not a URL').optional(),
    destinationUrl: z.string().refine(isUrl, 'data.destinationUrl is not a URL').optional(),
    eTag: z.string().optional(),
    contentLength: z.number().optional(),
    api: z.string().optional(),
  })
  .loose();
const eventGridEvent = z.object({ eventType: z.string(), eventTime: z.string().optional(), data: eventData });
const cloudEvent = z.object({ type: z.string(), time: z.string().optional(), data: eventData });

/** The event's blob URL, unless it could name a blob other than it seems to (poisoned, never followed). */
function safeUrl(url: string): string {
  const unsafe = unsafeBlobUrl(url);
  if (unsafe)
    throw new IngestValidationError(
      `The landing message names a blob URL with ${unsafe}: Event Grid never sends one, so it is not followed.`,
      'InvalidProperty',
    );
  return url;
}

/** A blob-created event, as far as the landing path needs it. */
export interface BlobCreated {
  readonly url: string;
  /** The version the event is about; none for a rename (the blob as it is now is the one). */
  readonly eTag: string | undefined;
  /** When the event was raised (Event Grid's eventTime, CloudEvents' time), when it says so. */
  readonly raisedAt?: Date | undefined;
}

/**
 * The storage operations after which a file is complete (the Event Grid blob schema's `data.api`): the
 * Blob REST API's PutBlob, PutBlockList and CopyBlob, Data Lake's FlushWithClose, SFTP's SftpCommit. A
 * Data Lake CreateFile (an empty file about to be appended to) or an append starts nothing.
 */
export const COMPLETE_APIS = ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose', 'SftpCommit'] as const;

/** What a landing message means: a complete blob to take on, or an event to let go (and why). */
export type LandingEvent = BlobCreated | { readonly ignore: string };

/**
 * The event a landing message carries (Event Grid or CloudEvents schema; an object, JSON text or a
 * one-element array): a blob that is complete (created, or renamed into place), or why the event starts
 * nothing. A message that is no event at all is an IngestValidationError: it can never succeed.
 */
export function parseLandingEvent(message: unknown): LandingEvent {
  let value = message;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      throw new IngestValidationError(
        'The landing message is not JSON: expected an Event Grid BlobCreated event.',
        'InvalidProperty',
      );
    }
  }
  if (Array.isArray(value) && value.length === 1) value = value[0];
  const grid = eventGridEvent.safeParse(value);
  const cloud = grid.success ? undefined : cloudEvent.safeParse(value);
  const type = grid.success ? grid.data.eventType : cloud?.success ? cloud.data.type : undefined;
  const data = grid.success ? grid.data.data : cloud?.success ? cloud.data.data : undefined;
  const raisedAt = timeOf(grid.success ? grid.data.eventTime : cloud?.success ? cloud.data.time : undefined);
  const badUrl = [grid, cloud].some((r) => r?.error?.issues.some((i) => /is not a URL$/.test(i.message)));
  if (badUrl)
    throw new IngestValidationError(
      'The landing message names a blob whose URL is not a URL: expected the blob URL Event Grid sends.',
      'InvalidProperty',
    );
  if (!type || !data || (!data.url && !data.destinationUrl)) {
    throw new IngestValidationError(
      'The landing message is not an Event Grid event with data.url: expected a Microsoft.Storage.BlobCreated event (Event Grid or CloudEvents schema).',
      'InvalidProperty',
    );
  }
  if (type === 'Microsoft.Storage.BlobRenamed') {
    // Written under a temporary name, then renamed into place: the new name is a complete file.
    if (!data.destinationUrl) return { ignore: 'a BlobRenamed event without data.destinationUrl' };
    return { url: safeUrl(data.destinationUrl), eTag: undefined, raisedAt };
  }
  if (type !== 'Microsoft.Storage.BlobCreated') return { ignore: `not a BlobCreated event (${type})` };
  if (!data.url) return { ignore: 'a BlobCreated event without data.url' };
  if (data.api !== undefined && !(COMPLETE_APIS as readonly string[]).includes(data.api))
    return { ignore: `the file is not complete yet (${data.api})` };
  return { url: safeUrl(data.url), eTag: data.eTag, raisedAt };
}

/** An event's time, when it is one (an unreadable time is as good as none: it only bounds retries). */
function timeOf(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? undefined : time;
}
