import type { HttpRequestLike } from '../../shared/app/http/httpTypes';

export type RequestBody = string | Buffer | AsyncIterable<Uint8Array> | Uint8Array[] | null;

// The routes of functions/*.ts, as the host matches them: the status route before the push route.
const ROUTES = {
  status: /^\/api\/ingest\/status\/(?<sourceId>[^/]+)$/,
  blobs: /^\/api\/ingest\/(?<database>[^/]+)\/(?<table>[^/]+)\/blobs$/,
  push: /^\/api\/ingest\/(?<database>[^/]+)\/(?<table>[^/]+)$/,
  backfill: /^\/api\/backfill$/,
} as const;

/** Which route a path takes, and its parameters (decoded, as the host passes them). */
export function routeOf(
  path: string,
): { kind: keyof typeof ROUTES; params: Record<string, string> } | undefined {
  const pathname = new URL(`http://h${path}`).pathname;
  for (const [kind, pattern] of Object.entries(ROUTES) as [keyof typeof ROUTES, RegExp][]) {
    const match = pattern.exec(pathname);
    if (match)
      return {
        kind,
        params: Object.fromEntries(
          Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
        ),
      };
  }
  return undefined;
}

/**
 * A request in the narrow shape the HTTP logic takes, as the local host builds it from Node's request: route
 * parameters decoded, the body a web stream.
 */
export function apiRequest(
  method: string,
  path: string,
  body: RequestBody = null,
  headers: Record<string, string> = {},
): HttpRequestLike {
  const url = new URL(`http://127.0.0.1:7071${path}`);
  const stream =
    body === null
      ? null
      : typeof body === 'string' || Buffer.isBuffer(body)
        ? new Response(body).body
        : ReadableStream.from<Uint8Array>(body);
  return {
    method,
    url: url.toString(),
    headers: new Headers(headers),
    query: url.searchParams,
    params: routeOf(path)?.params ?? {},
    body: stream,
  };
}
