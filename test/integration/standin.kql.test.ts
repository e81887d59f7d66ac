import { kqlWarmUpMs } from '../../dev/standin/kql/kustoLanguage';
import { engine } from '../helpers/engine';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';
import {
  CORPUS,
  EVENTS,
  EVENTS_SCHEMA,
  expectCorpusResult,
  jsonLines,
  USERS,
  USERS_SCHEMA,
} from '../unit/standin/kqlCorpus';

let dm: PrivateStandin;
let kusto: ReturnType<typeof engine>;
let warmUpBeforeStart: number | undefined;
let warmUpAtStart: number | undefined;

beforeAll(async () => {
  warmUpBeforeStart = kqlWarmUpMs();
  dm = await startPrivateStandin({ accountCount: 1 });
  warmUpAtStart = kqlWarmUpMs();
  kusto = engine(dm.standin.engineUrl);
  await kusto.mgmt(`.create table Events ${EVENTS_SCHEMA}`);
  await kusto.mgmt(`.create table Users ${USERS_SCHEMA}`);
  await kusto.mgmt(
    `.ingest inline into table Events with (format='multijson') <| ${jsonLines(EVENTS_SCHEMA, EVENTS)}`,
  );
  await kusto.mgmt(
    `.ingest inline into table Users with (format='multijson') <| ${jsonLines(USERS_SCHEMA, USERS)}`,
  );
});
afterAll(async () => {
  await dm.stop();
});

describe('KQL through the engine endpoints', () => {
  it("loads Kusto's parser once, when it starts, so the first query does not pay for it", async () => {
    expect(warmUpBeforeStart).toBeUndefined();
    expect(warmUpAtStart).toBeGreaterThan(0);
    const timed = async () => {
      const started = performance.now();
      const result = await kusto.query('Events | summarize n = count() by level | order by n desc');
      expect(result.objects[0]).toEqual({ level: 'error', n: 3 });
      return performance.now() - started;
    };
    const first = await timed();
    const later: number[] = [];
    for (let i = 0; i < 9; i++) later.push(await timed());
    later.sort((a, b) => a - b);
    console.log(
      `KQL: first query ${first.toFixed(1)} ms, later queries median ${(later[4] ?? 0).toFixed(1)} ms after the parser's warm-up at start (${(warmUpAtStart ?? 0).toFixed(0)} ms)`,
    );
  });

  it.each(CORPUS.map((c) => [c.q, c] as const))('v2 answers %s', async (_q, c) => {
    expectCorpusResult(await kusto.query(c.q), c);
  });

  it('v1 answers with the same names and both type spellings', async () => {
    const response = await fetch(`${dm.standin.engineUrl}/v1/rest/query`, {
      method: 'POST',
      body: JSON.stringify({
        db: 'demo',
        csl: 'Events | summarize avg(score), max(ts) by ok | order by ok asc',
      }),
    });
    const body = (await response.json()) as { Tables: { Columns: unknown[]; Rows: unknown[][] }[] };
    expect(body.Tables[0]?.Columns).toEqual([
      { ColumnName: 'ok', DataType: 'Boolean', ColumnType: 'bool' },
      { ColumnName: 'avg_score', DataType: 'Double', ColumnType: 'real' },
      { ColumnName: 'max_ts', DataType: 'DateTime', ColumnType: 'datetime' },
    ]);
    expect(body.Tables[0]?.Rows).toEqual([
      [false, 4, '2024-01-03T18:45:00Z'],
      [true, 1.5, '2024-01-04T00:30:00Z'],
    ]);
  });
});
