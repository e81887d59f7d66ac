import { IngestResourceError } from '../../../shared/errors';
import type { Logger } from '../../../shared/log';
import { parseIngestionResources } from '../../../shared/resources/ingestionResources';

function collectingLogger() {
  const warnings: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (m) => warnings.push(m),
    error: () => undefined,
  };
  return { logger, warnings };
}

const table = (rows: string[][]) => ({
  tableName: 'Table_0',
  columns: ['ResourceTypeName', 'StorageRoot'],
  rows,
});

describe('parseIngestionResources', () => {
  it('sorts the rows by kind and ignores unknown kinds', () => {
    const { logger } = collectingLogger();
    const resources = parseIngestionResources(
      table([
        ['SecuredReadyForAggregationQueue', 'https://a.queue.core.windows.net/q1?sig=1'],
        ['SecuredReadyForAggregationQueue', 'https://b.queue.core.windows.net/q1?sig=2'],
        ['TempStorage', 'https://a.blob.core.windows.net/t1?sig=3'],
        ['IngestionsStatusTable', 'https://a.table.core.windows.net/ingestionsstatus?sig=4'],
        ['SuccessfulIngestionsQueue', 'https://a.queue.core.windows.net/ok?sig=5'],
        ['FailedIngestionsQueue', 'https://a.queue.core.windows.net/failed?sig=6'],
        ['SomethingNew', 'https://a.blob.core.windows.net/x?sig=7'],
      ]),
      logger,
    );
    expect(resources.queues.map((q) => q.accountName)).toEqual(['a', 'b']);
    expect(resources.containers.map((c) => c.name)).toEqual(['t1']);
    expect(resources.statusTables.map((t) => t.name)).toEqual(['ingestionsstatus']);
    expect(resources.successQueues.map((q) => q.name)).toEqual(['ok']);
    expect(resources.failureQueues.map((q) => q.name)).toEqual(['failed']);
  });

  it('skips a malformed URL with a warning that does not leak its SAS', () => {
    const { logger, warnings } = collectingLogger();
    const resources = parseIngestionResources(
      table([
        ['SecuredReadyForAggregationQueue', 'https://a.queue.core.windows.net/q1?sig=1'],
        ['TempStorage', 'https://a.blob.core.windows.net/?sig=SECRET'],
        ['TempStorage', 'https://a.blob.core.windows.net/t1?sig=3'],
      ]),
      logger,
    );
    expect(resources.containers).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain('SECRET');
  });

  it('fails with a resource error that says what to check when queues or containers are missing', () => {
    const { logger } = collectingLogger();
    expect(() =>
      parseIngestionResources(table([['TempStorage', 'https://a.blob.core.windows.net/t1?sig=3']]), logger),
    ).toThrow(/no ingestion queue/);
    expect(() => parseIngestionResources(undefined, logger)).toThrow(IngestResourceError);
    expect(() => parseIngestionResources({ tableName: 'x', columns: ['Other'], rows: [] }, logger)).toThrow(
      /ingest- endpoint|ingest-\)/,
    );
  });
});
