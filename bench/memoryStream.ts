/**
 * Memory benchmark: streams a generated 1 GB CSV through `ingestFromStream` of the queued client and of the
 * managed streaming client (which must fall back to queued without holding the input), each in a child
 * process of its own, against Azurite and the stand-in (its worker paused, so it neither competes for the
 * cores nor holds the data), and prints each child's peak RSS. Target: under 150 MB. `BENCH_BYTES` changes
 * the size.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startLocalStack } from '../dev/localStack';

const TARGET_RSS_BYTES = 150 * 1024 * 1024;

interface ChildResult {
  inputBytes: number;
  seconds: number;
  peakRssBytes: number;
  baselineRssBytes: number;
  blobPath: string;
  flavor: string;
}

function runChild(env: Record<string, string>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'memoryStreamChild.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the benchmark child exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as never);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

async function main(): Promise<void> {
  process.env.STANDIN_FAULTS = JSON.stringify({ workerPaused: true });
  const stack = await startLocalStack({ mode: 'test', accountCount: 1 });
  let missed = false;
  try {
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    for (const client of ['queued', 'managed']) {
      const result = await runChild({
        ...stack.env,
        BENCH_CLIENT: client,
        BENCH_BYTES: process.env.BENCH_BYTES ?? String(1024 ** 3),
      });
      const account = stack.accounts[0];
      if (account && result.blobPath) {
        // Free Azurite's memory: the blob is not needed after the measurement.
        await new BlobClient(
          result.blobPath,
          new StorageSharedKeyCredential(account.name, account.key),
        ).deleteIfExists();
      }
      const ok = result.peakRssBytes < TARGET_RSS_BYTES;
      missed ||= !ok;
      console.log(
        [
          `${client === 'managed' ? 'ManagedStreamingIngestClient' : 'QueuedIngestClient'}.ingestFromStream, generated CSV (went ${result.flavor}):`,
          `  input            ${mb(result.inputBytes)} MiB`,
          `  time             ${result.seconds.toFixed(1)} s (${mb(result.inputBytes / result.seconds)} MiB/s)`,
          `  peak RSS         ${mb(result.peakRssBytes)} MiB (target < ${mb(TARGET_RSS_BYTES)} MiB): ${ok ? 'met' : 'MISSED'}`,
          `  of which code    ${mb(result.baselineRssBytes)} MiB before any data flowed (Node + storage SDKs)`,
        ].join('\n'),
      );
    }
  } finally {
    await stack.stop();
  }
  if (missed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
