import { z } from 'zod';
import { IngestValidationError } from '../../errors';

const eventData = z
  .object({
    url: z.string().refine((u) => URL.canParse(u), 'data.url is not a URL'),
    eTag: z.string().optional(),
    contentLength: z.number().optional(),
  })
  .loose();
const eventGridEvent = z.object({ eventType: z.string(), data: eventData });
const cloudEvent = z.object({ type: z.string(), data: eventData });

/** A blob-created event, as far as the landing path needs it. */
export interface BlobCreated {
  readonly url: string;
  readonly eTag: string | undefined;
}

/**
 * The event a landing message carries (Event Grid or CloudEvents schema; an object, JSON text or a
 * one-element array); `undefined` for an event of another type, to be ignored. A message that is no event at
 * all is an IngestValidationError: it can never succeed.
 */
export function parseBlobCreated(message: unknown): BlobCreated | undefined {
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
  const badUrl = [grid, cloud].some((r) =>
    r?.error?.issues.some((i) => i.message === 'data.url is not a URL'),
  );
  if (badUrl)
    throw new IngestValidationError(
      'The landing message names a blob whose data.url is not a URL: expected the blob URL Event Grid sends.',
      'InvalidProperty',
    );
  if (!type || !data) {
    throw new IngestValidationError(
      'The landing message is not an Event Grid event with data.url: expected a Microsoft.Storage.BlobCreated event (Event Grid or CloudEvents schema).',
      'InvalidProperty',
    );
  }
  if (type !== 'Microsoft.Storage.BlobCreated') return undefined;
  return { url: data.url, eTag: data.eTag };
}
