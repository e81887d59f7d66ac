import type { AppContext } from '../ports';
import type { SourcePage, SourceQuery } from '../tracking/trackingRecord';

/**
 * The operator's reads of the tracked sources (the listing, the console's counts, the failures a bulk retry
 * walks): one page of the listing index by database, table, category and time, newest first. The operator
 * API reads through here, never the store itself.
 */
export function listSources(ctx: Pick<AppContext, 'tracking'>, query: SourceQuery): Promise<SourcePage> {
  return ctx.tracking.listSources(query);
}
