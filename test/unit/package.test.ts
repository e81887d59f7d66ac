/**
 * The deploy package (`npm run package`), as azd uploads it: exactly the bundled functions, library and
 * production dependencies, host.json and package.json. It is built into an empty folder and loaded there as
 * the Functions worker would (its main glob, against a recording stand-in for `@azure/functions-core`), so
 * that anything it needs at run time and does not carry (a dev dependency) fails here, not in Azure.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ignore from 'ignore';
import picomatch from 'picomatch';
import { FUNCTION_NAMES } from '../helpers/functionNames';

interface Registered {
  name: string;
  bindings: Record<
    string,
    { type: string; direction: string; route?: string; queueName?: string; schedule?: string }
  >;
}
const mockRegistered: Registered[] = [];
jest.mock(
  '@azure/functions-core',
  () => ({
    setProgrammingModel: jest.fn(),
    registerFunction: jest.fn((metadata: Registered) => {
      mockRegistered.push(metadata);
      return { dispose: () => undefined };
    }),
    registerHook: jest.fn(() => ({ dispose: () => undefined })),
    log: jest.fn(),
    capabilities: {},
  }),
  { virtual: true },
);

const root = join(__dirname, '..', '..');
let dir: string;

function files(base: string, at = base): string[] {
  return readdirSync(at).flatMap((name) => {
    const path = join(at, name);
    return statSync(path).isDirectory() ? files(base, path) : [relative(base, path)];
  });
}

/** Loads every file the package's main glob names, as the worker does. */
function loadMain(pkgDir: string): void {
  const main = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { main: string }).main;
  const isMatch = picomatch(main);
  for (const file of files(pkgDir).filter((f) => isMatch(f)))
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(join(pkgDir, file));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kif-package-'));
  const run = spawnSync(process.execPath, [join(root, 'dev', 'package.mjs'), join(dir, 'pkg')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`npm run package failed: ${run.stderr}`);
}, 60_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the deploy package', () => {
  it('holds exactly the bundle, host.json and package.json', () => {
    expect(files(join(dir, 'pkg')).sort()).toEqual([
      'dist/app.js',
      'dist/azure-monitor.js',
      'dist/otel-sdk.js',
      'host.json',
      'package.json',
    ]);
    expect(readFileSync(join(dir, 'pkg', 'host.json'), 'utf8')).toBe(
      readFileSync(join(root, 'host.json'), 'utf8'),
    );
    const manifest = JSON.parse(readFileSync(join(dir, 'pkg', 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({ name: 'kusto-ingest-functions', main: 'dist/app.js' });
    for (const key of ['scripts', 'dependencies', 'devDependencies']) expect(manifest[key]).toBeUndefined();
  });

  it('loads in an empty folder with nothing installed, and registers every function with its trigger', () => {
    jest.isolateModules(() => loadMain(join(dir, 'pkg')));
    const triggers = Object.fromEntries(
      mockRegistered.map((r) => [r.name, Object.values(r.bindings).find((b) => b.type.endsWith('Trigger'))]),
    );
    expect(Object.keys(triggers).sort()).toEqual([...FUNCTION_NAMES]);
    expect(triggers.ingestHttp).toMatchObject({ type: 'httpTrigger', route: 'ingest/{database}/{table}' });
    expect(triggers.ingestLanding).toMatchObject({ type: 'queueTrigger', queueName: 'landing-events' });
    expect(triggers.sweepStatus).toMatchObject({ type: 'timerTrigger', schedule: '0 */5 * * * *' });
  });

  it('carries the telemetry SDKs apart from app.js, each loadable alone, and app.js loads them by path', () => {
    const app = readFileSync(join(dir, 'pkg', 'dist', 'app.js'), 'utf8');
    expect(app.includes('require("./otel-sdk.js")')).toBe(true);
    expect(app.includes('require("./azure-monitor.js")')).toBe(true);
    // The distro is not in the bundle a cold start parses, but in its own.
    const distro = 'node_modules/@azure/monitor-opentelemetry/';
    expect(app.includes(distro)).toBe(false);
    expect(readFileSync(join(dir, 'pkg', 'dist', 'azure-monitor.js'), 'utf8').includes(distro)).toBe(true);
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const otel = require(join(dir, 'pkg', 'dist', 'otel-sdk.js')) as Record<string, unknown>;
      expect(Object.keys(otel)).toEqual(
        expect.arrayContaining([
          'MeterProvider',
          'BasicTracerProvider',
          'OTLPTraceExporter',
          'OTLPMetricExporter',
        ]),
      );
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const azure = require(join(dir, 'pkg', 'dist', 'azure-monitor.js')) as Record<string, unknown>;
      expect(typeof azure.useAzureMonitor).toBe('function');
      expect(typeof azure.ManagedIdentityCredential).toBe('function');
    });
  });

  it('would fail the build if the app needed a dev dependency at run time (a mutated copy)', () => {
    const mutated = join(dir, 'mutated');
    spawnSync('cp', ['-r', join(dir, 'pkg'), mutated]);
    const bundle = join(mutated, 'dist', 'app.js');
    // What the bundler leaves of `import Database from 'better-sqlite3'` in a function: a require of it.
    writeFileSync(bundle, `require("better-sqlite3");\n${readFileSync(bundle, 'utf8')}`);
    expect(() => jest.isolateModules(() => loadMain(mutated))).toThrow(/Cannot find module 'better-sqlite3'/);
  });

  it('keeps every file when azd zips it: azd applies the .funcignore of the folder it zips, and the package has none', () => {
    // Azure/azure-dev cli/azd/pkg/project/project_utils.go, createDeployableZip(svc, root): the ignore
    // file is read from `root`, the package path (azure.yaml `dist: .package`), not the project folder.
    const packaged = files(join(dir, 'pkg'));
    expect(packaged).not.toContain('.funcignore');
    // Were the root's rules applied to it anyway, nothing of it would go either.
    const rules = ignore().add(readFileSync(join(root, '.funcignore'), 'utf8'));
    expect(packaged.filter((f) => rules.ignores(f))).toEqual([]);
    expect(rules.ignores('test/unit/x.test.ts')).toBe(true); // the check is live
  });

  it('is small: every byte is read at each cold start', () => {
    expect(statSync(join(dir, 'pkg', 'dist', 'app.js')).size).toBeLessThan(10 * 1024 * 1024);
  });
});
