import { isIP } from 'node:net';

/** A storage resource the DM handed out: its URL (with SAS) and where it lives. */
export interface StorageResource {
  /** Full URL including the SAS query. Never log it: use `redactUrl`. */
  readonly url: string;
  readonly accountName: string;
  /** Container, queue or table name. */
  readonly name: string;
  /** `https://acct.blob.core.windows.net` or, path-style, `http://127.0.0.1:10000/devstoreaccount1`. */
  readonly accountUrl: string;
  /** The SAS query without its leading '?', or '' when there is none. */
  readonly sas: string;
}

// Emulators and IP endpoints name the account in the first path segment (path-style URLs).
function isPathStyle(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 || host === 'localhost' || host === 'host.docker.internal';
}

/** Splits a storage resource URL into account and object; throws a TypeError naming what is wrong. */
export function parseStorageResourceUrl(raw: string): StorageResource {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new TypeError('not an absolute URL', { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TypeError(`unsupported scheme ${url.protocol}`);
  const segments = url.pathname.split('/').filter((s) => s !== '');
  let accountName: string;
  let rest: string[];
  let accountUrl: string;
  if (isPathStyle(url)) {
    const [account, ...others] = segments;
    if (!account) throw new TypeError('a path-style URL must name the account in its path');
    accountName = decodeURIComponent(account);
    rest = others;
    accountUrl = `${url.origin}/${account}`;
  } else {
    accountName = url.hostname.split('.')[0] ?? '';
    rest = segments;
    accountUrl = url.origin;
  }
  const name = rest[0] ? decodeURIComponent(rest[0]) : '';
  if (!accountName || !name)
    throw new TypeError('the URL must name an account and a container, queue or table');
  return { url: raw, accountName, name, accountUrl, sas: url.search.replace(/^\?/, '') };
}
