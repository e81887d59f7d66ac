import { PollBackoff } from '../../dev/host/queueTrigger';

describe("the local host's polling back-off", () => {
  it('doubles the wait after each empty poll up to the longest, and starts over when messages come', () => {
    const backoff = new PollBackoff(50, 500);
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.afterEmpty())).toEqual([50, 100, 200, 400, 500, 500]);
    backoff.afterMessages();
    expect(backoff.afterEmpty()).toBe(50);
  });

  it('never waits longer than the longest, even when the shortest is set above it', () => {
    const backoff = new PollBackoff(800, 500);
    expect([backoff.afterEmpty(), backoff.afterEmpty()]).toEqual([500, 500]);
  });
});
