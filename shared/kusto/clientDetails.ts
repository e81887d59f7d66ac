import { version as nodeVersion } from 'node:process';

export const LIBRARY_NAME = 'kusto-ingest-functions';
export const LIBRARY_VERSION = '0.1.0';

// The service's header format: `key:{value}` pairs joined by '|', values limited to [\w.\-()] and 100 chars.
function headerValue(value: string): string {
  return value.slice(0, 100).replace(/[^\w.\-()]/g, '_');
}

/** `x-ms-client-version` / `ClientVersionForTracing`. */
export function clientVersionHeader(): string {
  return `Kusto.Ingest.Functions:{${headerValue(LIBRARY_VERSION)}}|Runtime.Node:{${headerValue(nodeVersion)}}`;
}

/** `x-ms-app` / `ApplicationForTracing`: the caller's name, else the package's. */
export function applicationHeader(applicationName?: string): string {
  const name = applicationName ?? process.env.npm_package_name ?? LIBRARY_NAME;
  // Header values must be ASCII; the service replaces the rest, and so do we.
  return name.replace(/[^\x20-\x7e]/g, '?');
}
