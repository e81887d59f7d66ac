import { parseBenchCli } from '../../bench/run';

describe('npm run bench: the command line', () => {
  it('runs every scenario 3 times by default, or the ones named', () => {
    const all = parseBenchCli([]);
    expect(all?.runs).toBe(3);
    expect(all?.scenarios.map((s) => s.name)).toContain('v2');
    expect(all?.json).toBeUndefined();
    const some = parseBenchCli(['--only', 'v2, small', '--runs', '10', '--json', 'out.json']);
    expect(some?.scenarios.map((s) => s.name)).toEqual(['small', 'v2']);
    expect(some).toMatchObject({ runs: 10, json: 'out.json' });
  });

  it('answers --help with no run', () => {
    expect(parseBenchCli(['--help'])).toBeUndefined();
  });

  it('refuses an unknown flag, an unknown scenario or a bad count, saying which', () => {
    expect(() => parseBenchCli(['--run', '5'])).toThrow(/Unknown option '--run'/);
    expect(() => parseBenchCli(['--only', 'v3'])).toThrow(/unknown scenario\(s\) v3; known: small,/);
    expect(() => parseBenchCli(['--runs', '2x'])).toThrow("--runs must be a positive integer, got '2x'");
    expect(() => parseBenchCli(['--runs', '0'])).toThrow(/--runs must be/);
  });
});
