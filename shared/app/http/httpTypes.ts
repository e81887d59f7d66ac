/**
 * The request shape the HTTP logic needs: `@azure/functions`' HttpRequest (with HTTP streaming on) satisfies
 * it, and so does the local host's request, so the body streams in both.
 */
export interface HttpRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  readonly query: { get(name: string): string | null };
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly body: ReadableStream<Uint8Array> | null;
}

/** An answer, in the shape of `@azure/functions`' HttpResponseInit. */
export interface HttpResult {
  readonly status: number;
  readonly jsonBody?: unknown;
  /** A text body (the console page), with its content-type in `headers`. */
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** A request the HTTP API refuses before any domain work: its status, code and what to do. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpProblem';
  }
}

/** The API's error body: `{ error: { code, message } }`. */
export function errorBody(status: number, code: string, message: string, headers?: Record<string, string>) {
  return { status, jsonBody: { error: { code, message } }, ...(headers && { headers }) } satisfies HttpResult;
}

/** Where a source's status can be read, on the host the request came to. */
export function statusUrl(req: HttpRequestLike, sourceId: string): string {
  return `${new URL(req.url).origin}/api/ingest/status/${sourceId}`;
}
