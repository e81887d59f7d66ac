import { Cursor, lex, type Token } from '../kqlLexer';
import { analyze } from '../kql/kustoLanguage';
import { KustoError } from '../kustoError';
import { applyPipes, SUPPORTED_COMMAND_PIPES } from '../resultPipes';
import type { ResultTable } from '../resultTable';
import { asOperation } from '../operationLog';
import { runClear } from './clearCommands';
import type { CommandContext } from './context';
import {
  alterIdentityPolicy,
  deleteIdentityPolicy,
  identityPolicyTable,
  isIdentityPolicyCommand,
  parseScope,
} from './identityPolicy';
import { ingestCommand, isInlineIngest } from './ingestCommand';
import { alterPolicy, createDatabase, createTable, dropTables } from './schemaCommands';
import { NODE_ID, runShow } from './showCommands';

export type { CommandContext, NodeInfo } from './context';

export const SUPPORTED_COMMANDS = [
  '.create database D volatile|persist (...) [ifnotexists]',
  '.create table T (c:type, ...)',
  '.create-merge table T (c:type, ...)',
  '.drop table T [ifexists]',
  '.drop tables (A, B) [ifexists]',
  '.create[-or-alter] table T ingestion <kind> mapping "name" \'[...]\'',
  ".alter table T policy ingestionbatching @'{...}'",
  '.alter table T policy streamingingestion enable|disable',
  '.alter database D policy streamingingestion enable|disable',
  '.alter[-merge] cluster|database D policy managed_identity "[{ObjectId, AllowedUsages}]"',
  '.delete cluster|database D policy managed_identity [ObjectId]',
  ".ingest into table T (h'url', ...) with (...)",
  '.ingest inline into table T [with (...)] <| data',
  '.clear database cache streamingingestion schema',
  '.clear table T cache streamingingestion schema',
  '.clear database cache query_results',
  '.show version',
  '.show cluster',
  '.show databases',
  '.show database D schema [as json]',
  '.show database D policy retention|streamingingestion|ingestionbatching|managed_identity',
  '.show cluster policy managed_identity',
  '.show tables',
  '.show table T cslschema',
  '.show table T schema as json',
  ".show table T extents [where tags has|contains 'tag' [and ...]]",
  '.show table T ingestion [<kind>] mappings',
  '.show table T policy retention|streamingingestion|ingestionbatching',
  '.show ingestion failures',
  '.show operations [id | (id, ...)]',
];

/**
 * The command as the error names it: its leading words, up to the first name, literal or bracket
 * (`.show functions`, `.alter table T policy caching`).
 */
function commandName(tokens: readonly Token[]): string {
  const words: string[] = [];
  for (const t of tokens.slice(1)) {
    if (t.kind !== 'word' || words.length >= 6) break;
    words.push(t.value);
  }
  return `.${words.join(' ')}`;
}

function unsupportedCommand(tokens: readonly Token[]): never {
  throw new KustoError(
    'BadRequest_SyntaxError',
    `The command '${commandName(tokens)}' is not supported locally by the Kusto stand-in. It supports: ${SUPPORTED_COMMANDS.join('; ')}; and after a command ${SUPPORTED_COMMAND_PIPES}.`,
    400,
  );
}

/**
 * The operation alias `.show operations` lists for a command: the entity, what was done to it, and for
 * ingestion Kusto's own names.
 */
function operationAlias(csl: string, tokens: readonly Token[]): string {
  if (/^\.ingest\b/i.test(csl)) return isInlineIngest(csl) ? 'DataIngestInline' : 'DataIngestPull';
  const verb = (tokens[1]?.value ?? '').toLowerCase();
  const entity = (tokens[2]?.value ?? '').toLowerCase();
  const pascal = (w: string) =>
    w
      .split('-')
      .map((p) => (p[0] ?? '').toUpperCase() + p.slice(1))
      .join('');
  const policyAt = tokens.findIndex((t) => t.kind === 'word' && t.value.toLowerCase() === 'policy');
  const policy = policyAt === -1 ? '' : `Policy${pascal(tokens[policyAt + 1]?.value.toLowerCase() ?? '')}`;
  const mapping = tokens.some((t) => t.kind === 'word' && t.value.toLowerCase() === 'mapping')
    ? 'IngestionMapping'
    : '';
  return `${pascal(entity)}${mapping}${policy}${pascal(verb)}`;
}

