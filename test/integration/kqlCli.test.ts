import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { formatTable, parseArgs, runKql } from '../../dev/kql';
import { startPrivateStandin, type PrivateStandin } from '../helpers/privateStandin';

let dm: PrivateStandin;
beforeAll(async () => {
  dm = await startPrivateStandin({ accountCount: 1 });
});
afterAll(async () => {
  await dm.stop();
});

describe('npm run kql', () => {
  it('runs commands and queries against the engine and prints an aligned table', async () => {
    const url = dm.standin.engineUrl;
    await runKql({ url, database: 'demo', text: '.create table Cli (id:long, name:string)' });
    await runKql({ url, database: 'demo', text: '.ingest inline into table Cli <|\n1,alpha\n2,beta\n' });
    expect(await runKql({ url, database: 'demo', text: 'Cli | count' })).toBe('Count\n-----\n2    \n(1 row)');
    const out = await runKql({ url, database: 'demo', text: 'Cli' });
    expect(out.split('\n')).toEqual(['id | name ', '---+------', '1  | alpha', '2  | beta ', '(2 rows)']);
  });

  it('reports the service error, and an unreachable engine, in words', async () => {
    await expect(
      runKql({ url: dm.standin.engineUrl, database: 'demo', text: 'Nope | count' }),
    ).rejects.toThrow(/BadRequest_TableNotExist/);
    await expect(runKql({ url: 'http://127.0.0.1:1', database: 'demo', text: 'T' })).rejects.toThrow(
      /is the local stack running/,
    );
  });

  it('does not compile again when the build is current (npm test has just built)', () => {
    const root = join(__dirname, '..', '..');
    const run = spawnSync(process.execPath, ['dev/ensureBuilt.mjs', 'dist/dev/kql.js'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stderr).not.toMatch(/compiling/);
  });

  it('reads its arguments', () => {
    expect(parseArgs(['T', '|', 'count', '--db', 'x'], {})).toEqual({
      text: 'T | count',
      database: 'x',
      url: 'http://127.0.0.1:8080',
    });
    expect(parseArgs(['T'], { KUSTO_ENGINE_URI: 'http://h:1' }).url).toBe('http://h:1');
    expect(() => parseArgs([], {})).toThrow(/Usage/);
    expect(formatTable(['a'], [[{ x: 1 }], [null]])).toBe('a      \n-------\n{"x":1}\n       ');
  });
});
