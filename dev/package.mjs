// @ts-check
/**
 * `npm run package`: the deploy package that azd uploads (azure.yaml: `dist: .package`, `remoteBuild: false`),
 * and nothing else in it:
 *
 *   .package/host.json
 *   .package/package.json     name, version, engines, main: dist/app.js (no scripts, no dependencies to install)
 *   .package/dist/app.js      the functions, the library and the production dependencies, bundled
 *   .package/dist/otel-sdk.js, .package/dist/azure-monitor.js
 *                             the telemetry SDKs, bundled apart: loaded only when telemetry is on
 *
 * One bundle rather than dist/ plus node_modules/: the Functions worker loads every file the main glob names
 * at each cold start, and one file loads faster than hundreds (bench/README.md, 'Cold start'). The bundle
 * takes nothing from dev/, bench/ or test/; a dev dependency imported at run time is left out of it (external)
 * and so fails to load in the package test, instead of being shipped. `@azure/functions-core` is the
 * worker's own module, provided at run time.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.argv[2] ?? '.package');

/** @type {unknown} */
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pkg =
  /** @type {{ name: string; version: string; description?: string; license?: string; engines?: object; devDependencies?: Record<string, string> }} */ (
    manifest
  );
const functions = readdirSync(join(root, 'functions'))
  .filter((f) => f.endsWith('.ts'))
  .sort();

/**
 * The telemetry SDKs load only when telemetry is on (shared/app/telemetry/startTelemetry.ts): each is a
 * bundle of its own beside app.js, so that a cold start does not parse them. Their imports in app.js are
 * rewritten to those files.
 */
const lazyBundles = {
  './otelSdk': { source: 'shared/app/telemetry/otelSdk.ts', file: 'otel-sdk.js' },
  './azureMonitorSdk': { source: 'shared/app/telemetry/azureMonitorSdk.ts', file: 'azure-monitor.js' },
};
/** @type {import('esbuild').Plugin} */
const lazyBundlesApart = {
  name: 'lazy-bundles-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/(otelSdk|azureMonitorSdk)$/ }, (args) => {
      const lazy = lazyBundles[/** @type {keyof typeof lazyBundles} */ (args.path)];
      return { path: `./${lazy.file}`, external: true };
    });
  },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'dist'), { recursive: true });
/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  // The lowest runtime infra/main.bicep allows (its nodeVersion): test/unit/infra.test.ts checks they agree.
  target: 'node22',
  format: 'cjs',
  external: ['@azure/functions-core', ...Object.keys(pkg.devDependencies ?? {})],
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
};
for (const lazy of Object.values(lazyBundles))
  await build({ ...common, entryPoints: [join(root, lazy.source)], outfile: join(out, 'dist', lazy.file) });
const result = await build({
  stdin: {
    // Registration order is the file order, as the worker's glob would load them.
    contents: functions.map((f) => `import './functions/${f.replace(/\.ts$/, '')}';`).join('\n'),
    resolveDir: root,
    sourcefile: 'app.ts',
    loader: 'ts',
  },
  ...common,
  outfile: join(out, 'dist', 'app.js'),
  plugins: [lazyBundlesApart],
});
copyFileSync(join(root, 'host.json'), join(out, 'host.json'));
const deployed = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  license: pkg.license,
  private: true,
  main: 'dist/app.js',
  engines: pkg.engines,
};
writeFileSync(join(out, 'package.json'), `${JSON.stringify(deployed, null, 2)}\n`);

const inputs = Object.keys(result.metafile.inputs);
const forbidden = inputs.filter((i) => /^(dev|bench|test)\//.test(i));
if (forbidden.length > 0) throw new Error(`The package would contain ${forbidden.join(', ')}`);
const mb = (/** @type {string} */ file) => (readFileSync(join(out, 'dist', file)).length / 1e6).toFixed(1);
const lazyFiles = Object.values(lazyBundles)
  .map((l) => `dist/${l.file} (${mb(l.file)} MB, loaded only with telemetry on)`)
  .join(', ');
console.log(
  `Packaged ${functions.length} functions into ${out}: dist/app.js (${mb('app.js')} MB, ${inputs.length} modules), ${lazyFiles}, host.json, package.json`,
);
