import { isChangedSince, isNotFound } from '../../errors';
import type { SourcePorts } from '../ports';
import type { TrackingRecord } from '../tracking/trackingRecord';
import { landingPathOf } from './blobPlace';
import { unquoteETag } from './landingBlob';
import { moveLandingBlob } from './quarantine';

/** The blob index tags `LANDING_ON_SUCCESS=tag` writes. */
export const SUCCESS_TAGS = { sourceId: 'kusto_source_id', ingestedOn: 'kusto_ingested_on' } as const;

/** Storage allows 10 tags on a blob. */
const MAX_TAGS = 10;

/**
 * What becomes of a landing blob once it is ingested (LANDING_ON_SUCCESS): kept, deleted, moved to the done
 * container (path kept), or tagged with its source id and time. Only the version that was ingested, and only
 * in the landing container: a blob overwritten since is left alone (its new version has its own event).
 * Says what it did, for the success report; doing it again finds it done.
 */
export async function afterLandingSuccess(ctx: SourcePorts, record: TrackingRecord): Promise<string> {
  const mode = ctx.config.landingOnSuccess;
  const path = landingPathOf(ctx, record);
  if (mode === 'keep') return 'kept';
  if (!path || !record.eTag) return 'kept (not a landing blob version)';
  const blob = ctx.landing.container.getBlobClient(path);
  const ifMatch = { ifMatch: `"${record.eTag}"` };
  switch (mode) {
    case 'delete':
      try {
        await blob.delete({ conditions: ifMatch });
        return 'deleted';
      } catch (e) {
        if (isNotFound(e)) return 'deleted (gone already)';
        if (isChangedSince(e)) return 'kept (overwritten since)';
        throw e;
      }
    case 'move': {
      const moved = await moveLandingBlob(ctx, { path, eTag: record.eTag }, ctx.landing.done);
      if (moved === 'moved') return `moved to ${ctx.config.landingDoneContainer}`;
      return moved === 'gone' ? 'gone already' : 'kept (overwritten since)';
    }
    case 'tag':
      return tag(ctx, record, path);
  }
}

async function tag(ctx: SourcePorts, record: TrackingRecord, path: string): Promise<string> {
  const blob = ctx.landing.container.getBlobClient(path);
  try {
    // Tags do not change a blob's ETag, and Set Blob Tags takes no ETag condition: check the version first.
    const properties = await blob.getProperties();
    if (unquoteETag(properties.etag ?? '') !== record.eTag) return 'kept (overwritten since)';
    const { tags } = await blob.getTags();
    const ours = {
      [SUCCESS_TAGS.sourceId]: record.sourceId,
      [SUCCESS_TAGS.ingestedOn]: new Date(ctx.clock()).toISOString(),
    };
    if (tags[SUCCESS_TAGS.sourceId] === record.sourceId) return 'tagged (already)';
    const merged = { ...tags, ...ours };
    if (Object.keys(merged).length > MAX_TAGS)
      return `not tagged: the blob has ${Object.keys(tags).length} tags already (storage allows ${MAX_TAGS})`;
    await blob.setTags(merged);
    return 'tagged';
  } catch (e) {
    if (isNotFound(e)) return 'gone already';
    throw e;
  }
}
