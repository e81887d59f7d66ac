import type { BlobClient, ContainerClient } from '@azure/storage-blob';
import type { AppContext } from '../ports';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { blobClientIn, pathInContainer } from './landingBlob';

/**
 * Where a tracked blob lives, and so what the app may do with it. The landing container is the app's own:
 * a blob that fails for good is quarantined, an ingested one kept, deleted, moved or tagged
 * (LANDING_ON_SUCCESS). Any other container (a backfill's, on the landing account or another) is the
 * user's: its blobs are read, never moved, deleted or tagged; their failures are reported and retried by URL.
 */
export interface BlobPlace {
  readonly kind: 'landing' | 'backfill';
  readonly container: ContainerClient;
  /** The URL Kusto reads one of its blobs by: a read SAS, or the cluster's identity. */
  readonly kustoUrl: (blob: BlobClient) => Promise<string>;
}

export function landingPlace(ctx: Pick<AppContext, 'landing'>): BlobPlace {
  return { kind: 'landing', container: ctx.landing.container, kustoUrl: ctx.landing.kustoUrl };
}

/** The blob of a tracked source in its place, or undefined when its URL is not in that container. */
export function blobOf(place: BlobPlace, record: Pick<TrackingRecord, 'sourceUrl'>): BlobClient | undefined {
  const path = pathInContainer(place.container.url, record.sourceUrl ?? '');
  return path ? blobClientIn(place.container, path) : undefined;
}

/** Where a landing source's blob is inside the landing container ('' when its URL is elsewhere). */
export function landingPathOf(
  ctx: Pick<AppContext, 'landing'>,
  record: Pick<TrackingRecord, 'sourceUrl'>,
): string {
  return pathInContainer(ctx.landing.container.url, record.sourceUrl ?? '') ?? '';
}
