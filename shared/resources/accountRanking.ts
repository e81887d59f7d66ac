import type { StorageResource } from './storageUrl';

export interface AccountRankingOptions {
  /** @default 6 */
  readonly bucketCount?: number;
  /** @default 10_000 (so the window is one minute) */
  readonly bucketDurationInMs?: number;
  /** Rank tiers, best first; accounts are shuffled within a tier. @default [0.9, 0.7, 0.3, 0] */
  readonly tiers?: readonly number[];
  readonly clock?: () => number;
  readonly random?: () => number;
}

interface Bucket {
  index: number;
  successes: number;
  total: number;
}

/**
 * Success rates of storage accounts over a sliding window, newer results weighing more. Accounts that
 * fail sink, so uploads and enqueues try healthy accounts first; no data means a perfect rank.
 */
export class AccountRanking {
  private readonly buckets = new Map<string, Bucket[]>();
  private readonly bucketCount: number;
  private readonly bucketDurationInMs: number;
  private readonly tiers: readonly number[];
  private readonly clock: () => number;
  private readonly random: () => number;

  constructor(options: AccountRankingOptions = {}) {
    this.bucketCount = options.bucketCount ?? 6;
    this.bucketDurationInMs = options.bucketDurationInMs ?? 10_000;
    this.tiers = options.tiers ?? [0.9, 0.7, 0.3, 0];
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  record(accountName: string, success: boolean): void {
    const current = this.currentIndex();
    const kept = this.buckets.get(accountName) ?? [];
    // Called for every request: old buckets are dropped only when a new one starts.
    let bucket = kept.find((b) => b.index === current);
    if (!bucket) {
      bucket = { index: current, successes: 0, total: 0 };
      const live = kept.filter((b) => b.index > current - this.bucketCount);
      live.push(bucket);
      this.buckets.set(accountName, live);
    }
    bucket.total += 1;
    if (success) bucket.successes += 1;
  }

  /** Weighted success rate in [0, 1]; 1 when there is no recent data. */
  rank(accountName: string): number {
    const current = this.currentIndex();
    let weighted = 0;
    let weights = 0;
    for (const b of this.buckets.get(accountName) ?? []) {
      const age = current - b.index;
      if (age >= this.bucketCount || b.total === 0) continue;
      const weight = this.bucketCount - age;
      weighted += (b.successes / b.total) * weight;
      weights += weight;
    }
    return weights === 0 ? 1 : weighted / weights;
  }

  /** Accounts best tier first, shuffled within a tier so that load spreads. Names once each (`accountsOf`). */
  order(accountNames: Iterable<string>): string[] {
    const tiers: string[][] = this.tiers.map(() => []);
    for (const name of accountNames) {
      const rank = this.rank(name);
      const tier = this.tiers.findIndex((t) => rank >= t);
      (tiers[tier === -1 ? tiers.length - 1 : tier] ?? []).push(name);
    }
    return tiers.flatMap((t) => this.shuffle(t));
  }

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  private currentIndex(): number {
    return Math.floor(this.clock() / this.bucketDurationInMs);
  }
}

// The resource lists of one fetch of the DM's resources are ordered for every request: group them once.
const groups = new WeakMap<readonly StorageResource[], Map<string, StorageResource[]>>();

function groupByAccount(resources: readonly StorageResource[]): Map<string, StorageResource[]> {
  let byAccount = groups.get(resources);
  if (!byAccount) {
    byAccount = new Map();
    for (const r of resources) {
      const list = byAccount.get(r.accountName);
      if (list) list.push(r);
      else byAccount.set(r.accountName, [r]);
    }
    groups.set(resources, byAccount);
  }
  return byAccount;
}

/**
 * Orders resources by their account's rank and interleaves accounts (A1, B1, A2, B2, ...), so that the
 * next attempt after a failure goes to another account. `rotation` turns each account's own list, so
 * successive calls spread over an account's queues or containers (round-robin).
 */
export function orderResources(
  resources: readonly StorageResource[],
  accountOrder: readonly string[],
  rotation: number,
): StorageResource[] {
  const byAccount = groupByAccount(resources);
  const lists: StorageResource[][] = [];
  let longest = 0;
  for (const account of accountOrder) {
    const list = byAccount.get(account);
    if (!list || list.length === 0) continue;
    lists.push(list);
    longest = Math.max(longest, list.length);
  }
  const out: StorageResource[] = [];
  for (let i = 0; i < longest; i++) {
    for (const list of lists) {
      if (i < list.length) out.push(list[(i + rotation) % list.length] as StorageResource);
    }
  }
  return out;
}

/** The accounts of a resource list, once each, in first-seen order (grouped once per list). */
export function accountsOf(resources: readonly StorageResource[]): Iterable<string> {
  return groupByAccount(resources).keys();
}
