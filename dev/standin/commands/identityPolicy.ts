import { syntaxError, type Cursor } from '../kqlLexer';
import { KustoError } from '../kustoError';
import { resultTable, type ResultTable } from '../resultTable';
import type { KustoStore, ManagedIdentityEntry, PolicyScope } from '../store';

/** The usage queued ingestion from a customer's storage needs (the docs' NativeIngestion). */
export const NATIVE_INGESTION = 'NativeIngestion';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether the command (after its verb) is about a ManagedIdentity policy. */
export function isIdentityPolicyCommand(cursor: Cursor): boolean {
  if (cursor.isWord('cluster')) return cursor.isWord('policy', 1) && cursor.isWord('managed_identity', 2);
  return cursor.isWord('database') && cursor.isWord('policy', 2) && cursor.isWord('managed_identity', 3);
}

/**
 * `cluster` or `database D`, after the verb: where a ManagedIdentity policy command applies. Undefined is
 * the cluster.
 */
export function parseScope(store: KustoStore, cursor: Cursor): PolicyScope {
  if (cursor.acceptWord('cluster')) return undefined;
  cursor.expectWord('database');
  return store.database(cursor.name());
}

/**
 * The policy objects of `.alter[-merge] ... policy managed_identity "[...]"`. The docs' own examples quote
 * with single quotes, which the service reads: so does this.
 */
export function parseIdentityEntries(text: string): ManagedIdentityEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    try {
      parsed = JSON.parse(text.replace(/'([^'\\]*)'/g, '"$1"'));
    } catch {
      throw invalid('the policy is not a JSON array of policy objects');
    }
  }
  if (!Array.isArray(parsed)) throw invalid('the policy must be an array of policy objects');
  return parsed.map((item: unknown) => {
    const o = (item ?? {}) as Record<string, unknown>;
    const objectId = typeof o.ObjectId === 'string' ? o.ObjectId.trim() : '';
    const usages = typeof o.AllowedUsages === 'string' ? o.AllowedUsages : '';
    if (objectId.toLowerCase() !== 'system' && !GUID.test(objectId))
      throw invalid(`ObjectId '${objectId}' is neither a managed identity's object id (a guid) nor 'system'`);
    const allowedUsages = usages
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    if (allowedUsages.length === 0)
      throw invalid(`the entry for '${objectId}' needs AllowedUsages, e.g. 'NativeIngestion'`);
    return { objectId: objectId.toLowerCase() === 'system' ? 'system' : objectId, allowedUsages };
  });
}

function invalid(why: string): KustoError {
  return new KustoError('BadRequest_InvalidPolicy', `Invalid ManagedIdentity policy: ${why}.`, 400);
}

/** `.show ... policy managed_identity`: the docs' EntityName and Policies columns, one row. */
export function identityPolicyTable(store: KustoStore, scope: PolicyScope): ResultTable {
  const policies = store.managedIdentities(scope).map((e) => ({
    ObjectId: e.objectId,
    ClientId: null,
    TenantId: null,
    DisplayName: e.objectId === 'system' ? 'system' : e.objectId,
    IsSystem: e.objectId === 'system',
    AllowedUsages: e.allowedUsages.join(', '),
  }));
  return resultTable(
    [
      ['EntityName', 'string'],
      ['Policies', 'string'],
    ],
    [[scope === undefined ? '' : `[${scope}]`, JSON.stringify(policies)]],
  );
}

/** `.alter|.alter-merge cluster|database D policy managed_identity <policy>`, after the verb. */
export function alterIdentityPolicy(store: KustoStore, cursor: Cursor, merge: boolean): ResultTable {
  const scope = parseScope(store, cursor);
  cursor.expectWord('policy');
  cursor.expectWord('managed_identity');
  const entries = parseIdentityEntries(cursor.string());
  cursor.expectEnd();
  store.setManagedIdentities(scope, entries, merge);
  return identityPolicyTable(store, scope);
}

/** `.delete cluster|database D policy managed_identity [ObjectId]`, after the verb. */
export function deleteIdentityPolicy(store: KustoStore, cursor: Cursor): ResultTable {
  const scope = parseScope(store, cursor);
  cursor.expectWord('policy');
  cursor.expectWord('managed_identity');
  const only = cursor.done ? undefined : cursor.name(true);
  cursor.expectEnd();
  if (only !== undefined && !GUID.test(only) && only.toLowerCase() !== 'system')
    throw syntaxError(`'${only}' is not a managed identity's object id`);
  const kept = only
    ? store.managedIdentities(scope).filter((e) => e.objectId.toLowerCase() !== only.toLowerCase())
    : [];
  store.setManagedIdentities(scope, kept, false);
  return identityPolicyTable(store, scope);
}
