/**
 * `npm run land -- <file> <path in landing> [key=value metadata...]`: uploads a file into the local landing
 * container, as a user would drop it into Azure storage. The landing watcher then announces it.
 */
import { createReadStream, statSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from './azurite';
import { LOCAL_TLS_DIR, localTlsFromEnv, relaunchTrusting } from './tls';

export function landingConnectionString(env: NodeJS.ProcessEnv = process.env): string {
  const scheme = env.STANDIN_TLS === '1' ? 'https' : 'http';
  return (
    env.LandingStorage ??
    [
      `DefaultEndpointsProtocol=${scheme}`,
      `AccountName=${DEV_ACCOUNT}`,
      `AccountKey=${DEV_ACCOUNT_KEY}`,
      `BlobEndpoint=${scheme}://127.0.0.1:${env.AZURITE_BLOB_PORT ?? '10000'}/${DEV_ACCOUNT}`,
    ].join(';')
  );
}

async function main(): Promise<void> {
  // With the local stack on https (STANDIN_TLS=1), trust its CA as the stack does.
  const tls = localTlsFromEnv();
  if (tls && relaunchTrusting(tls.ca, LOCAL_TLS_DIR)) return;
  const [file, path, ...pairs] = process.argv.slice(2);
  if (!file || !path)
    throw new Error('Usage: npm run land -- <file> <database>/<table>/<name.format> [kusto_format=csv ...]');
  const metadata = Object.fromEntries(pairs.map((p) => p.split('=', 2) as [string, string]));
  const container = BlobServiceClient.fromConnectionString(landingConnectionString()).getContainerClient(
    process.env.LANDING_CONTAINER ?? 'landing',
  );
  await container.createIfNotExists();
  const size = statSync(file).size;
  await container
    .getBlockBlobClient(path)
    .uploadStream(createReadStream(file), 4 * 1024 * 1024, 4, { metadata });
  console.log(`Uploaded ${file} (${size} bytes) to ${container.containerName}/${path}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
