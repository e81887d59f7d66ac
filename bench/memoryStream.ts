/**
 * Memory benchmark (issue: the queued-ingest core): streams a generated 1 GB CSV through
 * `ingestFromStream` in a child process of its own, against Azurite and the stand-in, and prints that
 * process's peak RSS. Target: under 150 MB. `BENCH_BYTES` changes the size.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startLocalStack } from '../dev/localStack';

const TARGET_RSS_BYTES = 150 * 1024 * 1024;

function runChild(env: Record<string, string>): Promise<{
  inputBytes: number;
  seconds: number;
  peakRssBytes: number;
  baselineRssBytes: number;
  blobPath: string;
}> {
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
  const stack = await startLocalStack({ mode: 'test', accountCount: 1 });
  try {
    const result = await runChild({
      ...stack.env,
      BENCH_BYTES: process.env.BENCH_BYTES ?? String(1024 ** 3),
    });
    const account = stack.accounts[0];
    if (account) {
      // Free Azurite's memory: the blob is not needed after the measurement.
      const url = result.blobPath;
      await new BlobClient(url, new StorageSharedKeyCredential(account.name, account.key)).deleteIfExists();
    }
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    const ok = result.peakRssBytes < TARGET_RSS_BYTES;
    console.log(
      [
        'ingestFromStream, generated CSV, queued (gzip while streaming):',
        `  input            ${mb(result.inputBytes)} MiB`,
        `  time             ${result.seconds.toFixed(1)} s (${mb(result.inputBytes / result.seconds)} MiB/s)`,
        `  peak RSS         ${mb(result.peakRssBytes)} MiB (target < ${mb(TARGET_RSS_BYTES)} MiB): ${ok ? 'met' : 'MISSED'}`,
        `  of which code    ${mb(result.baselineRssBytes)} MiB before any data flowed (Node + storage SDKs)`,
      ].join('\n'),
    );
    if (!ok) process.exitCode = 1;
  } finally {
    await stack.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
