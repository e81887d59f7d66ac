/**
 * `npm start`: Azurite, the Kusto stand-in (with its ingesting worker), the landing watcher that plays
 * Event Grid, and the local function host on http://127.0.0.1:7071. Data is kept under .local/.
 * STANDIN_TLS=1 serves storage over https.
 */
// First: the functions register with a recording core, as in the Functions host, instead of warning.
import { registeredFunctions } from './host/recordRegistrations';
import { getAppContext } from '../shared/app/context';
import { startLocalHost } from './host/localHost';
import { consoleOutput, exitOnFatal, startLocalStack, stopOnSignals } from './localStack';
import { LOCAL_TLS_DIR, localTlsFromEnv, relaunchTrusting, tlsBanner } from './tls';

async function main(): Promise<void> {
  const tls = localTlsFromEnv();
  if (tls && relaunchTrusting(tls.ca, LOCAL_TLS_DIR)) return;
  const output = consoleOutput();
  const stack = await startLocalStack({
    mode: 'local',
    onOutput: output,
    supervision: { onFatal: exitOnFatal },
    tls,
  });
  // The app reads its settings from the environment; anything already set wins (e.g. a ROUTES_FILE).
  for (const [k, v] of Object.entries(stack.appEnv)) process.env[k] ??= v;
  await getAppContext().ready();
  const host = await startLocalHost({ log: (line) => output(`[host] ${line}`) });
  const h = host.url;
  console.log(
    [
      '',
      `kusto-ingest-functions is running locally: the local function host runs ${registeredFunctions().join(', ')}.`,
      `  Function host (HTTP API)   ${h}/api/health`,
      `  Operator console           ${h}/api/console`,
      `  Kusto engine / ingest      ${stack.standin.engineUrl}   ${stack.standin.dmUrl}`,
      `  Azurite                    ${stack.azurite.blobEndpoint()}   (landing container: landing)`,
      `  Run the sweep now          curl -X POST ${h}/admin/functions/sweepStatus`,
      '',
      'Try it (database demo exists):',
      `  npm run kql -- ".create table Events (id:long, name:string)"`,
      `  curl -X POST "${h}/api/ingest/demo/Events" -H "content-type: text/csv" --data-binary $'1,hello\\n2,world\\n'`,
      `  npm run kql -- "Events | take 10"`,
      '',
      'Drop a file into the landing container (it lands in demo/Events by its path):',
      `  npm run land -- ./my.csv demo/Events/my.csv`,
      '',
      'Ingest what was in the landing container before (a backfill job, followed to the end):',
      `  npm run backfill -- --prefix demo/ --wait`,
      '',
      ...tlsBanner(tls?.ca),
      'Each part logs what needs attention, prefixed with its name; every line with --verbose. Press Ctrl+C to stop.',
    ].join('\n'),
  );
  stopOnSignals(() => host.stop().then(() => stack.stop()));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
