import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { IngestValidationError, isIngestValidationError, type ValidationCode } from '../../errors';
import { isDataFormat, parseDataFormat, type DataFormat } from '../../message/dataFormat';
import { validateEntityName } from '../../names';
import { ConfigError } from '../settings';
import { compileGlob, type Glob } from './glob';
import { readLandingMetadata, type LandingMetadata } from './landingMetadata';

/** Where a landing blob goes and how it is read. */
export interface RouteTarget {
  readonly database: string;
  readonly table: string;
  readonly format: DataFormat;
  readonly mappingReference: string | undefined;
  readonly creationTime: string | undefined;
  readonly tags: readonly string[];
  /** Skip the first record (a header line). */
  readonly ignoreFirstRecord: boolean;
  /** The data's uncompressed size, when the uploader gave it (`rawSizeBytes`). */
  readonly rawSize: number | undefined;
}

/** How landing blobs are routed: the rules file, and the databases they may go to. */
export interface LandingRouting {
  readonly rules: readonly RoutingRule[];
  /** When set, a blob routed to any other database is rejected. @default any database */
  readonly allowedDatabases?: readonly string[] | undefined;
}

const ruleSchema = z
  .object({
    /** Glob over the blob's path inside the landing container, e.g. "sales/**\/*.csv". */
    match: z.string().min(1),
    database: z.string().optional(),
    table: z.string().optional(),
    format: z.string().optional(),
    mapping: z.string().optional(),
    /** LightIngest's form: literals in single quotes, date parts yyyy MM dd HH mm ss, e.g. "'sales/'yyyy'/'MM'/'dd". */
    creationTimePattern: z.string().optional(),
    tags: z.array(z.string()).optional(),
    /** Skip each blob's first record (a header line), as the data connection's ignoreFirstRecord. */
    ignoreFirstRecord: z.boolean().optional(),
  })
  .strict();

export type RoutingRule = z.infer<typeof ruleSchema>;

const routesFileSchema = z
  .object({
    rules: z.array(ruleSchema),
    /** Globs over the path in the container: only matching blobs are taken (landingFilter.ts). */
    include: z.array(z.string().min(1)).optional(),
    /** Globs over the path in the container: matching blobs are skipped, not quarantined. */
    exclude: z.array(z.string().min(1)).optional(),
  })
  .strict();

export type RoutesFile = z.infer<typeof routesFileSchema>;

/** Reads and checks a rules file (ROUTES_FILE); a broken file is a start-up error, not a per-blob one. */
export function loadRoutesFile(path: string): RoutesFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError([`ROUTES_FILE '${path}' cannot be read as JSON: ${(e as Error).message}`]);
  }
  const parsed = routesFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `ROUTES_FILE '${path}': ${i.path.join('.') || '(file)'}: ${i.message}`),
    );
  }
  // Every pattern is checked here, at start-up: a bad one is a start-up error, not a per-blob one.
  const problems: string[] = [];
  const check = (where: string, compile: () => unknown) => {
    try {
      compile();
    } catch (e) {
      problems.push(`ROUTES_FILE '${path}': ${where}: ${(e as Error).message}`);
    }
  };
  parsed.data.rules.forEach((rule, i) => {
    check(`rules.${i}.match`, () => compileGlob(rule.match));
    if (rule.creationTimePattern)
      check(`rules.${i}.creationTimePattern`, () => compileTimePattern(rule.creationTimePattern ?? ''));
  });
  for (const list of ['include', 'exclude'] as const)
    parsed.data[list]?.forEach((glob, i) => check(`${list}.${i}`, () => compileGlob(glob)));
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** The rules of a rules file (ROUTES_FILE). */
export const loadRoutes = (path: string): RoutingRule[] => loadRoutesFile(path).rules;

const TOKENS: Readonly<Record<string, string>> = {
  yyyy: '(\\d{4})',
  MM: '(\\d{2})',
  dd: '(\\d{2})',
  HH: '(\\d{2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
};

const MAX_TIME_PATTERN_LENGTH = 256;

const patternError = (pattern: string, why: string) =>
  new IngestValidationError(`creationTimePattern "${pattern.slice(0, 80)}" ${why}.`, 'InvalidProperty');

/**
 * LightIngest creationTimePattern → a regex and the order of its date parts. The regex is literals and
 * fixed-width digit groups only, so it cannot backtrack badly; its length is bounded all the same.
 */
