import { z } from 'zod';
import type { Logger } from '../../log';
import { validateEntityName } from '../../names';
import { isUuid } from '../../uuid';
import { listSources } from '../operator/sourceQueries';
import type { AppContext } from '../ports';
import { replayLanding } from '../operator/replayLanding';
import { retryMany } from '../operator/retryMany';
import { isRetryable, retrySource } from '../operator/retrySource';
import { summarize } from '../operator/summary';
import { decodeListToken } from '../tracking/tableTrackingStore';
import { CONFIG_DEFAULTS } from '../settings';
import { CONSOLE_ASSETS, consolePage, type ConsoleAuth } from './consolePage';
import type { SourceCategory } from '../tracking/trackingRecord';
import { errorResult } from './errorResult';
import { errorBody, HttpProblem, statusUrl, type HttpRequestLike, type HttpResult } from './httpTypes';
import { checkedBody, readJsonBody } from './jsonBody';

const CATEGORIES: readonly SourceCategory[] = ['open', 'succeeded', 'failed', 'rejected'];
const MAX_PAGE = 500;
const DEFAULT_PAGE = 100;

function optionalName(kind: 'database' | 'table', value: string | null): string | undefined {
  if (value === null || value === '') return undefined;
  return validateEntityName(kind, value);
}

function optionalTime(name: string, value: string | null): Date | undefined {
  if (value === null || value === '') return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw new HttpProblem(
      400,
      'InvalidProperty',
      `'${name}' is not a date and time: use ISO 8601, e.g. 2026-12-01T00:00:00Z.`,
    );
  return at;
}

/**
 * `GET /api/ingest?status=&database=&table=&since=&until=&pageSize=&continuationToken=`: the sources,
 * newest first (by when they were taken on), from the listing index: a page reads only the tables and
 * time range asked for.
 */
export async function handleListSources(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    const statusText = req.query.get('status');
    const category =
      statusText === null || statusText === ''
        ? undefined
        : CATEGORIES.find((c) => c === statusText.toLowerCase());
    if (statusText && !category)
      throw new HttpProblem(
        400,
        'InvalidProperty',
        `status '${statusText.slice(0, 40)}' is not one of: ${CATEGORIES.join(', ')}.`,
      );
    const database = optionalName('database', req.query.get('database'));
    const table = optionalName('table', req.query.get('table'));
    if (table !== undefined && database === undefined)
      throw new HttpProblem(400, 'InvalidProperty', 'Give the database of the table: ?database=D&table=T.');
    const pageText = req.query.get('pageSize');
    const pageSize = pageText ? Number(pageText) : DEFAULT_PAGE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE)
      throw new HttpProblem(400, 'InvalidProperty', `pageSize must be a whole number from 1 to ${MAX_PAGE}.`);
    const token = req.query.get('continuationToken') ?? undefined;
    if (token !== undefined && decodeListToken(token) === undefined)
      throw new HttpProblem(400, 'InvalidProperty', 'continuationToken is not one this API gave.');
    await ctx.ready();
    const page = await listSources(ctx, {
      database,
      table,
      category,
      since: optionalTime('since', req.query.get('since')),
      until: optionalTime('until', req.query.get('until')),
      pageSize,
      continuationToken: token,
    });
    return {
      status: 200,
      jsonBody: {
        items: page.items.map((i) => ({
          sourceId: i.sourceId,
          database: i.database,
          table: i.table,
          kind: i.kind,
          state: i.state,
          finalStatus: i.finalStatus ?? null,
          errorCode: i.errorCode ?? null,
          details: i.details ?? null,
          createdOn: i.createdOn.toISOString(),
          updatedOn: i.updatedOn.toISOString(),
          attempts: i.attempts,
          retryable: isRetryable(i),
          statusUrl: statusUrl(req, i.sourceId),
        })),
        continuationToken: page.continuationToken ?? null,
      },
    };
  } catch (e) {
    return errorResult(e, log);
  }
}

/** `POST /api/ingest/status/{sourceId}/retry`: queues a failed source again, once its cause is fixed. */
export async function handleRetrySource(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  const sourceId = req.params.sourceId ?? '';
  try {
    if (!isUuid(sourceId))
      throw new HttpProblem(400, 'InvalidProperty', `'${sourceId.slice(0, 80)}' is not a source id.`);
    const outcome = await retrySource(ctx, log, sourceId);
    switch (outcome.kind) {
      case 'retried': {
        const location = statusUrl(req, outcome.sourceId);
        return {
          status: 202,
          jsonBody: {
            sourceId: outcome.sourceId,
            statusUrl: location,
            ...(outcome.replaces && { replaces: outcome.replaces }),
          },
          headers: { location },
        };
      }
      case 'notFound':
        return errorBody(404, 'NotFound', `No ingestion with source id ${sourceId} is known.`);
      case 'notFailed':
        return errorBody(
          409,
          'NotFailed',
          `Only a failed source is retried; this one is ${outcome.finalStatus ?? outcome.state}. ${outcome.why}`,
        );
      case 'gone':
        return errorBody(410, outcome.code, outcome.why);
      case 'notRetryable':
      case 'conflict':
        return errorBody(409, outcome.code, outcome.why);
      case 'refused':
        return errorBody(outcome.code === 'DatabaseNotAllowed' ? 403 : 409, outcome.code, outcome.why);
    }
  } catch (e) {
    return errorResult(e, log);
  }
}

