import { IngestValidationError } from '../../errors';
import { redactUrl, stripQuery } from '../../log';

/** Azure Storage blob endpoints, in every cloud: the only hosts a blob reference may name by default. */
export const AZURE_BLOB_SUFFIXES = [
  '.blob.core.windows.net',
  '.dfs.core.windows.net',
  '.blob.core.chinacloudapi.cn',
  '.dfs.core.chinacloudapi.cn',
  '.blob.core.usgovcloudapi.net',
  '.dfs.core.usgovcloudapi.net',
] as const;

export interface BlobHostPolicy {
  /** More hosts (ALLOWED_BLOB_HOSTS): `host`, `host:port` or `*.suffix`. */
  readonly allowedHosts: readonly string[];
  /** The local storage emulator's origin when the app runs against it (http allowed there only). */
  readonly localOrigin: string | undefined;
}

function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const lower = host.toLowerCase();
  return allowed.some((pattern) => {
    const p = pattern.trim().toLowerCase();
    return p.startsWith('*.') ? lower.endsWith(p.slice(1)) && lower.length > p.length - 1 : lower === p;
  });
}

/**
 * Checks a caller's blob URL before anything is done with it: https on an Azure Storage blob endpoint (or a
 * host the settings allow, or the local emulator), a container and a blob name, and no `;` suffix (Kusto
 * reads `;managed_identity=...` as "use the cluster's identity", which a caller must never choose).
 */
export function checkBlobUrl(url: string, policy: BlobHostPolicy): string {
  const shown = redactUrl(stripQuery(url)).slice(0, 200); // no SAS, no user or password
  // The URL parser drops leading spaces and reads a backslash as a slash (`…windows.net\@evil.com`): what
  // is checked must be what is sent, so neither is taken at all.
  if (/[\s\\]/.test(url))
    throw new IngestValidationError(
      `The blob URL '${shown}' holds whitespace or a backslash: give a plain URL (percent-encode them in a blob name).`,
      'InvalidProperty',
    );
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new IngestValidationError(
      `'${shown}' is not a URL: give https://<account>.blob.core.windows.net/<container>/<blob>?<sas>.`,
      'InvalidProperty',
    );
  }
  if (parsed.username || parsed.password)
    throw new IngestValidationError(
      `The blob URL '${shown}' carries a user name or password: give a plain URL with a read SAS.`,
      'InvalidProperty',
    );
  if (url.includes(';'))
    throw new IngestValidationError(
      `The blob URL '${shown}' has a ';' suffix: credentials cannot be chosen by the caller. Give a plain URL with a read SAS (percent-encode a ';' in a blob name as %3B).`,
      'InvalidProperty',
    );
  const local = checkHost(parsed, policy, `The blob URL '${shown}'`);
  const segments = parsed.pathname.split('/').filter(Boolean);
  if (segments.length < (local ? 3 : 2))
    throw new IngestValidationError(
      `The blob URL '${shown}' names no blob: give .../<container>/<blob>.`,
      'InvalidProperty',
    );
  // The parsed URL, as checked, is what goes on: never the caller's string.
  return parsed.href;
}

/**
 * Where a URL may point: the local emulator (only when the app runs on it), else https on an Azure Storage
 * blob endpoint or a host ALLOWED_BLOB_HOSTS names. Whether it is the local emulator (path-style URLs).
 */
function checkHost(parsed: URL, policy: BlobHostPolicy, named: string): boolean {
  const local = policy.localOrigin !== undefined && parsed.origin === policy.localOrigin;
  if (local) return true;
  if (parsed.protocol !== 'https:')
    throw new IngestValidationError(
      `${named} is not https: Kusto reads blobs over https only.`,
      'InvalidProperty',
    );
  const host = parsed.port ? `${parsed.hostname}:${parsed.port}` : parsed.hostname;
  const azure = !parsed.port && AZURE_BLOB_SUFFIXES.some((s) => parsed.hostname.toLowerCase().endsWith(s));
  if (!azure && !hostAllowed(host, policy.allowedHosts))
    throw new IngestValidationError(
      `${named} is not on an Azure Storage blob endpoint (*.blob.core.windows.net...): add its host to ALLOWED_BLOB_HOSTS if it must be read.`,
      'InvalidProperty',
    );
  return false;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Checks a storage account's blob endpoint a caller names (a backfill's `accountUrl`). Stricter than a blob
 * reference's host: the app reads this account with its own identity, so ALLOWED_BLOB_HOSTS never applies
 * (a wildcard there would hand the app's token to any host under it). Only `https://<account>.blob.<cloud>`
 * (or `.dfs.`) of the clouds the app knows, or, when the app itself runs on the local emulator, a loopback
 * emulator URL `http(s)://127.0.0.1:<port>/<account>`. No credentials, query or `;` suffix; account names as
 * storage has them (3-24 lower-case letters and digits). Answers the endpoint normalised: no trailing slash,
 * the data-lake endpoint as its blob endpoint.
 */
export function checkAccountUrl(url: string, policy: { readonly localEmulator: boolean }): string {
  const shown = redactUrl(stripQuery(url)).slice(0, 200);
  const invalid = (why: string) =>
    new IngestValidationError(`accountUrl '${shown}' ${why}`, 'InvalidProperty');
  if (/[\s\\]/.test(url))
    throw invalid('holds whitespace or a backslash: give https://<account>.blob.core.windows.net.');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('is not a URL: give https://<account>.blob.core.windows.net.');
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash || url.includes(';'))
    throw invalid(
      'carries credentials, a query or a suffix: give the plain endpoint (the app reads the account with its own identity).',
    );
  const segments = parsed.pathname.split('/').filter(Boolean);
  if (policy.localEmulator && LOOPBACK.has(parsed.hostname)) {
    const [account = '', ...rest] = segments;
    if (rest.length > 0)
      throw invalid(
        "names more than an account: give the container as 'container' and the folder as 'prefix'.",
      );
    if (!/^[a-z0-9]{3,24}$/.test(account))
      throw invalid(
        `names the account '${account.slice(0, 40)}': an emulator URL ends in the account's name, 3-24 lower-case letters and digits.`,
      );
    return `${parsed.protocol}//${parsed.host}/${account}`;
  }
  if (parsed.protocol !== 'https:') throw invalid('is not https: storage accounts are read over https only.');
  const host = parsed.host.toLowerCase();
  const suffix = AZURE_BLOB_SUFFIXES.find((s) => host.endsWith(s));
  const account = suffix === undefined ? '' : host.slice(0, -suffix.length);
  if (suffix === undefined || parsed.port)
    throw invalid(
      "is not an Azure Storage blob endpoint (https://<account>.blob.core.windows.net, or the China and US Government clouds' suffixes).",
    );
  if (!/^[a-z0-9]{3,24}$/.test(account))
    throw invalid(
      `names the account '${account.slice(0, 40)}': account names are 3-24 lower-case letters and digits.`,
    );
  if (segments.length > 0)
    throw invalid(
      "names more than an account: give the container as 'container' and the folder as 'prefix'.",
    );
  return `https://${account}${suffix.replace('.dfs.', '.blob.')}`;
}
