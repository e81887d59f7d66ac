import { z } from 'zod';
import { IngestValidationError } from '../../errors';
import { landingPlace, type BlobPlace } from '../landing/blobPlace';
import { checkAccountUrl } from '../push/blobUrlPolicy';
import { CONTAINER_NAME } from './backfillSources';
import { isDataFormat } from '../../message/dataFormat';
import { validateEntityName } from '../../names';
import type { AppContext } from '../ports';
import { compileGlob } from '../routing/glob';
import { compileTimePattern, type LandingRouting, type RoutingRule } from '../routing/routeBlob';

/** What `POST /api/backfill` takes (docs/contracts.md, 'Backfill'). */
export const backfillRequestSchema = z
  .object({
    /** The container to list. @default the landing container */
    container: z.string().optional(),
    /** Another storage account's blob endpoint, read with the app's identity. @default the landing account */
    accountUrl: z.string().max(2048).optional(),
    prefix: z.string().max(1024).optional(),
    include: z.array(z.string().min(1)).max(100).optional(),
    exclude: z.array(z.string().min(1)).max(100).optional(),
    database: z.string().optional(),
    table: z.string().optional(),
    format: z.string().optional(),
    mapping: z.string().optional(),
    creationTimePattern: z.string().optional(),
    tags: z.array(z.string().min(1).max(1024)).max(50).optional(),
    modifiedSince: z.string().optional(),
    modifiedUntil: z.string().optional(),
    limit: z.number().int().positive().optional(),
    maxBlobsPerSecond: z.number().positive().max(10_000).optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();

export type BackfillRequest = z.infer<typeof backfillRequestSchema>;

/** A job's options, checked: what the job record keeps and every task of the job reads. */
export interface BackfillOptions {
  /** Another account's blob endpoint (checked, normalised); undefined: the landing account. */
  readonly accountUrl?: string | undefined;
  readonly container: string;
  readonly prefix: string;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** The job's own routing rule (`**`), ahead of the app's rules; undefined: route as landing blobs. */
  readonly rule: RoutingRule | undefined;
  readonly modifiedSince: string | undefined;
  readonly modifiedUntil: string | undefined;
  readonly limit: number | undefined;
  readonly maxBlobsPerSecond: number | undefined;
  readonly dryRun: boolean;
}

/**
 * The account a job reads, checked (an Azure Storage blob endpoint, or the emulator when the app runs on
 * it; never ALLOWED_BLOB_HOSTS); undefined for the landing account, however it is named.
 */
function sourceAccount(ctx: Pick<AppContext, 'config' | 'landing'>, accountUrl: string | undefined) {
  if (accountUrl === undefined) return undefined;
  const checked = checkAccountUrl(accountUrl, { localEmulator: ctx.config.localBlobOrigin !== undefined });
  return checked === ctx.landing.service.url.replace(/\/+$/, '').toLowerCase() ? undefined : checked;
}

const invalid = (message: string) => new IngestValidationError(message, 'InvalidProperty');

function time(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime()))
    throw invalid(`${name} '${value.slice(0, 60)}' is not a date: use ISO 8601.`);
  return at.toISOString();
}

function globs(name: string, patterns: readonly string[] | undefined): string[] {
  for (const p of patterns ?? []) {
    try {
      compileGlob(p);
    } catch (e) {
      throw invalid(`${name}: ${(e as Error).message}`);
    }
  }
  return [...(patterns ?? [])];
}

/** Checks a request and turns it into the job's options; a clear InvalidProperty error otherwise. */
export function backfillOptions(
  ctx: Pick<AppContext, 'config' | 'landing' | 'backfill'>,
  request: BackfillRequest,
): BackfillOptions {
  const accountUrl = sourceAccount(ctx, request.accountUrl);
  const container = request.container ?? ctx.config.landingContainer;
  if (!CONTAINER_NAME.test(container))
    throw invalid(
      `container '${container.slice(0, 70)}' is not a container name: 3 to 63 lower-case letters, digits and single hyphens.`,
    );
  ctx.backfill.sources.check(accountUrl, container);
  const named = [request.database, request.table].filter((v) => v !== undefined).length;
  if (named === 1)
    throw invalid('Give database and table together, or neither (then blobs route as landing blobs).');
  if (named === 0 && (request.format !== undefined || request.mapping !== undefined))
    throw invalid('format and mapping need database and table: give all of them, or none.');
  if (request.format !== undefined && !isDataFormat(request.format.toLowerCase()))
    throw invalid(
      `format '${request.format.slice(0, 40)}' is not a Kusto data format (csv, json, parquet...).`,
    );
  if (request.creationTimePattern !== undefined) {
    try {
      compileTimePattern(request.creationTimePattern);
    } catch (e) {
      throw invalid((e as Error).message);
    }
  }
  const ruled = named === 2 || request.creationTimePattern !== undefined || (request.tags?.length ?? 0) > 0;
  const rule: RoutingRule | undefined = ruled
    ? {
        match: '**',
        ...(request.database !== undefined && { database: validateEntityName('database', request.database) }),
        ...(request.table !== undefined && { table: validateEntityName('table', request.table) }),
        ...(request.format !== undefined && { format: request.format.toLowerCase() }),
        ...(request.mapping !== undefined && { mapping: validateEntityName('mapping', request.mapping) }),
        ...(request.creationTimePattern !== undefined && {
          creationTimePattern: request.creationTimePattern,
        }),
        ...(request.tags !== undefined && { tags: request.tags }),
      }
    : undefined;
  const modifiedSince = time('modifiedSince', request.modifiedSince);
  const modifiedUntil = time('modifiedUntil', request.modifiedUntil);
  if (modifiedSince && modifiedUntil && modifiedSince >= modifiedUntil)
    throw invalid('modifiedSince must be before modifiedUntil.');
  return {
    ...(accountUrl !== undefined && { accountUrl }),
    container,
    prefix: request.prefix ?? '',
    include: globs('include', request.include),
    exclude: globs('exclude', request.exclude),
    rule,
    modifiedSince,
    modifiedUntil,
    limit: request.limit,
    maxBlobsPerSecond: request.maxBlobsPerSecond,
    dryRun: request.dryRun ?? false,
  };
}

/** How the job's blobs are routed: its rule first, then the app's rules, within the allowed databases. */
export function jobRouting(ctx: Pick<AppContext, 'routing'>, options: BackfillOptions): LandingRouting {
  return {
    rules: options.rule ? [options.rule, ...ctx.routing.rules] : ctx.routing.rules,
    allowedDatabases: ctx.routing.allowedDatabases,
  };
}

/** Where a job's blobs are: the landing container (the landing path's own), or another, read only. */
export function jobPlace(
  ctx: Pick<AppContext, 'config' | 'landing' | 'backfill'>,
  options: BackfillOptions,
): BlobPlace {
  const { accountUrl, container } = options;
  if (accountUrl === undefined) {
    if (container === ctx.config.landingContainer) return landingPlace(ctx);
    return {
      kind: 'backfill',
      container: ctx.landing.service.getContainerClient(container),
      kustoUrl: ctx.landing.kustoUrl,
    };
  }
  const accounts = ctx.backfill.accounts;
  return {
    kind: 'backfill',
    container: accounts.service(accountUrl).getContainerClient(container),
    kustoUrl: (blob) => accounts.kustoUrl(accountUrl, blob),
  };
}
