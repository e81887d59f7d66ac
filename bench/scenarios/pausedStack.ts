/** The local stack every scenario runs on, and the variants that start each run from empty storage. */
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { processCpuSeconds, runChild, type Metrics } from '../harness';
import { untilStorageIdle } from '../storageIdle';
import { freshStorage } from '../storageReset';

/**
 * Runs `use` on a fresh local stack (one account, free ports, in memory) whose stand-in worker is paused:
 * it would ingest what the clients queue and compete with them for the cores. Stopped afterwards.
 */
export async function withPausedStack<T>(
  tls: { cert: string; key: string } | undefined,
  use: (stack: LocalStack) => Promise<T>,
): Promise<T> {
  process.env.STANDIN_FAULTS = JSON.stringify({ workerPaused: true });
  try {
    const stack = await startLocalStack({ mode: 'test', accountCount: 1, tls });
    try {
      return await use(stack);
    } finally {
      await stack.stop();
    }
  } finally {
    delete process.env.STANDIN_FAULTS;
  }
}

/** Waits until the stack's Azurite is idle (storageIdle.ts); says so when it had to wait or gave up. */
export async function afterStorageStalls(stack: LocalStack, log?: (line: string) => void): Promise<void> {
  const { waitedMs, idle } = await untilStorageIdle(stack.azurite.blobEndpoint());
  if (!idle) log?.(`  Azurite still slow after ${Math.round(waitedMs / 1000)} s: running anyway`);
  else if (waitedMs > 2_000) log?.(`  waited ${Math.round(waitedMs / 1000)} s for Azurite to be idle`);
}

/**
 * A variant that starts each run of one benchmark child on empty storage (a fresh in-memory Azurite:
 * storageReset.ts), waiting until Azurite is idle; no run pays for the last. Each run also reports the CPU
 * seconds Azurite spent while the child ran (`azuriteCpuS`: it shares the cores, and on two of them it is
 * what small-file runs wait for).
 */
export function freshVariant(
  stack: LocalStack,
  name: string,
  child: string,
  env: Record<string, string>,
  log?: (line: string) => void,
): { name: string; run: () => Promise<Metrics> } {
  return {
    name,
    run: async () => {
      await freshStorage(stack);
      await afterStorageStalls(stack, log);
      const cpuBefore = processCpuSeconds(stack.azurite.pid);
      const metrics = await runChild(child, env);
      return { ...metrics, azuriteCpuS: processCpuSeconds(stack.azurite.pid) - cpuBefore };
    },
  };
}
