import { uuidV5 } from '../../uuid';

/**
 * The URL that names a blob version's source id: no query, lower-case scheme and host, the path
 * percent-decoded, a Data Lake (`.dfs.`) host as its blob endpoint, so Event Grid's `data.url` (which
 * names the dfs endpoint for Data Lake operations) and the storage SDK's URL agree (docs/contracts.md).
 */
export function canonicalBlobUrl(url: string): string {
  const u = new URL(url);
  const host = u.host.toLowerCase().replace(/^([a-z0-9]+)\.dfs\.core\./, '$1.blob.core.');
  return `${u.protocol.toLowerCase()}//${host}${decodeURIComponent(u.pathname)}`;
}

/** An ETag as storage and Event Grid both mean it: no weak marker, no quotes. */
export const unquoteETag = (eTag: string): string => eTag.replace(/^W\//, '').replace(/^"|"$/g, '');

/** A blob version's source id: UUID v5 of its canonical URL and ETag, so each version is ingested once. */
export function landingSourceId(canonicalUrl: string, eTag: string): string {
  return uuidV5(`${canonicalUrl}#${unquoteETag(eTag)}`);
}

/** The blob's path inside the container at `containerUrl`, or undefined if the URL is elsewhere. */
export function pathInContainer(containerUrl: string, url: string): string | undefined {
  const container = canonicalBlobUrl(containerUrl);
  const canonical = canonicalBlobUrl(url);
  return canonical.startsWith(`${container}/`) ? canonical.slice(container.length + 1) : undefined;
}
