/**
 * The stand-in's store: SQLite (better-sqlite3, compiled from source on every fresh install) against an
 * embedded analytic engine that ships prebuilt (DuckDB's @duckdb/node-api). Install time in an empty
 * directory, ingest rows/s and memory, one summarize, and how much of the KQL corpus runs on DuckDB with
 * the stand-in's translator and a thin adapter (bench/children/storeEngine.ts). No Azurite needed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alternate, median, type Row, runChild, spread } from '../harness';
import type { Scenario } from './types';

/** The DuckDB release compared (the newest on npm when measured). */
export const DUCKDB_PACKAGE = '@duckdb/node-api@1.5.6-r.1';

function sqlitePackage(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  return `better-sqlite3@${pkg.devDependencies['better-sqlite3'] ?? 'latest'}`;
}

/** Installs one package into an empty directory, as a fresh clone's `npm install` would; seconds. */
function install(spec: string, dir: string, log: (line: string) => void): number {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'kif-store-bench', version: '1.0.0', private: true }),
  );
  const started = performance.now();
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', spec], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`npm install ${spec} failed: ${result.stderr.slice(-500)}`);
  const seconds = (performance.now() - started) / 1000;
  log(`  npm install ${spec}: ${seconds.toFixed(1)} s`);
  return seconds;
}

export const storeEngines: Scenario = {
  name: 'stores',
  title: "11. The stand-in's store: SQLite (better-sqlite3) against DuckDB (@duckdb/node-api)",
  run: async (ctx) => {
    const sqliteDir = mkdtempSync(join(tmpdir(), 'kif-sqlite-'));
    const duckDir = mkdtempSync(join(tmpdir(), 'kif-duckdb-'));
    try {
      const sqliteInstall = install(sqlitePackage(), sqliteDir, ctx.log);
      const duckInstall = install(DUCKDB_PACKAGE, duckDir, ctx.log);
      const env = { BENCH_DUCKDB_DIR: duckDir, BENCH_ROWS: process.env.BENCH_ROWS ?? '200000' };
      const samples = await alternate(
        Math.max(ctx.runs, 5),
        [
          { name: 'sqlite', run: () => runChild('storeEngine', { ...env, BENCH_ENGINE: 'sqlite' }) },
          { name: 'duckdb', run: () => runChild('storeEngine', { ...env, BENCH_ENGINE: 'duckdb' }) },
        ],
        ctx.log,
      );
      const coverage = await runChild('storeEngine', {
        ...env,
        BENCH_ENGINE: 'duckdb',
        BENCH_MODE: 'coverage',
      });
      const m = (engine: string, metric: string) => median(samples[engine]?.[metric] ?? []);
      const s = (engine: string, metric: string) => spread(samples[engine]?.[metric] ?? []);
      const note = 'ours = SQLite (the store today), official = DuckDB';
      const rows: Row[] = [
        {
          scenario: 'store',
          metric: 'npm install s (one run)',
          ours: sqliteInstall,
          official: duckInstall,
          note,
        },
        {
          scenario: 'store',
          metric: `ingest rows/s (${env.BENCH_ROWS} rows)`,
          ours: m('sqlite', 'rowsPerSec'),
          official: m('duckdb', 'rowsPerSec'),
          note: `${note}; spread ${s('sqlite', 'rowsPerSec')} vs ${s('duckdb', 'rowsPerSec')}`,
        },
        {
          scenario: 'store',
          metric: 'memory the rows add, MB',
          ours: m('sqlite', 'rssGrowthMb'),
          official: m('duckdb', 'rssGrowthMb'),
          note: `${note}; spread ${s('sqlite', 'rssGrowthMb')} vs ${s('duckdb', 'rssGrowthMb')}`,
        },
        {
          scenario: 'store',
          metric: 'summarize by level, ms',
          ours: m('sqlite', 'summarizeMs'),
          official: m('duckdb', 'summarizeMs'),
          note: `${note}; spread ${s('sqlite', 'summarizeMs')} vs ${s('duckdb', 'summarizeMs')}`,
        },
        {
          scenario: 'store',
          metric: 'KQL corpus queries right',
          ours: coverage.total ?? 0,
          official: coverage.passed ?? 0,
          note: `of ${coverage.total ?? 0}; DuckDB with the SQLite translator and a thin adapter`,
        },
      ];
      return rows;
    } finally {
      rmSync(sqliteDir, { recursive: true, force: true });
      rmSync(duckDir, { recursive: true, force: true });
    }
  },
};
