import { downloadBlob, sourcePathOf } from '../blobSource';
import { ingestData, type IngestOutcome } from '../ingestCore';
import { Cursor, lex, syntaxError } from '../kqlLexer';
import { kustoTimespan, resultTable, type ResultTable } from '../resultTable';
import type { CommandContext } from './context';
import { jsonList, prop, withProperties } from './syntax';

/** Whether the command is `.ingest inline` (so the operation log can name it). */
export const isInlineIngest = (csl: string): boolean => /^\.ingest\s+inline\b/i.test(csl);

/** `.ingest into table T (h'url', ...) with (...)` and `.ingest inline into table T [with (...)] <| data`. */
export async function ingestCommand(
  ctx: CommandContext,
  database: string,
  csl: string,
  operationId: string,
): Promise<ResultTable> {
  // `.ingest inline ... <| data`: the data is raw text after `<|`, not tokens.
  const inlineAt = csl.indexOf('<|');
  const head = inlineAt === -1 ? csl : csl.slice(0, inlineAt);
  const cursor = new Cursor(lex(head));
  cursor.expectPunct('.');
  cursor.expectWord('ingest');
  const inline = cursor.acceptWord('inline');
  if (cursor.acceptWord('async'))
    throw syntaxError('.ingest async is not supported locally: use .ingest (synchronous)');
  cursor.expectWord('into');
  cursor.expectWord('table');
  const tableName = cursor.name();
  const sources: string[] = [];
  if (!inline) {
    cursor.expectPunct('(');
    do sources.push(cursor.string());
    while (cursor.acceptPunct(','));
    cursor.expectPunct(')');
  }
  const props = withProperties(cursor);
  cursor.expectEnd();
  const format = (prop(props, 'format') ?? 'csv').toLowerCase();
  const common = {
    database,
    table: tableName,
    format,
    mapping: {
      inline: prop(props, 'ingestionMapping'),
      reference: prop(props, 'ingestionMappingReference') ?? prop(props, 'mappingReference'),
      kind: prop(props, 'ingestionMappingType'),
    },
    ignoreFirstRecord: prop(props, 'ignoreFirstRecord')?.toLowerCase() === 'true',
    tags: jsonList(prop(props, 'tags')),
    ingestIfNotExists: jsonList(prop(props, 'ingestIfNotExists')),
    creationTime: prop(props, 'creationTime'),
    zipPattern: prop(props, 'zipPattern'),
  };
  const started = Date.now();
  const outcomes: { outcome: IngestOutcome; source: string }[] = [];
  if (inline) {
    if (inlineAt === -1) throw syntaxError(".ingest inline needs the data after '<|'");
    const data = Buffer.from(csl.slice(inlineAt + 2).replace(/^[ \t]*\r?\n?/, ''), 'utf8');
    outcomes.push({
      outcome: await ingestData(ctx.store, {
        ...common,
        data,
        sourceName: 'inline',
        sourceLocation: 'inline',
      }),
      source: 'inline',
    });
  } else {
    for (const source of sources) {
      const data = await downloadBlob(source, ctx.accounts);
      const path = sourcePathOf(source);
      outcomes.push({
        outcome: await ingestData(ctx.store, { ...common, data, sourceName: path, sourceLocation: path }),
        source: path,
      });
    }
  }
  const duration = kustoTimespan(Date.now() - started);
  return resultTable(
    [
      ['ExtentId', 'guid'],
      ['ItemLoaded', 'string'],
      ['Duration', 'timespan'],
      ['HasErrors', 'bool'],
      ['OperationId', 'guid'],
    ],
    outcomes
      .filter((o) => o.outcome.extentId)
      .map((o) => [o.outcome.extentId, o.source, duration, false, operationId]),
  );
}
