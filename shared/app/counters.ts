/** Per-process counts of things that leave no record of their own (a skipped landing blob), by name. */
export class Counters {
  private readonly values = new Map<string, number>();

  /** Adds one (or `by`) and returns the new count. */
  add(name: string, by = 1): number {
    const value = (this.values.get(name) ?? 0) + by;
    this.values.set(name, value);
    return value;
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }
}