export function compileTimePattern(pattern: string): { regex: RegExp; parts: string[] } {
  if (pattern.length > MAX_TIME_PATTERN_LENGTH)
    throw patternError(pattern, `is ${pattern.length} characters long: at most ${MAX_TIME_PATTERN_LENGTH}`);
  let source = '';
  const parts: string[] = [];
  for (let i = 0; i < pattern.length;) {
    if (pattern[i] === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end === -1) throw patternError(pattern, 'a quoted literal is not closed');
      source += pattern.slice(i + 1, end).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i = end + 1;
      continue;
    }
    const token = Object.keys(TOKENS).find((t) => pattern.startsWith(t, i));
    if (!token)
      throw patternError(
        pattern,
        `'${pattern[i] ?? ''}' at ${i} is neither a quoted literal nor one of yyyy MM dd HH mm ss`,
      );
    source += TOKENS[token] ?? '';
    parts.push(token);
    i += token.length;
  }
  if (!parts.includes('yyyy')) throw patternError(pattern, 'needs at least yyyy');
  return { regex: new RegExp(source), parts };
}

function creationTimeFromPath(path: string, pattern: string): string | undefined {
  const { regex, parts } = compileTimePattern(pattern);
  const m = regex.exec(path);
  if (!m) return undefined;
  const value = (token: string, fallback: number) => {
    const i = parts.indexOf(token);
    return i === -1 ? fallback : Number(m[i + 1]);
  };
  const date = new Date(
    Date.UTC(
      value('yyyy', 1970),
      value('MM', 1) - 1,
      value('dd', 1),
      value('HH', 0),
      value('mm', 0),
      value('ss', 0),
    ),
  );
  if (date.getUTCMonth() !== value('MM', 1) - 1 || date.getUTCDate() !== value('dd', 1)) {
    throw new IngestValidationError(
      `The path '${path}' holds an impossible date for creationTimePattern "${pattern}".`,
      'InvalidProperty',
    );
  }
  return date.toISOString();
}

function parseTags(value: string, name: string): string[] {
  if (value.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((t) => typeof t === 'string')) return parsed;
    } catch {
      // fall through to the error
    }
    throw new IngestValidationError(
      `Blob metadata ${name} '${value}' is not a JSON array of strings: use ["a","b"] or a,b.`,
      'InvalidProperty',
    );
  }
  return value
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** What the path convention says: `{database}/{table}/[any/sub/path/]{file}.{format}[.gz|.zip]`. */
function fromConvention(path: string): { database?: string; table?: string; format?: string } {
  const segments = path.split('/').filter((s) => s !== '');
  const file = segments.at(-1) ?? '';
  const stem = file.replace(/\.(gz|zip)$/i, '');
  const extension = /\.([A-Za-z0-9]+)$/.exec(stem)?.[1]?.toLowerCase();
  return {
    ...(segments.length >= 3 && { database: segments[0], table: segments[1] }),
    ...(extension && { format: extension }),
  };
}

/** A blob that cannot be routed, with the database and table it would have gone to, as far as known. */
export class RouteError extends IngestValidationError {
  constructor(
    message: string,
    code: ValidationCode,
    readonly database: string | undefined,
    readonly table: string | undefined,
  ) {
    super(message, code);
  }
}

/**
 * Throws `DatabaseNotAllowed` unless ALLOWED_DATABASES (undefined: any) lets the app write to `database`,
 * case-blind as Kusto names are. Every path that names a database asks it: a push, blob references, landing
 * and backfilled blobs, retries and replays.
 */
export function checkDatabaseAllowed(
  database: string,
  allowedDatabases: readonly string[] | undefined,
  what = 'The request names',
): void {
  if (allowedDatabases && !allowedDatabases.some((d) => d.toLowerCase() === database.toLowerCase()))
    throw new IngestValidationError(
      `${what} database '${database.slice(0, 260)}', which this app may not write to (ALLOWED_DATABASES: ${allowedDatabases.join(', ')}).`,
      'DatabaseNotAllowed',
    );
}

/** Each rule's glob, compiled once (rules live as long as the rules file or a backfill job). */
const ruleGlobs = new WeakMap<RoutingRule, Glob>();
function ruleGlob(rule: RoutingRule): Glob {
  let glob = ruleGlobs.get(rule);
  if (!glob) {
    glob = compileGlob(rule.match);
    ruleGlobs.set(rule, glob);
  }
  return glob;
}

