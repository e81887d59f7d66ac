import type { BlobClient, ContainerClient } from '@azure/storage-blob';
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

/** Whether a text holds a control character (C0 or DEL). */
const hasControl = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
};

/**
 * Why a blob URL from a message (an event, a task, a tracking row) cannot be trusted to name the blob it
 * seems to, or undefined when it can. An encoded slash decodes into a path separator only after the
 * container was checked (`landing/D/T/x%2F..%2F..%2Fsecret%2Ff.csv`), and `.`/`..` segments or backslashes
 * are resolved by the URL parser into another container: anyone who can write to the events queue or the
 * dead-letter container could point the app's identity at any blob of the account.
 */
export function unsafeBlobUrl(url: string): string | undefined {
  const raw = url.split(/[?#]/)[0] ?? '';
  if (raw.includes('\\')) return 'a backslash';
  if (/%(2f|5c)/i.test(raw)) return 'an encoded slash or backslash';
  const path = raw.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return 'a malformed percent-encoding';
    }
    if (decoded === '.' || decoded === '..') return "a '.' or '..' segment";
    if (hasControl(decoded)) return 'a control character';
  }
  return undefined;
}

/**
 * The blob's path inside the container at `containerUrl`, or undefined if the URL is elsewhere or cannot
 * be trusted to name one blob (`unsafeBlobUrl`).
 */
export function pathInContainer(containerUrl: string, url: string): string | undefined {
  if (unsafeBlobUrl(url) !== undefined) return undefined;
  const container = canonicalBlobUrl(containerUrl);
  const canonical = canonicalBlobUrl(url);
  return canonical.startsWith(`${container}/`) ? canonical.slice(container.length + 1) : undefined;
}

/**
 * The client of the blob at `path` in a container, or undefined unless the URL that client will request
 * (after the URL parser resolves it) still names that blob of that container: the check is made on what
 * is built, not on the string it was built from.
 */
export function blobClientIn(container: ContainerClient, path: string): BlobClient | undefined {
  const blob = container.getBlobClient(path);
  const prefix = `${new URL(container.url).pathname.replace(/\/+$/, '')}/`;
  const resolved = new URL(blob.url).pathname;
  if (!resolved.startsWith(prefix)) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(resolved.slice(prefix.length));
  } catch {
    return undefined;
  }
  return name === path && blob.containerName === container.containerName ? blob : undefined;
}
