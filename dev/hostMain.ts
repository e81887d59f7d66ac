/**
 * The local function host alone, in a process of its own, on the app settings in its environment: what the
 * chaos run starts, kills and starts again. Prints `host ready <url>` once it serves.
 * HOST_QUEUE_LEASE_SECONDS and HOST_VISIBILITY_SECONDS shorten the queue trigger's message lease and retry
 * delay (host.json's otherwise).
 */
import { registeredFunctions } from './host/recordRegistrations';
import { startLocalHost } from './host/localHost';
import { stopOnSignals } from './localStack';

const seconds = (name: string): number | undefined => {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : Number(raw);
};

async function main(): Promise<void> {
  const lease = seconds('HOST_QUEUE_LEASE_SECONDS');
  const visibility = seconds('HOST_VISIBILITY_SECONDS');
  const host = await startLocalHost({
    queue: {
      pollIntervalMs: 100,
      ...(lease !== undefined && { leaseSeconds: lease }),
      ...(visibility !== undefined && { visibilityTimeoutSeconds: visibility }),
    },
    timer: false,
    log: (line) => {
      if (process.env.HOST_LOG === 'verbose' || /error|fail|warn/i.test(line)) console.log(line);
    },
  });
  console.log(`host ready ${host.url} (${registeredFunctions().join(', ')})`);
  stopOnSignals(() => host.stop());
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
