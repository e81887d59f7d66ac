import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { knownAccount } from './blobSource';
import { StandinHttpError } from './http';
import { Cursor, lex } from './kqlLexer';
import { submitRest, type RestIngestDeps } from './restIngest';
import { resultTable, type ResultTable } from './resultTable';

/**
 * Server-side queued ingestion on the DM endpoint, as documented: `.list blobs (locators) [Prefix=]
 * [Suffix=] [MaxFiles=]` lists a container (a prefix of it), and `.ingest-from-storage-queued into table
 * [database('D').]T [EnableTracking=] [SkipBatching=] [with (...)] <| .list blobs (...)` (or `<| 'url' …`)
 * hands every blob listed to one operation, ingested by the same worker as REST submissions. A locator is
 * read with its SAS or with `;managed_identity=<object id|system>` (one the database's policy allows
 * NativeIngestion, as for the blobs themselves); impersonation is refused, as documented.
 */

/** What `.list blobs` standalone returns at most, whatever MaxFiles says. */
const STANDALONE_MAX_FILES = 1000;

const bad = (message: string) =>
  new StandinHttpError({ status: 400, code: 'BadRequest_SyntaxError', message, permanent: true });

interface ListedBlob {
  /** Without credentials. */
  readonly uri: string;
  /** With the locator's SAS: what the worker downloads. */
  readonly readUrl: string;
  readonly size: number;
}

interface ListBlobs {
  readonly locators: string[];
  readonly prefix: string | undefined;
  readonly suffix: string | undefined;
  readonly maxFiles: number | undefined;
}

function value(cursor: Cursor): string {
  const t = cursor.next();
  if (t.kind === 'string' || t.kind === 'word' || t.kind === 'number' || t.kind === 'name') return t.value;
  throw bad(`expected a value, got '${t.value}'`);
}

function parseListBlobs(cursor: Cursor): ListBlobs {
  cursor.expectPunct('(');
  const locators: string[] = [];
  do locators.push(cursor.string());
  while (cursor.acceptPunct(','));
  cursor.expectPunct(')');
  const options: Record<string, string> = {};
  while (!cursor.done) {
    const key = cursor.name().toLowerCase();
    cursor.expectPunct('=');
    options[key] = value(cursor);
  }
  for (const key of Object.keys(options))
    if (!['prefix', 'suffix', 'maxfiles', 'pathformat'].includes(key))
      throw bad(`.list blobs takes Prefix, Suffix, MaxFiles and PathFormat, not '${key}'`);
  const maxFiles = options.maxfiles === undefined ? undefined : Number(options.maxfiles);
  if (maxFiles !== undefined && (!Number.isInteger(maxFiles) || maxFiles < 1))
    throw bad(`MaxFiles must be a whole number of at least 1, got '${options.maxfiles}'`);
  return { locators, prefix: options.prefix, suffix: options.suffix, maxFiles };
}

/** How the stand-in reads a locator's container: with its SAS, or as a managed identity of the cluster's. */
type LocatorCredential = { readonly sas: string } | { readonly identity: string };

/** The container a locator names, the prefix within it, and how it is read. */
function parseLocator(locator: string): {
  container: string;
  prefix: string;
  credential: LocatorCredential;
} {
  const [address = '', suffix] = locator.split(';', 2);
  let credential: LocatorCredential | undefined;
  if (suffix !== undefined) {
    // Queued ingestion runs later, without the caller's context: the documentation rules impersonation out.
    const identity = /^managed_identity=([A-Za-z0-9-]+)$/i.exec(suffix.trim());
    if (!identity)
      throw bad(
        "A source data locator is read with a SAS or ';managed_identity=<object id|system>'; impersonation and keys are refused (queued ingestion has no user context).",
      );
    credential = { identity: identity[1] ?? '' };
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw bad('A source data locator must be a blob container URL, with a SAS or a managed identity.');
  }
  if (!credential) {
    if (url.search === '')
      throw bad(
        "A source data locator needs a SAS (List and Read rights) in its query, or ';managed_identity=<object id|system>'.",
      );
    credential = { sas: url.search.slice(1) };
  } else if (url.search !== '') throw bad('A locator with a managed identity carries no SAS.');
  const segments = url.pathname.split('/').filter(Boolean);
  // Azurite (an IP or localhost) names the account in the path; Azure in the host.
  const pathStyle = /^(\d+\.){3}\d+$|^localhost$/.test(url.hostname);
  const take = pathStyle ? 2 : 1;
  if (segments.length < take) throw bad('A source data locator must name a container.');
  return {
    container: `${url.origin}/${segments.slice(0, take).join('/')}`,
    prefix: segments.slice(take).join('/'),
    credential,
  };
}

/**
 * A client for the container: by its SAS, or, for a managed identity the database's policy (or the
 * cluster's) allows NativeIngestion, with the key of an account the stand-in knows (its model of the
 * cluster's own access). The blobs listed are then read by the worker with the same identity.
 */
function containerClient(
  deps: RestIngestDeps,
  database: string,
  container: string,
  credential: LocatorCredential,
): { client: ContainerClient; readSuffix: (uri: string) => string } {
  if ('sas' in credential)
    return {
      client: new ContainerClient(`${container}?${credential.sas}`),
      readSuffix: (uri) => `${uri}?${credential.sas}`,
    };
  if (!deps.identityAllowed?.(database, credential.identity))
    throw new StandinHttpError({
      status: 400,
      code: 'BadRequest_InvalidManagedIdentity',
      message: `The managed identity '${credential.identity}' is not allowed NativeIngestion on database '${database}': set it with .alter-merge database ${database} policy managed_identity "[{'ObjectId':'${credential.identity}','AllowedUsages':'NativeIngestion'}]"`,
      permanent: true,
    });
  const account = knownAccount(container, deps.accounts);
  if (!account) throw bad('The locator names a storage account this stand-in does not know.');
  return {
    client: new ContainerClient(container, new StorageSharedKeyCredential(account.name, account.key)),
    readSuffix: (uri) => `${uri};managed_identity=${credential.identity}`,
  };
}

