/**
 * The cold-start child: a fresh process, as a Flex Consumption instance is. It loads an app's main file(s)
 * against a recording `@azure/functions-core` (as the worker would), then answers one HTTP push through the
 * registered handler. Prints, from process start (performance.now()), when every function was registered and
 * when the push was answered. BENCH_APP: 'ours' (the deploy package in BENCH_PACKAGE_DIR), 'unbundled' (the
 * repository's own build, dist/functions/*.js over node_modules, for reference) or 'baseline'.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { installRecordingCore, registeredFunctions, registeredHandler } from '../../dev/host/functionsCore';
import { report, run, setting } from './common';

run(async () => {
  installRecordingCore();
  const which = setting('BENCH_APP');
  const functions = join(__dirname, '..', '..', 'functions');
  const mains =
    which === 'ours'
      ? [
          join(
            setting('BENCH_PACKAGE_DIR'),
            (
              JSON.parse(readFileSync(join(setting('BENCH_PACKAGE_DIR'), 'package.json'), 'utf8')) as {
                main: string;
              }
            ).main,
          ),
        ]
      : which === 'unbundled'
        ? readdirSync(functions)
            .filter((f) => f.endsWith('.js'))
            .sort()
            .map((f) => join(functions, f))
        : [join(__dirname, '..', 'coldstart', 'baselineApp.js')];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  for (const main of mains) require(main);
  const registeredMs = performance.now();
  const handler = registeredHandler(which === 'baseline' ? 'push' : 'ingestHttp');
  const url = new URL('http://127.0.0.1:7071/api/ingest/demo/ColdStart');
  const request = {
    method: 'POST',
    url: url.toString(),
    headers: new Headers({ 'content-type': 'text/csv' }),
    query: url.searchParams,
    params: { database: 'demo', table: 'ColdStart' },
    body: new Response('1,cold\n').body,
  };
  const quiet = () => undefined;
  const context = { debug: quiet, info: quiet, warn: quiet, error: quiet, log: quiet, trace: quiet };
  const response = (await handler(request, context)) as { status?: number };
  const firstPushMs = performance.now();
  if (response.status !== 202) throw new Error(`the push was answered ${response.status ?? '?'}, not 202`);
  report({ registeredMs, firstPushMs, functions: registeredFunctions().length });
});
