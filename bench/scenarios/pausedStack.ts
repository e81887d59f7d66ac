/** The local stack every scenario runs on, and the variants that start each run from empty storage. */
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { runChild, type Metrics } from '../harness';
import { resetStorage } from '../storageReset';

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

/** A variant that empties the stack's storage, then runs one benchmark child; no run pays for the last. */
export function freshVariant(
  stack: LocalStack,
  name: string,
  child: string,
  env: Record<string, string>,
): { name: string; run: () => Promise<Metrics> } {
  return {
    name,
    run: async () => {
      await resetStorage(stack);
      return runChild(child, env);
    },
  };
}
