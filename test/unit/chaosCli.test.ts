import { parseChaosCli } from '../../dev/chaos/chaosMain';

describe('npm run chaos: the command line', () => {
  it('turns flags into the campaign, with the documented defaults for the rest', () => {
    expect(parseChaosCli(['--items', '300', '--seed', '7', '--kills', '0', '--trace', 'run.log'])).toEqual({
      items: 300,
      seed: 7,
      concurrency: 24,
      azuriteRestarts: 1,
      hostKills: 0,
      outageSeconds: 25,
      traceFile: 'run.log',
    });
  });

  it('answers --help with no campaign', () => {
    expect(parseChaosCli(['--help'])).toBeUndefined();
    expect(parseChaosCli(['-h'])).toBeUndefined();
  });

  it('refuses an unknown flag or a count that is not a whole number, saying which', () => {
    expect(() => parseChaosCli(['--itmes', '5'])).toThrow(/Unknown option '--itmes'/);
    expect(() => parseChaosCli(['--items', 'many'])).toThrow(
      "--items must be a whole number of at least 1, got 'many'",
    );
    expect(() => parseChaosCli(['--items', '0'])).toThrow(/--items must be/);
    expect(() => parseChaosCli(['--outage', '2.5'])).toThrow(/--outage must be/);
  });
});
