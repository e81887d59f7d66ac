import type { BackfillOptions } from './backfillOptions';
import type { JobRecord } from './backfillStore';

/**
 * Whether a running job is still listing blobs a new job would list too: the same container, and one prefix
 * inside the other. Both may run (each blob version is ingested once, by whichever job takes it first); the
 * answer says so.
 */
export function listsTheSameBlobs(
  job: JobRecord,
  options: Pick<BackfillOptions, 'container' | 'prefix'>,
): boolean {
  return (
    job.state === 'running' &&
    !job.listingDone &&
    job.options.container === options.container &&
    (job.options.prefix.startsWith(options.prefix) || options.prefix.startsWith(job.options.prefix))
  );
}
