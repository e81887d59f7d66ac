import { isNotFound } from '../../errors';
import { listSources } from './sourceQueries';
import type { AppContext } from '../ports';
import { poisonCount } from '../landing/poisonQueue';
import type { SourceCategory } from '../tracking/trackingRecord';

/** How many rows a count reads at most: past it, the count says "at least". */
const COUNT_CAP = 5_000;
/**
 * How many listing pages a count reads at most: each reads up to 50 tables' partitions, so a poll of the
 * console costs a bounded number of queries however many tables have sources; past it, "at least".
 */
const PAGE_CAP = 4;

export interface Summary {
  /** The window the counts cover: sources taken on since then. */
  readonly since: string;
  readonly counts: Readonly<Record<SourceCategory, number>>;
  /** Categories whose count reached the cap (there are at least that many). */
  readonly capped: readonly SourceCategory[];
  /** Open now (whenever taken on), and how many of them are older than the stale limit. */
  readonly open: number;
  readonly stuck: number;
  /** When the oldest open source was taken on; null when none is open. */
  readonly oldestOpen: string | null;
  readonly poisonMessages: number;
  readonly deadLetters: number;
}

/**
 * What the console's header shows: sources by how they ended in the window (from the listing index, read
 * per category and bounded), what is open and stuck (from the open list), and what waits for a replay.
 */
export async function summarize(ctx: AppContext, since: Date): Promise<Summary> {
  await ctx.ready();
  const counts: Record<SourceCategory, number> = { open: 0, succeeded: 0, failed: 0, rejected: 0 };
  const capped: SourceCategory[] = [];
  for (const category of ['succeeded', 'failed', 'rejected'] as const) {
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await listSources(ctx, {
        category,
        since,
        pageSize: 500,
        continuationToken: token,
      });
      counts[category] += page.items.length;
      token = page.continuationToken;
      pages += 1;
    } while (token && counts[category] < COUNT_CAP && pages < PAGE_CAP);
    if (token) capped.push(category);
  }
  const staleBefore = ctx.clock() - ctx.config.staleAfterMinutes * 60_000;
  let open = 0;
  let stuck = 0;
  let oldest: number | undefined;
  for await (const entry of ctx.tracking.openEntries()) {
    open += 1;
    const at = entry.since.getTime();
    if (at < staleBefore) stuck += 1;
    oldest = oldest === undefined ? at : Math.min(oldest, at);
    if (open >= COUNT_CAP) {
      capped.push('open');
      break;
    }
  }
  counts.open = open;
  return {
    since: since.toISOString(),
    counts,
    capped,
    open,
    stuck,
    oldestOpen: oldest === undefined ? null : new Date(oldest).toISOString(),
    poisonMessages: await poisonCount(ctx),
    deadLetters: await deadLetterCount(ctx),
  };
}

async function deadLetterCount(ctx: AppContext): Promise<number> {
  let n = 0;
  try {
    for await (const _ of ctx.landing.deadLetters.listBlobsFlat()) {
      n += 1;
      if (n >= COUNT_CAP) break;
    }
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  return n;
}