/**
 * Routes a landing blob. Strongest first: its metadata (our `kusto_*` names or the Event Grid data
 * connection's, any casing), the first matching rule, the path convention. A blob that cannot be routed
 * gets a RouteError saying what is wrong.
 */
export function routeBlob(
  input: { readonly path: string; readonly metadata: Readonly<Record<string, string>> },
  rules: readonly RoutingRule[] = [],
  options: Pick<LandingRouting, 'allowedDatabases'> = {},
): RouteTarget {
  const { path } = input;
  const rule = rules.find((r) => ruleGlob(r).matches(path));
  const convention = fromConvention(path);
  let metadata: LandingMetadata = {};
  let database = rule?.database ?? convention.database;
  let table = rule?.table ?? convention.table;
  try {
    metadata = readLandingMetadata(input.metadata);
    database = metadata.database?.value ?? database;
    table = metadata.table?.value ?? table;
    return resolve(path, metadata, rule, convention, database, table, options.allowedDatabases);
  } catch (e) {
    if (!isIngestValidationError(e)) throw e;
    throw new RouteError(e.message, e.code, database, table);
  }
}

function booleanProperty(text: { value: string; name: string }): boolean {
  const lower = text.value.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  throw new IngestValidationError(
    `Blob metadata ${text.name} '${text.value}' is not a boolean: use true or false.`,
    'InvalidProperty',
  );
}

function rawSizeProperty(text: { value: string; name: string }): number {
  if (!/^\d{1,16}$/.test(text.value)) {
    throw new IngestValidationError(
      `Blob metadata ${text.name} '${text.value}' is not a size in bytes: use a whole number such as 4096.`,
      'InvalidProperty',
    );
  }
  return Number(text.value);
}

function resolve(
  path: string,
  metadata: LandingMetadata,
  rule: RoutingRule | undefined,
  convention: { format?: string },
  database: string | undefined,
  table: string | undefined,
  allowedDatabases: readonly string[] | undefined,
): RouteTarget {
  if (!database || !table) {
    throw new IngestValidationError(
      `Cannot route '${path}': put it under {database}/{table}/ in the landing container, set the kustoDatabase and kustoTable metadata (or kusto_database and kusto_table), or add a routing rule.`,
      'InvalidName',
    );
  }
  checkDatabaseAllowed(database, allowedDatabases, `'${path}' is routed to`);
  const formatText = metadata.format?.value ?? rule?.format ?? convention.format;
  if (!formatText) {
    throw new IngestValidationError(
      `Cannot tell the format of '${path}': name it with an extension (.csv, .json, .parquet...), or set the kustoDataFormat metadata.`,
      'InvalidFormat',
    );
  }
  if (!isDataFormat(formatText.toLowerCase()) && !metadata.format && !rule?.format) {
    throw new IngestValidationError(
      `Cannot ingest '${path}': its extension '.${formatText}' is not a Kusto format. Rename it, or set the kustoDataFormat metadata.`,
      'InvalidFormat',
    );
  }
  const format = parseDataFormat(
    formatText,
    metadata.format ? `blob metadata ${metadata.format.name}` : `'${path}'`,
  );
  const mappingReference = metadata.mapping?.value ?? rule?.mapping;
  let creationTime: string | undefined;
  if (metadata.creationTime !== undefined) {
    const date = new Date(metadata.creationTime.value);
    if (Number.isNaN(date.getTime())) {
      throw new IngestValidationError(
        `Blob metadata ${metadata.creationTime.name} '${metadata.creationTime.value}' is not a date: use ISO 8601.`,
        'InvalidProperty',
      );
    }
    creationTime = date.toISOString();
  } else if (rule?.creationTimePattern) {
    creationTime = creationTimeFromPath(path, rule.creationTimePattern);
  }
  return {
    database: validateEntityName('database', database),
    table: validateEntityName('table', table),
    format,
    mappingReference:
      mappingReference === undefined ? undefined : validateEntityName('mapping', mappingReference),
    creationTime,
    tags: metadata.tags ? parseTags(metadata.tags.value, metadata.tags.name) : (rule?.tags ?? []),
    ignoreFirstRecord: metadata.ignoreFirstRecord
      ? booleanProperty(metadata.ignoreFirstRecord)
      : (rule?.ignoreFirstRecord ?? false),
    rawSize: metadata.rawSize ? rawSizeProperty(metadata.rawSize) : undefined,
  };
}
