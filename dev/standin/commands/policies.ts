import type { Cursor } from '../kqlLexer';
import { KustoError } from '../kustoError';
import { resultTable, kustoTimespan, type ResultTable } from '../resultTable';
import type { KustoStore, TableInfo } from '../store';

/** The policies the stand-in shows; the others are refused as not supported locally. */
export const SHOWN_POLICIES = ['retention', 'streamingingestion', 'ingestionbatching'] as const;
export type ShownPolicy = (typeof SHOWN_POLICIES)[number];

const POLICY_NAMES: Record<ShownPolicy, string> = {
  retention: 'RetentionPolicy',
  streamingingestion: 'StreamingIngestionPolicy',
  ingestionbatching: 'IngestionBatchingPolicy',
};

/** The stand-in never deletes data: its databases keep everything (Kusto's longest soft-delete period). */
const DATABASE_RETENTION = JSON.stringify({ SoftDeletePeriod: '36500.00:00:00', Recoverability: 'Enabled' });

export type PolicyEntity =
  | { readonly kind: 'Database'; readonly database: string }
  | { readonly kind: 'Table'; readonly table: TableInfo };

/** Every policy command answers with these columns (the docs' policy result). */
export function policyTable(
  store: KustoStore,
  policy: ShownPolicy,
  entity: PolicyEntity,
  policyText: string,
): ResultTable {
  const entityName =
    entity.kind === 'Database' ? `[${entity.database}]` : `[${entity.table.database}].[${entity.table.name}]`;
  const children =
    entity.kind === 'Database'
      ? store.tables(entity.database).map((t) => `[${entity.database}].[${t.name}]`)
      : null;
  return resultTable(
    [
      ['PolicyName', 'string'],
      ['EntityName', 'string'],
      ['Policy', 'string'],
      ['ChildEntities', 'dynamic'],
      ['EntityType', 'string'],
    ],
    [[POLICY_NAMES[policy], entityName, policyText, children, entity.kind]],
  );
}

const streamingPolicy = (enabled: boolean | undefined): string =>
  enabled === undefined ? 'null' : JSON.stringify({ IsEnabled: enabled, HintAllocatedRate: null });

/** The policy as `.show ... policy P` prints it: its JSON, or `null` when the entity has none of its own. */
export function policyText(store: KustoStore, policy: ShownPolicy, entity: PolicyEntity): string {
  if (policy === 'retention') return entity.kind === 'Database' ? DATABASE_RETENTION : 'null';
  if (policy === 'streamingingestion') {
    if (entity.kind === 'Table') return streamingPolicy(entity.table.streaming);
    // A database's policy is stored as on/off: off reads as never set.
    return store.databaseStreaming(entity.database) ? streamingPolicy(true) : 'null';
  }
  if (entity.kind === 'Database') return 'null';
  const { batchingPolicy, batchingMs } = entity.table;
  if (batchingPolicy !== undefined) return batchingPolicy;
  return batchingMs === undefined
    ? 'null'
    : JSON.stringify({ MaximumBatchingTimeSpan: kustoTimespan(batchingMs) });
}

export function parseShownPolicy(cursor: Cursor): ShownPolicy | undefined {
  return SHOWN_POLICIES.find((p) => cursor.acceptWord(p));
}

/** `hh:mm:ss[.f]` or `d.hh:mm:ss[.f]` in milliseconds. */
export function timespanToMs(value: string): number | undefined {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(value.trim());
  if (!m) return undefined;
  const [, d, h, min, s, f] = m;
  return (
    ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60_000 +
    Number(s) * 1000 +
    Math.round(Number(`0.${f ?? '0'}`) * 1000)
  );
}

/** `enable`, `disable`, or a policy object `'{"IsEnabled": true}'`. */
export function streamingSetting(cursor: Cursor): boolean {
  if (cursor.acceptWord('enable')) return true;
  if (cursor.acceptWord('disable')) return false;
  const json = cursor.string();
  try {
    return (JSON.parse(json) as { IsEnabled?: unknown }).IsEnabled === true;
  } catch {
    throw new KustoError(
      'BadRequest_InvalidPolicy',
      `The streaming ingestion policy is not JSON: ${json}`,
      400,
    );
  }
}

/** The batching window an ingestionbatching policy object sets. */
export function batchingWindowMs(json: string): number {
  let spec: { MaximumBatchingTimeSpan?: unknown };
  try {
    spec = JSON.parse(json) as typeof spec;
  } catch (e) {
    throw new KustoError('BadRequest_InvalidPolicy', `The policy is not JSON: ${(e as Error).message}`, 400);
  }
  const ms =
    typeof spec.MaximumBatchingTimeSpan === 'string' ? timespanToMs(spec.MaximumBatchingTimeSpan) : undefined;
  if (ms === undefined)
    throw new KustoError(
      'BadRequest_InvalidPolicy',
      'MaximumBatchingTimeSpan must be a timespan such as "00:00:10".',
      400,
    );
  return ms;
}
