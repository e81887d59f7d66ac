/**
 * At most `concurrency` tasks at once, fed as they come: `run` waits for room before it starts one, so a
 * producer (a listing, a queue receive loop) never gets more than `concurrency` ahead of its consumers.
 * The first task that fails stops the producer: `run` and `drain` throw its error (after `drain` has let
 * the others finish), so a caller that must not half-succeed fails as a whole and is retried.
 */
export class BoundedPool {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }

  /** Starts `task` once there is room; resolves when it has started (not finished). */
  async run(task: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    this.rethrow();
    const tracked: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Waits for every task started so far; throws the first failure, if any. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }
}