const retryManyBody = z
  .object({
    database: z.string(),
    table: z.string().optional(),
    errorCode: z
      .string()
      .regex(/^[\w.-]{1,100}$/, 'an error code: letters, digits, _ . -')
      .optional(),
  })
  .strict();

/** `POST /api/ingest/retry` `{ database, table?, errorCode? }`: retries every matching failed source. */
export async function handleRetryMany(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    if (req.body === null)
      throw new HttpProblem(400, 'EmptyInput', 'Send { "database": "D", "table": "T", "errorCode": "E" }.');
    const body = checkedBody(
      retryManyBody,
      await readJsonBody(req.body, '{ "database": "D", "table": "T", "errorCode": "E" }'),
    );
    const result = await retryMany(ctx, log, {
      database: validateEntityName('database', body.database),
      table: body.table === undefined ? undefined : validateEntityName('table', body.table),
      errorCode: body.errorCode,
    });
    return { status: 202, jsonBody: result };
  } catch (e) {
    return errorResult(e, log);
  }
}

/** `POST /api/landing/replay`: the poison queue and Event Grid's dead letters back to the landing queue. */
export async function handleReplayLanding(
  _req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    return { status: 200, jsonBody: await replayLanding(ctx, log) };
  } catch (e) {
    return errorResult(e, log);
  }
}

/** `GET /api/ingest/summary?since=`: counts for the console's header (default: the last 24 hours). */
export async function handleSummary(req: HttpRequestLike, ctx: AppContext, log: Logger): Promise<HttpResult> {
  try {
    const since = optionalTime('since', req.query.get('since')) ?? new Date(ctx.clock() - 86_400_000);
    return { status: 200, jsonBody: await summarize(ctx, since) };
  } catch (e) {
    return errorResult(e, log);
  }
}

/**
 * `GET /api/operator/audit?since=&pageSize=&continuationToken=`: the operators' actions (retry, bulk retry,
 * replay, backfill start and cancel), newest first: who, role, action, target, when, outcome.
 */
export async function handleAuditLog(
  req: HttpRequestLike,
  ctx: AppContext,
  log: Logger,
): Promise<HttpResult> {
  try {
    const since = optionalTime('since', req.query.get('since')) ?? new Date(ctx.clock() - 7 * 86_400_000);
    const pageText = req.query.get('pageSize');
    const pageSize = pageText ? Number(pageText) : DEFAULT_PAGE;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE)
      throw new HttpProblem(400, 'InvalidProperty', `pageSize must be a whole number from 1 to ${MAX_PAGE}.`);
    const token = req.query.get('continuationToken') ?? undefined;
    if (token !== undefined && !/^\d{4}-\d{2}-\d{2}\|\d{13}-[0-9a-f-]{36}$/i.test(token))
      throw new HttpProblem(400, 'InvalidProperty', 'continuationToken is not one this API gave.');
    const page = await ctx.audit.list({
      since,
      pageSize,
      ...(token !== undefined && { continuationToken: token }),
    });
    return {
      status: 200,
      jsonBody: { entries: page.entries, continuationToken: page.continuationToken ?? null },
    };
  } catch (e) {
    return errorResult(e, log);
  }
}

/** The console's page policy: its own assets only, the API and (to sign in) the Entra authority. */
function consolePolicy(auth: ConsoleAuth): string {
  const connect = auth.mode === 'entra' ? `'self' ${new URL(auth.authority).origin}` : "'self'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src ${connect}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The console page's sign-in, from the settings as the functions register (OPERATOR_AUTH and, for Entra,
 * OPERATOR_TENANT_ID, OPERATOR_CLIENT_ID, OPERATOR_AUTHORITY): read without loading the whole
 * configuration, so the page answers even when another setting is wrong.
 */
export function consoleAuth(env = process.env): ConsoleAuth {
  if (env.OPERATOR_AUTH?.trim() !== 'entra') return { mode: 'key' };
  return {
    mode: 'entra',
    authority: (env.OPERATOR_AUTHORITY?.trim() || CONFIG_DEFAULTS.OPERATOR_AUTHORITY).replace(/\/+$/, ''),
    tenantId: env.OPERATOR_TENANT_ID?.trim() ?? '',
    clientId: env.OPERATOR_CLIENT_ID?.trim() ?? '',
  };
}

/** `GET /api/console`: the page (it loads no data: that comes from the API, which checks the caller). */
export function handleConsole(auth: ConsoleAuth = consoleAuth()): HttpResult {
  return {
    status: 200,
    body: consolePage(auth),
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': consolePolicy(auth),
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    },
  };
}

/** `GET /api/console/assets/{name}`: the page's script, stylesheet and OAuth client; nothing else. */
export function handleConsoleAsset(req: HttpRequestLike): HttpResult {
  const asset = Object.hasOwn(CONSOLE_ASSETS, req.params.name ?? '')
    ? CONSOLE_ASSETS[req.params.name ?? '']
    : undefined;
  if (!asset) return errorBody(404, 'NotFound', 'No such console asset.');
  return {
    status: 200,
    body: asset.body,
    headers: {
      'content-type': asset.type,
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-cache',
    },
  };
}
