import { IngestValidationError } from '../../errors';
import { redactUrl, stripQuery } from '../../log';

/** Azure Storage blob endpoints, in every cloud: the only hosts a blob reference may name by default. */
const AZURE_BLOB_SUFFIXES = [
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
  return url;
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

/**
 * Checks a storage account's blob endpoint a caller names (a backfill's `accountUrl`) by the same host rules
 * as a blob reference: no credentials, query or `;` suffix in it, and at most the account in its path (the
 * emulator's and other path-style hosts'). Answers it without a trailing slash, the data-lake endpoint as its
 * blob endpoint.
 */
export function checkAccountUrl(url: string, policy: BlobHostPolicy): string {
  const shown = redactUrl(stripQuery(url)).slice(0, 200);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new IngestValidationError(
      `accountUrl '${shown}' is not a URL: give https://<account>.blob.core.windows.net.`,
      'InvalidProperty',
    );
  }
  if (parsed.username || parsed.password || parsed.search || parsed.hash || url.includes(';'))
    throw new IngestValidationError(
      `accountUrl '${shown}' carries credentials, a query or a suffix: give the plain endpoint (the app reads the account with its own identity).`,
      'InvalidProperty',
    );
  checkHost(parsed, policy, `accountUrl '${shown}'`);
  const segments = parsed.pathname.split('/').filter(Boolean);
  const azure = AZURE_BLOB_SUFFIXES.some((s) => parsed.hostname.toLowerCase().endsWith(s));
  if (segments.length > (azure ? 0 : 1))
    throw new IngestValidationError(
      `accountUrl '${shown}' names more than an account: give the container as 'container' and the folder as 'prefix'.`,
      'InvalidProperty',
    );
  const host = parsed.host.toLowerCase().replace(/^([a-z0-9]+)\.dfs\.core\./, '$1.blob.core.');
  return `${parsed.protocol}//${host}${segments.length > 0 ? `/${segments[0] ?? ''}` : ''}`;
}
