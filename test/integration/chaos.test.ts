/**
 * The fault campaign, small and bounded (`npm run chaos` is the full size): pushes and landing blobs while
 * the stand-in fails ingestions, a proxy fails storage calls, Azurite restarts and the host is killed; then
 * the audit. It runs the compiled campaign in a process of its own, as `npm run chaos` does.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

it('loses nothing and ingests nothing twice under faults, a storage restart and a host kill', async () => {
  const child = spawn(
    process.execPath,
    [
      join(root, 'dist', 'dev', 'chaos', 'chaosMain.js'),
      '--items',
      '48',
      '--seed',
      '11',
      '--concurrency',
      '12',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const summary = out.split('\n').filter((l) => /^(items|lost|disruptions|PASSED|FAILED| {2}!)/.test(l));
  expect([code, summary.join('\n')]).toEqual([0, expect.stringContaining('PASSED') as unknown]);
  expect(out).toMatch(/lost 0, duplicated 0, refused but left behind 0, unanswered but both 0/);
  expect(out).toMatch(/Azurite restarts 1, host kills 1/);
}, 600_000);
