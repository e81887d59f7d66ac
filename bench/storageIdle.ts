/**
 * Azurite now and then stalls for tens of seconds on its own (its clean-up after mass deletes, which every
 * fresh variant makes): a run that starts inside a stall measures the stall. Before each run the harness
 * waits until Azurite answers a trivial request promptly several times in a row.
 */

export interface StorageIdleOptions {
  /** An answer within this counts as prompt. @default 50 ms */
  readonly promptMs?: number;
  /** Prompt answers in a row that mean idle. @default 5 */
  readonly probes?: number;
  /** Gives up (and says so) after this long: a slow machine must not hang the benchmark. @default 180 s */
  readonly timeoutMs?: number;
}

/**
 * Waits until the storage endpoint is idle; how long it waited, and whether it gave up. Any answer counts
 * (an unsigned request is refused at once when Azurite's event loop is free): what is measured is whether
 * it can answer at all.
 */
export async function untilStorageIdle(
  endpoint: string,
  options: StorageIdleOptions = {},
): Promise<{ waitedMs: number; idle: boolean }> {
  const promptMs = options.promptMs ?? 50;
  const probes = options.probes ?? 5;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const started = Date.now();
  let prompt = 0;
  while (prompt < probes) {
    if (Date.now() - started > timeoutMs) return { waitedMs: Date.now() - started, idle: false };
    const t0 = performance.now();
    let answered: boolean;
    try {
      const r = await fetch(`${endpoint}?comp=list&maxresults=1`, { signal: AbortSignal.timeout(timeoutMs) });
      await r.arrayBuffer();
      answered = performance.now() - t0 <= promptMs;
    } catch {
      answered = false; // the connection refused or cut off: not idle either
    }
    prompt = answered ? prompt + 1 : 0;
    if (prompt < probes) await new Promise((r) => setTimeout(r, 100));
  }
  return { waitedMs: Date.now() - started, idle: true };
}
