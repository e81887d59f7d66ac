/**
 * `npm run standin` (and, until the function host lands, `npm start`): Azurite and the Kusto stand-in (its
 * engine, its Data Management endpoint and the worker that ingests what is queued) on the default local
 * ports, data kept under .local/ between runs. Ctrl+C stops both. STANDIN_TLS=1 serves storage over https.
 */
import { consoleOutput, exitOnFatal, startLocalStack, stopOnSignals } from './localStack';
import { LOCAL_TLS_DIR, localTlsFromEnv, relaunchTrusting, tlsBanner } from './tls';

async function main(): Promise<void> {
  const tls = localTlsFromEnv();
  if (tls && relaunchTrusting(tls.ca, LOCAL_TLS_DIR)) return;
  const stack = await startLocalStack({
    mode: 'local',
    onOutput: consoleOutput(),
    supervision: { onFatal: exitOnFatal },
    tls,
  });
  const lines = [
    'Local stack is up:',
    `  Kusto Data Management (ingest) endpoint  ${stack.standin.dmUrl}`,
    `  Kusto engine endpoint                    ${stack.standin.engineUrl}`,
    `  Azurite blob / queue / table             ${stack.azurite.blobEndpoint()}  ${stack.azurite.queueEndpoint()}  ${stack.azurite.tableEndpoint()}`,
    `  Fault switches                           ${stack.standin.dmUrl}/_standin/faults`,
    `  Data                                     .local/azurite and .local/kusto (delete them to start afresh)`,
    '',
    'Try it (database demo exists):',
    `  npm run kql -- ".create table Events (id:long, name:string)"`,
    `  npm run kql -- ".ingest inline into table Events <| 1,hello"`,
    `  npm run kql -- "Events | take 10"`,
    '',
    ...tlsBanner(tls?.ca),
    'Press Ctrl+C to stop.',
  ];
  console.log(lines.join('\n'));
  stopOnSignals(() => {
    console.log('Stopping...');
    return stack.stop();
  });
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
