/**
 * `npm run bench:profile -- [small|http|landing|v2|backfill|large] [--keep DIR]`: one run of a scenario's child
 * under V8's sampling profiler (`--cpu-prof`), ours and its raw ceiling (`large`: ours from a 1 GB stream,
 * then from the file), on a paused local stack as the benchmarks run them; then where each one's CPU went:
 * self time by package or module (ours by file), and the functions with the most self time. `--keep DIR`
 * keeps the .cpuprofile files (open them in Chrome's DevTools).
 * BENCH_BLOBS sets the backfill's blobs (default 5,000).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from './harness';
import { afterStorageStalls, withPausedStack } from './scenarios/pausedStack';
import { largeCsvFile } from './scenarios/largeFile';
import { smallCsvFiles } from './scenarios/smallFiles';
import { freshStorage } from './storageReset';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** What a frame belongs to: a package, a part of Node, one of our files, or V8's own bookkeeping. */
export function ownerOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url); // the innermost package
  if (pkg) return pkg[1] ?? url;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').replace(/\/.*$/, '');
  const ours = /\/dist\/(.+)\.js$/.exec(url);
  return ours ? `ours: ${ours[1] ?? url}` : url;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byOwner: readonly { owner: string; ms: number }[];
  readonly topFunctions: readonly { name: string; owner: string; ms: number }[];
}

/** Self time per owner and per function; the idle time (waiting on I/O) left out of the total. */
export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const owners = new Map<string, number>();
  const functions = new Map<string, { name: string; owner: string; ms: number }>();
  let totalMs = 0;
  for (const [id, ms] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') continue;
    totalMs += ms;
    const owner = ownerOf(frame);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
    const file = frame.url.split('/').pop() ?? '';
    const name = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    const f = functions.get(name) ?? { name, owner, ms: 0 };
    f.ms += ms;
    functions.set(name, f);
  }
  return {
    totalMs,
    byOwner: [...owners].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms),
    topFunctions: [...functions.values()].sort((a, b) => b.ms - a.ms).slice(0, top),
  };
}

function print(title: string, s: ProfileSummary): void {
  const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  console.log(`\n${title}: ${(s.totalMs / 1000).toFixed(2)} s of CPU sampled (idle left out)`);
  for (const o of s.byOwner.slice(0, 20)) console.log(`  ${pct(o.ms)}  ${o.owner}`);
  console.log('  functions with the most self time:');
  for (const f of s.topFunctions) console.log(`  ${pct(f.ms)}  ${f.name}  [${f.owner}]`);
}

type Child = string | { readonly name: string; readonly env: Record<string, string> };

const CHILDREN: Record<string, readonly [ours: Child, ceiling: Child, setup?: string]> = {
  small: ['smallFilesOurs', 'smallFilesCeiling'],
  http: ['httpPush', 'httpCeiling'],
  landing: ['landingHost', 'landingCeiling'],
  // Scenario 13: REST submissions (every status read once) against the v1 ceiling's message per file.
  v2: [
    { name: 'smallFilesOurs', env: { BENCH_PROTOCOL: 'v2', BENCH_READ_STATUS: 'yes' } },
    { name: 'smallFilesCeiling', env: { BENCH_STATUS: 'queue' } },
  ],
  // Written once (untimed, unprofiled): both children then list and queue the same blobs.
  backfill: ['backfillPages', 'backfillCeiling', 'backfillSetup'],
  large: [
    { name: 'largeOurs', env: { BENCH_MODE: 'stream' } },
    { name: 'largeOurs', env: { BENCH_MODE: 'file' } },
  ],
};

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'small';
  const children = CHILDREN[which];
  if (!children) throw new Error(`unknown scenario '${which}': one of ${Object.keys(CHILDREN).join(', ')}`);
  const keepAt = process.argv.indexOf('--keep');
  const keep = keepAt > 0 ? process.argv[keepAt + 1] : undefined;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'kif-profile-'));
  const files = smallCsvFiles(1000, 1024);
  const large = which === 'large' ? await largeCsvFile(Number(process.env.BENCH_LARGE_BYTES ?? 1e9)) : '';
  try {
    await withPausedStack(undefined, async (stack) => {
      const env = {
        ...stack.env,
        ...stack.appEnv,
        BENCH_DIR: files,
        BENCH_CONCURRENCY: '50',
        BENCH_REQUESTS: '1000',
        BENCH_EVENTS: '2000',
        BENCH_BLOBS: process.env.BENCH_BLOBS ?? '5000',
        BENCH_PREFIX: 'bf/',
        BENCH_FILE: large,
      };
      const [ours, ceiling, setup] = children;
      for (const [n, child] of [ours, ceiling].entries()) {
        const { name, env: own } = typeof child === 'string' ? { name: child, env: {} } : child;
        await freshStorage(stack);
        if (setup) await runChild(setup, env);
        await afterStorageStalls(stack, console.log);
        const out = join(dir, `${n}-${name}`);
        const metrics = await runChild(name, { ...env, ...own }, ['--cpu-prof', `--cpu-prof-dir=${out}`]);
        const file = readdirSync(out).find((f) => f.endsWith('.cpuprofile')) ?? '';
        const profile = JSON.parse(readFileSync(join(out, file), 'utf8')) as CpuProfile;
        print(`${name} ${JSON.stringify(own)} (${JSON.stringify(metrics)})`, summarize(profile));
      }
    });
  } finally {
    rmSync(files, { recursive: true, force: true });
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module)
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
