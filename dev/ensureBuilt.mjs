// @ts-check
/**
 * `npm run kql`, `npm run land`: compile only when a source changed since the last build (a full `tsc` takes
 * over 10 s; this check takes milliseconds). A build rewrites every output, so the script about to run is
 * as old as the last build: any source newer than it means the build is stale.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, process.argv[2] ?? 'dist/dev/kql.js');

/** @param {string} dir @returns {number} */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sources = Math.max(
  ...['functions', 'shared', 'dev', 'bench'].map((d) => newestSource(join(root, d))),
  ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => statSync(join(root, f)).mtimeMs),
);
if (!existsSync(target) || statSync(target).mtimeMs < sources) {
  console.error('Sources changed since the last build: compiling (npm run build)...');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
