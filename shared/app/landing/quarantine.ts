import { isAlreadyExists, isChangedSince, isNotFound } from '../../errors';
import type { ContainerClient } from '@azure/storage-blob';
import type { AppContext } from '../ports';
import { unquoteETag } from './landingBlob';

/** Blob metadata is sent as HTTP headers: ASCII only, 8 KB for all names and values together. */
const METADATA_LIMIT = 8 * 1024;

/** Percent-encodes a value for a metadata header and cuts it to `max` characters without splitting an escape. */
export function encodeMetadataValue(text: string, max: number): string {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  if (encoded.length <= max) return encoded;
  let cut = max - 3; // room for the ellipsis '...'
  const escape = encoded.lastIndexOf('%', cut);
  if (escape !== -1 && escape > cut - 3) cut = escape;
  return `${encoded.slice(0, cut)}...`;
}

function metadataSize(metadata: Readonly<Record<string, string>>): number {
  return Object.entries(metadata).reduce((n, [k, v]) => n + k.length + v.length, 0);
}

export interface QuarantineItem {
  readonly path: string;
  /** The version that failed: a newer upload under the same name is left alone. */
  readonly eTag: string;
  readonly reason: string;
  readonly errorCode: string;
  readonly sourceId: string;
}

/**
 * Moves a landing blob that cannot be ingested to the quarantine container, with the reason in its
 * metadata: copied first, then removed from landing only if it is still the version that failed.
 */
export async function quarantine(
  ctx: Pick<AppContext, 'landing' | 'clock'>,
  item: QuarantineItem,
): Promise<'quarantined' | 'gone'> {
  const moved = await moveLandingBlob(ctx, item, ctx.landing.failed, (original) => {
    const fixed: Record<string, string> = {
      ...original,
      quarantine_error_code: encodeMetadataValue(item.errorCode, 100),
      quarantine_source_id: item.sourceId,
      quarantined_on: new Date(ctx.clock()).toISOString(),
    };
    const room = Math.max(64, METADATA_LIMIT - metadataSize(fixed) - 'quarantine_reason'.length - 16);
    return { ...fixed, quarantine_reason: encodeMetadataValue(item.reason, Math.min(room, 4096)) };
  });
  return moved === 'moved' ? 'quarantined' : 'gone';
}

/** What a move did: the copy's version, or why nothing was moved. */
type MoveResult =
  | { readonly moved: true; readonly eTag: string }
  | { readonly moved: false; readonly why: 'gone' | 'superseded' | 'exists' };

/**
 * Moves a blob between two containers of the landing account, path kept: copied (only from the version it
 * was read as, or `eTag` when given), then deleted from `from` only if it is still that version.
 * 'superseded' when it was overwritten since (the new version has its own event, and is left alone),
 * 'gone' when it is not there, 'exists' when `keepExisting` and a blob is at the path in `to` already.
 */
async function moveBlob(
  ctx: Pick<AppContext, 'landing'>,
  move: {
    readonly from: ContainerClient;
    readonly to: ContainerClient;
    readonly path: string;
    readonly eTag?: string;
    readonly metadataOf: (original: Record<string, string>) => Record<string, string>;
    readonly keepExisting?: boolean;
  },
): Promise<MoveResult> {
  const source = move.from.getBlobClient(move.path);
  let properties;
  try {
    properties = await source.getProperties();
  } catch (e) {
    if (isNotFound(e)) return { moved: false, why: 'gone' };
    throw e;
  }
  const version = unquoteETag(properties.etag ?? '');
  if (move.eTag !== undefined && version !== move.eTag) return { moved: false, why: 'superseded' };
  const ifMatch = { ifMatch: `"${version}"` };
  await move.to.createIfNotExists();
  const target = move.to.getBlobClient(move.path);
  let eTag: string;
  try {
    const poller = await target.beginCopyFromURL(await ctx.landing.sas.readUrl(source), {
      metadata: move.metadataOf(properties.metadata ?? {}),
      sourceConditions: ifMatch,
      ...(move.keepExisting && { conditions: { ifNoneMatch: '*' } }),
    });
    const copied = await poller.pollUntilDone();
    eTag = unquoteETag(copied.etag ?? (await target.getProperties()).etag ?? '');
  } catch (e) {
    if (move.keepExisting && (isAlreadyExists(e) || isChangedSince(e)))
      return { moved: false, why: 'exists' };
    if (isChangedSince(e)) return { moved: false, why: 'superseded' };
    if (isNotFound(e)) return { moved: false, why: 'gone' };
    throw e;
  }
  await source.delete({ conditions: ifMatch }).catch((e: unknown) => {
    // 412: the blob was overwritten meanwhile; the new version has its own event.
    if (!isNotFound(e) && !isChangedSince(e)) throw e;
  });
  return { moved: true, eTag };
}

/**
 * Moves one version of a landing blob to another container of the landing account (path and metadata
 * kept, or as `metadataOf` makes them).
 */
export async function moveLandingBlob(
  ctx: Pick<AppContext, 'landing'>,
  item: { readonly path: string; readonly eTag: string },
  target: ContainerClient,
  metadataOf: (original: Record<string, string>) => Record<string, string> = (m) => m,
): Promise<'moved' | 'gone' | 'superseded'> {
  const result = await moveBlob(ctx, {
    from: ctx.landing.container,
    to: target,
    path: item.path,
    eTag: item.eTag,
    metadataOf,
  });
  // 'exists' cannot come back: the landing move overwrites.
  return result.moved ? 'moved' : result.why === 'gone' ? 'gone' : 'superseded';
}

/**
 * Moves a quarantined blob back into landing (an operator's retry once its cause is fixed): the copy drops
 * the quarantine metadata and never overwrites a blob uploaded there since. The new version is a new
 * source; its ETag names it.
 */
export async function restoreQuarantined(
  ctx: Pick<AppContext, 'landing'>,
  path: string,
  retriedFrom: string,
): Promise<
  | { readonly restored: 'restored'; readonly eTag: string }
  | { readonly restored: 'gone' }
  | { readonly restored: 'exists' }
> {
  const result = await moveBlob(ctx, {
    from: ctx.landing.failed,
    to: ctx.landing.container,
    path,
    keepExisting: true,
    // Never empty: a copy given no metadata keeps the source's, quarantine notes included.
    metadataOf: (original) => ({
      ...Object.fromEntries(Object.entries(original).filter(([k]) => !/^quarantine(d)?_/i.test(k))),
      retried_from: retriedFrom,
    }),
  });
  if (result.moved) return { restored: 'restored', eTag: result.eTag };
  return { restored: result.why === 'gone' ? 'gone' : 'exists' };
}