/** Runs one control command: one result table, through any `| project`, `| where`, `| count` after it. */
export async function runCommand(ctx: CommandContext, database: string, csl: string): Promise<ResultTable> {
  const text = csl.trim();
  // Kusto's parser checks the command's syntax; what it means is the stand-in's to run (or refuse).
  analyze(text, database, [], false);
  if (/^\.ingest\b/i.test(text)) {
    return recorded(ctx, database, text, lex(text.split('<|')[0] ?? text), (operationId) =>
      ingestCommand(ctx, database, text, operationId),
    );
  }
  const tokens = lex(text);
  const pipeAt = tokens.findIndex((t) => t.kind === 'punct' && t.value === '|');
  const head: Token[] = pipeAt === -1 ? tokens : tokens.slice(0, pipeAt);
  const pipes: Token[] = pipeAt === -1 ? [] : tokens.slice(pipeAt);
  const unsupported = (): never => unsupportedCommand(head);
  const isShow = head[1]?.kind === 'word' && head[1].value.toLowerCase() === 'show';
  if (pipes.length > 0 && !isShow)
    throw new KustoError(
      'BadRequest_SyntaxError',
      `Piping the result of '${commandName(head)}' is not supported locally: the Kusto stand-in pipes the results of .show commands.`,
      400,
    );
  // .show commands change nothing: they are not operations.
  if (isShow) return applyPipes(runHead(ctx, database, new Cursor(head), unsupported), pipes);
  return recorded(ctx, database, text, head, () =>
    Promise.resolve().then(() => runHead(ctx, database, new Cursor(head), unsupported)),
  );
}

/** Runs a command that changes something, logged for `.show operations`, failed or not. */
function recorded(
  ctx: CommandContext,
  database: string,
  csl: string,
  tokens: readonly Token[],
  run: (operationId: string) => Promise<ResultTable>,
): Promise<ResultTable> {
  return asOperation(ctx.store, operationAlias(csl, tokens), database, run, {
    // A command the stand-in cannot parse or does not know never became an operation.
    notAnOperation: (e) => e instanceof KustoError && e.code === 'BadRequest_SyntaxError',
  });
}

function runHead(
  ctx: CommandContext,
  database: string,
  cursor: Cursor,
  unsupported: () => never,
): ResultTable {
  const { store } = ctx;
  cursor.expectPunct('.');
  const verb = cursor.next().value.toLowerCase();
  if (isIdentityPolicyCommand(cursor)) {
    if (verb === 'show') {
      const scope = parseScope(store, cursor);
      cursor.expectWord('policy');
      cursor.expectWord('managed_identity');
      cursor.expectEnd();
      return identityPolicyTable(store, scope);
    }
    if (verb === 'alter' || verb === 'alter-merge')
      return alterIdentityPolicy(store, cursor, verb === 'alter-merge');
    if (verb === 'delete') return deleteIdentityPolicy(store, cursor);
  }
  if (verb === 'show') return runShow(ctx, database, cursor, unsupported);
  if (verb === 'clear') return runClear(store, database, cursor, NODE_ID, unsupported);
  if (verb === 'create' && cursor.acceptWord('database')) return createDatabase(store, cursor);
  if (
    (verb === 'create' || verb === 'create-merge' || verb === 'create-or-alter') &&
    cursor.acceptWord('table')
  )
    return createTable(store, database, verb, cursor);
  if (verb === 'drop') return dropTables(store, database, cursor, unsupported);
  if (verb === 'alter' || verb === 'alter-merge') return alterPolicy(store, database, cursor, unsupported);
  return unsupported();
}
