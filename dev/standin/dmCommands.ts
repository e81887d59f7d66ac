import { randomBytes } from 'node:crypto';
import { showVersion } from './commands/showCommands';
import { Cursor, lex, type Token } from './kqlLexer';
import { StandinHttpError } from './http';
import { applyPipes } from './resultPipes';
import { resultTable, type ResultTable } from './resultTable';
import type { RestOperations } from './restOperations';
import { resourceRows, type ResourceLayout, type StandinAccount } from './storageResources';

export interface DmCommandContext {
  readonly accounts: readonly StandinAccount[];
  readonly layout: ResourceLayout;
  readonly now: Date;
  readonly startedOn: number;
  /** Keeps an identity token it hands out, so the worker can recognise it. */
  readonly issueToken: (token: string) => void;
  /** The REST submissions' operations (`.show queued ingestion operations`, `.cancel …`). */
  readonly operations?: RestOperations;
}

/** An operation id: a string literal, or as written (ids hold `;` and `-`, which the lexer splits). */
function operationId(cursor: Cursor): string {
  if (cursor.peek()?.kind === 'string') return cursor.string();
  const parts: string[] = [];
  while (!cursor.done && !cursor.isWord('with') && !cursor.isPunct(')') && !cursor.isPunct(','))
    parts.push(cursor.next().value);
  if (parts.length === 0) throw new Error('expected an operation id');
  return parts.join('');
}

export const SUPPORTED_DM_COMMANDS = [
  '.get ingestion resources',
  '.get kusto identity token',
  '.show export containers',
  ".refresh database 'D' table 'T' cache ingestionbatchingpolicy",
  '.show version',
  '.show queued ingestion operations',
  '.cancel queued ingestion operation',
  '.list blobs',
  '.ingest-from-storage-queued',
];

function unsupported(tokens: readonly Token[]): never {
  const words: string[] = [];
  for (const t of tokens.slice(1)) {
    if (t.kind !== 'word' || words.length >= 6) break;
    words.push(t.value);
  }
  throw new StandinHttpError({
    status: 400,
    code: 'BadRequest_SyntaxError',
    message: `The command '.${words.join(' ')}' is not supported locally by the Data Management stand-in. It answers: ${SUPPORTED_DM_COMMANDS.join('; ')}.`,
    permanent: true,
  });
}

/** `.refresh database 'D' table 'T' cache ingestionbatchingpolicy`: the stand-in caches no policies. */
function refresh(cursor: Cursor, fail: () => never): ResultTable {
  if (!cursor.acceptWord('database')) fail();
  cursor.name(true);
  if (cursor.acceptWord('table')) cursor.name(true);
  cursor.expectWord('cache');
  if (!cursor.acceptWord('ingestionbatchingpolicy')) fail();
  cursor.expectEnd();
  return resultTable([], []);
}

/** Runs one Data Management command; `.show` results may be piped (`| project`, `| where`, `| count`). */
export function runDmCommand(ctx: DmCommandContext, csl: string): ResultTable {
  const tokens = lex(csl);
  const pipeAt = tokens.findIndex((t) => t.kind === 'punct' && t.value === '|');
  const head = pipeAt === -1 ? tokens : tokens.slice(0, pipeAt);
  const fail = (): never => unsupported(head);
  const cursor = new Cursor(head);
  cursor.expectPunct('.');
  const verb = cursor.next().value.toLowerCase();
  let result: ResultTable | undefined;
  if (verb === 'get' && cursor.acceptWord('ingestion')) {
    cursor.expectWord('resources');
    const rows = resourceRows(ctx.accounts, ctx.layout, ctx.now).map((r) => [r.type, r.url]);
    result = resultTable(
      [
        ['ResourceTypeName', 'string'],
        ['StorageRoot', 'string'],
      ],
      rows,
    );
  } else if (verb === 'get' && cursor.acceptWord('kusto')) {
    cursor.expectWord('identity');
    cursor.expectWord('token');
    cursor.expectEnd();
    const token = `kif-standin-authz.${randomBytes(24).toString('base64url')}`;
    ctx.issueToken(token);
    result = resultTable([['AuthorizationContext', 'string']], [[token]]);
  } else if (verb === 'show' && cursor.acceptWord('export')) {
    cursor.expectWord('containers');
    cursor.expectEnd();
    // The temp containers, with the write rights `.get ingestion resources` gives them.
    const roots = resourceRows(ctx.accounts, ctx.layout, ctx.now).filter((r) => r.type === 'TempStorage');
    result = resultTable(
      [['StorageRoot', 'string']],
      roots.map((r) => [r.url]),
    );
  } else if (verb === 'show' && cursor.acceptWord('version')) {
    cursor.expectEnd();
    result = showVersion('DataManagement', ctx.startedOn);
  } else if (verb === 'refresh') {
    result = refresh(cursor, fail);
  } else if (verb === 'show' && cursor.acceptWord('queued')) {
    cursor.expectWord('ingestion');
    cursor.expectWord('operations');
    const ids: string[] = [];
    if (cursor.acceptPunct('(')) {
      do ids.push(operationId(cursor));
      while (cursor.acceptPunct(','));
      cursor.expectPunct(')');
    } else ids.push(operationId(cursor));
    // `details` (one id only, as documented): a row per blob of the operation.
    const details = ids.length === 1 && cursor.acceptWord('details');
    cursor.expectEnd();
    result = details
      ? resultTable(
          [
            ['IngestionOperationId', 'string'],
            ['BlobURL', 'string'],
            ['IngestionStatus', 'string'],
            ['StartedAt', 'datetime'],
            ['CompletedAt', 'datetime'],
            ['FailedReasons', 'string'],
          ],
          ctx.operations?.details(ids[0] ?? '') ?? [],
        )
      : resultTable(
          [
            ['IngestionOperationId', 'string'],
            ['StartedOn', 'datetime'],
            ['LastUpdatedOn', 'datetime'],
            ['State', 'string'],
            ['Discovered', 'long'],
            ['Pending', 'long'],
            ['Canceled', 'long'],
            ['Ingested', 'long'],
            ['Failed', 'long'],
            ['SampleFailedReasons', 'string'],
            ['Database', 'string'],
            ['Table', 'string'],
          ],
          ctx.operations?.show(ids) ?? [],
        );
  } else if (verb === 'cancel' && cursor.acceptWord('queued')) {
    cursor.expectWord('ingestion');
    cursor.expectWord('operation');
    const id = operationId(cursor);
    let reason = '';
    if (cursor.acceptWord('with')) {
      cursor.expectPunct('(');
      if (!cursor.acceptWord('reason')) fail();
      cursor.expectPunct('=');
      reason = cursor.string();
      cursor.expectPunct(')');
    }
    cursor.expectEnd();
    const canceled = ctx.operations?.cancel(id, reason || 'Canceled by .cancel queued ingestion operation');
    if (!canceled)
      throw new StandinHttpError({
        status: 400,
        code: 'BadRequest_EntityNotFound',
        message: `No queued ingestion operation '${id}'.`,
        permanent: true,
      });
    result = resultTable(
      [
        ['OperationId', 'string'],
        ['StartedOn', 'datetime'],
        ['ReasonPhrase', 'string'],
      ],
      [[id, canceled.startedOn, reason]],
    );
  }
  if (!result) return fail();
  if (pipeAt !== -1 && verb !== 'show') fail();
  return applyPipes(result, tokens.slice(head.length));
}
