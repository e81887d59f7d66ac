import { isIngestValidationError } from '../../errors';
import type { AppContext } from '../ports';
import { checkDatabaseAllowed } from '../routing/routeBlob';
import type { TrackingRecord } from '../tracking/trackingRecord';
import type { RouteToday } from './sourceKind';

/**
 * Where a source the caller named (a push, a blob reference) goes today: where it was sent, unless today's
 * ALLOWED_DATABASES refuses that database. No routing rule applies to what a caller addressed.
 */
export function namedRouteToday(ctx: Pick<AppContext, 'config'>, record: TrackingRecord): RouteToday {
  try {
    checkDatabaseAllowed(record.database, ctx.config.allowedDatabases, 'It names');
    return { kind: 'same' };
  } catch (e) {
    if (!isIngestValidationError(e)) throw e;
    return { kind: 'refused', code: e.code, why: `Routing refuses it under today's settings: ${e.message}` };
  }
}
