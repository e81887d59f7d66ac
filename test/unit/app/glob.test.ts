import picomatch from 'picomatch';
import { IngestValidationError } from '../../../shared/errors';
import { DEFAULT_LANDING_EXCLUDE } from '../../../shared/app/landing/landingFilter';
import { compileGlob, globList, GLOB_LIMITS } from '../../../shared/app/routing/glob';

const matches = (pattern: string, path: string) => compileGlob(pattern).matches(path);

describe('globs over blob paths', () => {
  // Every form the docs and rules files show: `*`, `**`, `?`, braces, character classes.
  it.each([
    ['*.csv', 'a.csv', true],
    ['*.csv', 'dir/a.csv', false],
    ['*.csv', '.hidden.csv', true],
    ['**', 'a/b/c.json', true],
    ['exports/**/*.json', 'exports/2024/01/a.json', true],
    ['exports/**/*.json', 'exports/a.json', true],
    ['exports/**/*.json', 'exports/a.csv', false],
    ['drafts/**', 'drafts/x/y.csv', true],
    ['drafts/**', 'drafts', true],
    ['drafts/**', 'draftsx/y.csv', false],
    ['**/_temporary/**', '_temporary/part-0', true],
    ['**/_temporary/**', 'out/_temporary/0/part-0', true],
    ['**/_SUCCESS', 'out/2024/_SUCCESS', true],
    ['**/_committed_*', 'out/_committed_123', true],
    ['**/*.crc', 'out/.part-0.crc', true],
    ['day-??.csv', 'day-01.csv', true],
    ['day-??.csv', 'day-1.csv', false],
    ['a?c', 'a/c', false],
    ['{logs,metrics}/*.json', 'metrics/a.json', true],
    ['{logs,metrics}/*.json', 'traces/a.json', false],
    ['x/{a,b/{c,d}}/y', 'x/b/d/y', true],
    ['x/{a,b/{c,d}}/y', 'x/b/e/y', false],
    ['part-[0-9].csv', 'part-7.csv', true],
    ['part-[0-9].csv', 'part-x.csv', false],
    ['part-[!0-9].csv', 'part-x.csv', true],
    ['part-[^0-9].csv', 'part-7.csv', false],
    ['[ab]/c', '/c', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['{a,b', '{a,b', true],
    ['./top/*.csv', 'top/a.csv', true],
  ])('%s against %s: %s', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  it('reads the default exclude list as before', () => {
    const excluded = globList(DEFAULT_LANDING_EXCLUDE);
    expect(excluded('2024/01/_SUCCESS')).toBe(true);
    expect(excluded('2024/01/part.csv.tmp')).toBe(true);
    expect(excluded('2024/01/part.csv')).toBe(false);
  });

  it('agrees with picomatch (dot: true), which it replaces, on a seeded corpus of patterns and paths', () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pieces = [
      'a',
      'b',
      'c',
      '/',
      '*',
      '**',
      '?',
      '.',
      '_',
      '{a,b}',
      '{a/b,c}',
      '{c,a}',
      '{a,{b,c}/}',
      '[ab]',
      '[a-c]',
      '/**/',
      '**/',
      '/**',
      '\\*',
    ];
    const chars = 'abc/._*';
    let compared = 0;
    const differ: string[] = [];
    for (let i = 0; i < 30_000; i++) {
      let pattern = '';
      for (let j = 1 + next(7); j > 0; j--) pattern += pieces[next(pieces.length)] ?? '';
      let path = '';
      for (let j = 1 + next(8); j > 0; j--) path += chars[next(chars.length)] ?? '';
      // Blob paths have no empty, `.` or `..` segments; picomatch reads a trailing `/**` after a wildcard
      // segment differently from one after a literal (`a/**` matches `a`, `*/**` does not match `a`): here
      // both match the folder itself.
      if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) continue;
      if (/\*\/\*{2,}$/.test(pattern) || pattern.includes('//')) continue;
      compared++;
      if (picomatch.isMatch(path, pattern, { dot: true }) !== matches(pattern, path))
        differ.push(`${pattern} ${path}`);
    }
    expect(compared).toBeGreaterThan(10_000);
    expect(differ).toEqual([]);
  });

  it('matches in time linear in the path: patterns that make a backtracking matcher run for minutes', () => {
    // picomatch's regex ran past 120 s on this pattern and a 40-character name (the security review).
    const glob = compileGlob('*a*a*a*a*a*a*a*a*a*a*a*a*a*c');
    expect(glob.matches('a'.repeat(40))).toBe(false);
    expect(glob.matches('a'.repeat(28) + 'b'.repeat(4))).toBe(false);
    expect(glob.matches('a'.repeat(100_000))).toBe(false);
    expect(glob.matches(`${'a'.repeat(13)}c`)).toBe(true);
    expect(compileGlob('**/**/**/**/**/**/**/**/x').matches(`${'a/'.repeat(5_000)}y`)).toBe(false);
  });

  it.each([
    ['longer than the limit', `${'a'.repeat(GLOB_LIMITS.maxLength)}*`, /at most 256 are allowed/],
    [
      'more wildcards than the limit',
      '*a'.repeat(GLOB_LIMITS.maxWildcards + 1),
      /at most 16 \(\*, \*\* and \?\)/,
    ],
    ['empty', '', /is empty/],
  ])('refuses a pattern %s, naming the limit', (_name, pattern, message) => {
    expect(() => compileGlob(pattern)).toThrow(IngestValidationError);
    expect(() => compileGlob(pattern)).toThrow(message);
  });
});
