import { failuresCsv, parseCli, progressLine } from '../../dev/backfill';

describe('npm run backfill: the command line', () => {
  it('turns flags into the job, with the app URL and key from flags or the environment', () => {
    const cli = parseCli(
      [
        '--account-url',
        'https://archive.blob.core.windows.net',
        '--container',
        'exports',
        '--prefix',
        'exports/',
        '--include',
        '**/*.csv',
        '--include',
        '**/*.json',
        '--database',
        'Ops',
        '--table',
        'Events',
        '--creation-time-pattern',
        "yyyy'/'MM'/'dd",
        '--tags',
        'a, b',
        '--limit',
        '500',
        '--max-blobs-per-second',
        '20',
        '--wait',
      ],
      { KIF_APP_URL: 'https://func-x.azurewebsites.net/', KIF_FUNCTION_KEY: 'k', KIF_OPERATOR_TOKEN: 't' },
    );
    expect(cli).toEqual({
      url: 'https://func-x.azurewebsites.net',
      key: 'k',
      token: 't',
      wait: true,
      failuresCsv: undefined,
      job: {
        accountUrl: 'https://archive.blob.core.windows.net',
        container: 'exports',
        prefix: 'exports/',
        include: ['**/*.csv', '**/*.json'],
        database: 'Ops',
        table: 'Events',
        creationTimePattern: "yyyy'/'MM'/'dd",
        tags: ['a', 'b'],
        limit: 500,
        maxBlobsPerSecond: 20,
      },
    });
    expect(parseCli(['--dry-run'], {})).toMatchObject({
      url: 'http://127.0.0.1:7071',
      wait: true,
      job: { dryRun: true },
    });
  });

  it('refuses what it cannot read', () => {
    expect(() => parseCli(['--limit', 'many'], {})).toThrow(/--limit must be a positive number/);
    expect(() => parseCli(['--frobnicate'], {})).toThrow(/frobnicate/);
  });

  it('draws progress with the rate and the time left, and says when the count may still grow', () => {
    const counts = {
      pages: 3,
      matched: 1000,
      skipped: 100,
      queued: 900,
      succeeded: 300,
      failed: 0,
      bytes: 5e6,
    };
    expect(progressLine(counts, 10, true)).toBe(
      'listed 1000 blobs (5.0 MB), queued 900, ingested 300, failed 0, skipped 100, 40.0/s, ETA 0m15s',
    );
    expect(progressLine(counts, 10, false)).toMatch(/^listed 1000\+ blobs .* ETA 0m15s\+$/);
    expect(progressLine(counts, 10, true, 10)).toMatch(/^\[####\.\.\.\.\.\.\] 40% listed/);
    expect(progressLine({ ...counts, succeeded: 0, skipped: 0 }, 10, true)).toMatch(/0\.0\/s, ETA \?$/);
  });

  it('writes the failures report as CSV, quoting what needs it', () => {
    expect(
      failuresCsv([
        {
          source: 'https://a/b.csv',
          errorCode: 'Stream_WrongNumberOfFields',
          details: 'record 2, has "3" fields',
          sourceId: 'id1',
        },
      ]),
    ).toBe(
      'source,errorCode,reason,sourceId\nhttps://a/b.csv,Stream_WrongNumberOfFields,"record 2, has ""3"" fields",id1',
    );
  });
});
