import { z } from 'zod';
import { IngestValidationError } from '../../errors';
import { blobKey } from './restSubmission';
import type { OperationItem } from './operationStatus';

// What it takes to read a REST submission's status later, from another process: the operation, where it
// was submitted, and which blobs it holds. It travels as one string (a tracking row's column, a caller's
// database), never with a SAS: blob URLs are kept without their query.

export interface OperationHandle {
  readonly database: string;
  readonly table: string;
  readonly operationId: string;
  /** The blobs of the submission, by the id we gave each and its URL without the query. */
  readonly items: readonly OperationItem[];
  /** When the submission was accepted (ISO 8601). */
  readonly submittedAt: string;
}

const PREFIX = 'kiv2.';

const handleSchema = z
  .object({
    v: z.literal(1),
    db: z.string().min(1),
    t: z.string().min(1),
    op: z.string().min(1),
    at: z.string().min(1),
    items: z.array(z.tuple([z.string().min(1), z.string().min(1)])).min(1),
  })
  .strict();

/** The handle as one string: `kiv2.` and base64url JSON. No secret is in it. */
export function handleToString(handle: OperationHandle): string {
  const json = JSON.stringify({
    v: 1,
    db: handle.database,
    t: handle.table,
    op: handle.operationId,
    at: handle.submittedAt,
    items: handle.items.map((i) => [i.sourceId, blobKey(i.url)]),
  });
  return PREFIX + Buffer.from(json, 'utf8').toString('base64url');
}

/** A handle back from its string; a string that is no handle is a validation error that says so. */
export function handleFromString(text: string): OperationHandle {
  const refuse = (why: string) =>
    new IngestValidationError(
      `'${text.slice(0, 40)}${text.length > 40 ? '…' : ''}' is not an ingestion operation handle (${why}): pass the string handleToString gave.`,
      'InvalidProperty',
    );
  if (!text.startsWith(PREFIX)) throw refuse(`it does not start with '${PREFIX}'`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    throw refuse('its body is not base64url JSON');
  }
  const parsed = handleSchema.safeParse(value);
  if (!parsed.success) throw refuse(parsed.error.issues[0]?.message ?? 'its fields are wrong');
  const h = parsed.data;
  return {
    database: h.db,
    table: h.t,
    operationId: h.op,
    submittedAt: h.at,
    items: h.items.map(([sourceId, url]) => ({ sourceId, url })),
  };
}
