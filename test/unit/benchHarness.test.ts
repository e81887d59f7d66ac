import { median, perRunRatio, spread } from '../../bench/harness';

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
