/** Refuses an option that must be a whole number in [1, max] (a typo would otherwise surface far from it). */
export function checkPositiveInteger(
  name: string,
  value: number | undefined,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= max)) {
    throw new RangeError(
      `QueuedIngestClient: ${name} must be an integer from 1 to ${max}, got ${String(value)}`,
    );
  }
}
