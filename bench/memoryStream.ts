/**
 * Memory benchmark: streams a generated 1 GB CSV through `ingestFromStream` of the queued client and of the
 * managed streaming client (which must fall back to queued without holding the input), each in a child
 * process of its own, against Azurite and the stand-in (its worker paused, so it neither competes for the
 * cores nor holds the data), and prints each child's peak RSS. Target: under 150 MB. `BENCH_BYTES` changes
 * the size.
 */
import { runChild } from './harness';
import { withPausedStack } from './scenarios/pausedStack';
import { resetStorage } from './storageReset';

const TARGET_RSS_BYTES = 150 * 1024 * 1024;

async function main(): Promise<void> {
  const missed = await withPausedStack(undefined, async (stack) => {
    let anyMissed = false;
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    for (const client of ['queued', 'managed']) {
      const result = await runChild('memoryStream', {
        ...stack.env,
        BENCH_CLIENT: client,
        BENCH_BYTES: process.env.BENCH_BYTES ?? String(1024 ** 3),
      });
      // Free Azurite's memory: the blob is not needed after the measurement.
      await resetStorage(stack);
      const peak = result.peakRssBytes ?? NaN;
      const seconds = result.seconds ?? NaN;
      const input = result.inputBytes ?? NaN;
      const ok = peak < TARGET_RSS_BYTES;
      anyMissed ||= !ok;
      console.log(
        [
          `${client === 'managed' ? 'ManagedStreamingIngestClient' : 'QueuedIngestClient'}.ingestFromStream, generated CSV (went ${result.wentQueued === 1 ? 'queued' : 'streaming'}):`,
          `  input            ${mb(input)} MiB`,
          `  time             ${seconds.toFixed(1)} s (${mb(input / seconds)} MiB/s)`,
          `  peak RSS         ${mb(peak)} MiB (target < ${mb(TARGET_RSS_BYTES)} MiB): ${ok ? 'met' : 'MISSED'}`,
          `  of which code    ${mb(result.baselineRssBytes ?? NaN)} MiB before any data flowed (Node + storage SDKs)`,
        ].join('\n'),
      );
    }
    return anyMissed;
  });
  if (missed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