async function listBlobs(
  deps: RestIngestDeps,
  database: string,
  list: ListBlobs,
  cap: number,
): Promise<ListedBlob[]> {
  const max = Math.min(list.maxFiles ?? cap, cap);
  const out: ListedBlob[] = [];
  for (const locator of list.locators) {
    const { container, prefix, credential } = parseLocator(locator);
    const { client, readSuffix } = containerClient(deps, database, container, credential);
    const fullPrefix = `${prefix}${list.prefix ?? ''}`;
    try {
      for await (const blob of client.listBlobsFlat(fullPrefix ? { prefix: fullPrefix } : {})) {
        if (list.suffix !== undefined && !blob.name.endsWith(list.suffix)) continue;
        const uri = `${container}/${blob.name.split('/').map(encodeURIComponent).join('/')}`;
        out.push({ uri, readUrl: readSuffix(uri), size: blob.properties.contentLength ?? 0 });
        if (out.length >= max) return out;
      }
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      throw new StandinHttpError({
        status: 400,
        code: status === 403 ? 'BadRequest_StorageAccessDenied' : 'BadRequest_StorageListingFailed',
        message: `Listing ${container} failed (HTTP ${String(status ?? '?')}): ${'sas' in credential ? 'the SAS needs List and Read rights on the container' : 'the container may not exist'}.`,
        permanent: true,
      });
    }
  }
  return out;
}

/** Runs one of the queued-ingestion commands; undefined when the text is none of them. */
export async function runQueuedIngestCommand(
  deps: RestIngestDeps,
  contextDatabase: string,
  csl: string,
  clientRequestId: string,
): Promise<ResultTable | undefined> {
  const tokens = lex(csl);
  const cursor = new Cursor(tokens);
  if (!cursor.acceptPunct('.')) return undefined;
  if (cursor.acceptWord('list')) {
    if (!cursor.acceptWord('blobs')) return undefined;
    const listed = await listBlobs(deps, contextDatabase, parseListBlobs(cursor), STANDALONE_MAX_FILES);
    return resultTable(
      [
        ['BlobUri', 'string'],
        ['SizeInBytes', 'long'],
        ['CapturedVariables', 'dynamic'],
      ],
      listed.map((b) => [b.uri, b.size, {}]),
    );
  }
  if (!cursor.acceptWord('ingest-from-storage-queued')) return undefined;
  cursor.expectWord('into');
  cursor.expectWord('table');
  let database = contextDatabase;
  if (cursor.isWord('database') && cursor.isPunct('(', 1)) {
    cursor.next();
    cursor.expectPunct('(');
    database = cursor.name(true);
    cursor.expectPunct(')');
    cursor.expectPunct('.');
  }
  const table = cursor.name();
  const flags: Record<string, string> = {};
  while (cursor.peek()?.kind === 'word' && cursor.isPunct('=', 1) && !cursor.isWord('with')) {
    const key = cursor.name().toLowerCase();
    cursor.expectPunct('=');
    flags[key] = value(cursor).toLowerCase();
  }
  const properties: Record<string, unknown> = {};
  if (cursor.acceptWord('with')) {
    cursor.expectPunct('(');
    do {
      const key = cursor.name();
      cursor.expectPunct('=');
      const v = value(cursor);
      properties[key] = v === 'true' ? true : v === 'false' ? false : v;
    } while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  cursor.expectPunct('<|');
  let blobs: ListedBlob[];
  if (cursor.acceptPunct('.')) {
    cursor.expectWord('list');
    cursor.expectWord('blobs');
    blobs = await listBlobs(deps, database, parseListBlobs(cursor), Number.MAX_SAFE_INTEGER);
  } else {
    blobs = [];
    while (!cursor.done) {
      const url = cursor.string();
      blobs.push({ uri: url.split('?')[0] ?? url, readUrl: url, size: 0 });
    }
  }
  if (blobs.length === 0) throw bad('The ingestion source names no blob (the listing found none).');
  // Tags and ingestIfNotExists come as the JSON text of an array, as in every ingestion command.
  for (const key of ['tags', 'ingestIfNotExists'])
    if (typeof properties[key] === 'string')
      try {
        properties[key] = JSON.parse(properties[key]);
      } catch {
        throw bad(`${key} must be the JSON text of an array of strings.`);
      }
  const answer = await submitRest(
    deps,
    database,
    table,
    {
      blobs: blobs.map((b) => ({ url: b.readUrl, ...(b.size > 0 && { rawSize: b.size }) })),
      properties: {
        ...properties,
        enableTracking: true,
        ...(flags.skipbatching === 'true' && { skipBatching: true }),
      },
    },
    Number.MAX_SAFE_INTEGER,
  );
  const id = answer.ingestionOperationId;
  return resultTable(
    [
      ['IngestionOperationId', 'string'],
      ['ClientRequestId', 'string'],
      ['OperationInfo', 'string'],
    ],
    [[id, clientRequestId, `.show queued ingestion operations "${id}"`]],
  );
}
