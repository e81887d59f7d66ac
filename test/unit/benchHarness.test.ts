import { childFailure, median, perRunRatio, spread } from '../../bench/harness';

describe('bench harness: medians and per-run ratios', () => {
  it('takes the median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('rates ours against the ceiling run beside it, so one stalled run moves one ratio only', () => {
    // Run 2 of the ceiling stalled (50): the per-run median is still 0.9.
    const note = perRunRatio([90, 45, 92, 88, 90], [100, 50, 100, 100, 100]);
    expect(note).toBe('ours/ceiling per run: median 0.90, spread 0.88-0.92, 5 runs');
    expect(spread([])).toBe('');
  });
});

describe('bench harness: a failed child', () => {
  it('shows the message of the error it threw, not the stack frames under it', () => {
    const stderr = [
      'progress: 300 of 1000',
      'Error: measures the app on v1, not KUSTO_INGEST_PROTOCOL=v2: unset it',
      '    at protocolOf (/x/bench/children/landingHost.js:12:11)',
      '    at main (/x/bench/children/landingHost.js:40:3)',
      '    at Object.<anonymous> (/x/bench/children/landingHost.js:90:1)',
      '    at Module._compile (node:internal/modules/cjs/loader:1554:14)',
      '    at Module.load (node:internal/modules/cjs/loader:1289:32)',
      '',
    ].join('\n');
    expect(childFailure(stderr)).toBe(
      'Error: measures the app on v1, not KUSTO_INGEST_PROTOCOL=v2: unset it',
    );
  });

  it('keeps the last lines of plain output, and says when there was none', () => {
    expect(childFailure(['a', 'b', 'c', 'd', 'e', 'f', 'g'].join('\n'), 3)).toBe('e | f | g');
    expect(childFailure('\n   \n')).toBe('(nothing on stderr)');
  });
});

describe('bench harness: per-run ratios of another pair', () => {
  it('names the pair it was given', () => {
    expect(perRunRatio([110, 100], [100, 100], 'v2/v1')).toBe(
      'v2/v1 per run: median 1.05, spread 1.00-1.10, 2 runs',
    );
  });
});
