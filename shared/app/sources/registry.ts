import type { SourceKind, TrackingRecord } from '../tracking/trackingRecord';
import { backfillPolicy } from './backfill';
import { blobReferencePolicy } from './blobReference';
import { landingPolicy } from './landing';
import { pushPolicy } from './push';
import type { SourceKindPolicy } from './sourceKind';

let policies: Readonly<Record<SourceKind, SourceKindPolicy>> | undefined;

/** The kinds, one line each. Built at first use: the kinds' modules and the app's import one another. */
function registry(): Readonly<Record<SourceKind, SourceKindPolicy>> {
  policies ??= {
    http: pushPolicy,
    blob: blobReferencePolicy,
    landing: landingPolicy,
    backfill: backfillPolicy,
  };
  return policies;
}

/** What a source's kind does (sourceKind.ts): the one way code outside `sources/` learns it. */
export function policyOf(record: Pick<TrackingRecord, 'kind'>): SourceKindPolicy {
  return registry()[record.kind];
}
