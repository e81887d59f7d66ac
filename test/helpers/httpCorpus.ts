import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppContext } from '../../shared/app/context';
import {
  handleIngestBlobs,
  handleIngestPush,
  handleIngestStatus,
} from '../../shared/app/http/ingestHandlers';
import { handleStartBackfill } from '../../shared/app/http/backfillHandlers';
import type { HttpRequestLike, HttpResult } from '../../shared/app/http/httpTypes';
import type { Logger } from '../../shared/log';
import { apiRequest, routeOf } from './apiRequest';

/** One bad request of test/corpus/http-requests.json and the answer it must get. */
export interface CorpusCase {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | { base64: string } | { generate: 'tooManyBlobs' | 'overOneMegabyte' };
  readonly status: number;
  readonly code: string;
  /** Needs the host's routing (unknown routes, methods, percent-decoding, the admin API). */
  readonly hostOnly?: boolean;
}

export const httpCorpus: readonly CorpusCase[] = (
  JSON.parse(readFileSync(join(__dirname, '..', 'corpus', 'http-requests.json'), 'utf8')) as {
    cases: CorpusCase[];
  }
).cases;

export function corpusBody(c: CorpusCase): Buffer | undefined {
  const body = c.body;
  if (body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if ('base64' in body) return Buffer.from(body.base64, 'base64');
  if (body.generate === 'tooManyBlobs')
    return Buffer.from(
      JSON.stringify({
        blobs: Array.from({ length: 1001 }, (_, i) => ({ url: `https://a.blob.core.windows.net/c/${i}` })),
      }),
    );
  return Buffer.from(
    JSON.stringify({ blobs: [{ url: `https://a.blob.core.windows.net/c/${'x'.repeat(1_100_000)}` }] }),
  );
}

type Answer = {
  error?: { code?: string; message?: string };
  results?: { error?: { code?: string; message?: string } }[];
};

/** The errors an answer carries: its own, or each refused blob's. */
function answeredErrors(body: unknown): { code?: string; message?: string }[] {
  const b = body as Answer;
  return b.error ? [b.error] : (b.results ?? []).map((r) => r.error ?? { code: 'accepted' });
}

/** The error code(s) an answer carries: its own, or each refused blob's. */
export function answeredCodes(body: unknown): string[] {
  return answeredErrors(body).map((e) => e.code ?? '');
}

/** Whether every error of an answer says what was wrong in words (not just a code). */
export function explainsItself(body: unknown): boolean {
  const errors = answeredErrors(body);
  return errors.length > 0 && errors.every((e) => (e.message ?? '').length >= 20);
}

type Handler = (req: HttpRequestLike, ctx: AppContext, log: Logger) => Promise<HttpResult>;
const HANDLERS: Record<'status' | 'blobs' | 'push' | 'backfill', [string, Handler]> = {
  status: ['GET', handleIngestStatus],
  blobs: ['POST', handleIngestBlobs],
  push: ['POST', handleIngestPush],
  backfill: ['POST', handleStartBackfill],
};

/** Sends a case straight to its handler, as the host would after routing. */
export function callHandler(c: CorpusCase, ctx: AppContext, log: Logger): Promise<HttpResult> {
  const route = routeOf(c.path);
  const [method, handler] = route ? HANDLERS[route.kind] : [];
  if (!handler || method !== c.method)
    throw new Error(`no handler answers ${c.method} ${c.path}: mark the case hostOnly`);
  return handler(apiRequest(c.method, c.path, corpusBody(c) ?? null, c.headers ?? {}), ctx, log);
}
