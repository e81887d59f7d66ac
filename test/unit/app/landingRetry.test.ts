import { IngestAuthError, IngestThrottledError, IngestTransientError } from '../../../shared/errors';
import { retryDecision, type LandingRetryPolicy } from '../../../shared/app/landing/landingRetry';
import { loadConfig } from '../../../shared/app/settings';

const policy: LandingRetryPolicy = { retryForMs: 24 * 3_600_000, firstDelaySeconds: 60 };
const now = Date.parse('2026-06-01T12:00:00Z');
const raised = (ageMs: number) => new Date(now - ageMs);
const down = new IngestTransientError('the ingestion service is unreachable', 'ServiceUnavailable');
const middle = () => 0.5; // no jitter: 0.8 + 0.4 * 0.5 = 1

describe('a landing event that failed: put back for later, or left to the queue', () => {
  it('is left to the queue before its last try: the host tries it again by itself', () => {
    for (const dequeueCount of [1, 2, 4])
      expect(retryDecision(policy, 5, { dequeueCount, raisedAt: raised(0) }, down, now, middle)).toEqual({
        putBack: false,
        reason: 'the queue tries it again',
      });
  });

  it('is put back on its last try when the failure is transient, throttling included', () => {
    expect(retryDecision(policy, 5, { dequeueCount: 5, raisedAt: raised(0) }, down, now, middle)).toEqual({
      putBack: true,
      delaySeconds: 60,
    });
    const throttled = new IngestThrottledError('slow down', 1000);
    expect(
      retryDecision(policy, 5, { dequeueCount: 6, raisedAt: raised(0) }, throttled, now, middle),
    ).toMatchObject({
      putBack: true,
    });
    // A storage SDK error the app did not wrap: classified by its status.
    const busy = Object.assign(new Error('The server is busy.'), { name: 'RestError', statusCode: 503 });
    expect(
      retryDecision(policy, 5, { dequeueCount: 5, raisedAt: raised(0) }, busy, now, middle),
    ).toMatchObject({
      putBack: true,
    });
  });

  it('is never put back for a failure that would only fail again, nor when its try or time is unknown', () => {
    const denied = new IngestAuthError('the identity lacks the Ingestor role', 'Forbidden');
    expect(retryDecision(policy, 5, { dequeueCount: 5, raisedAt: raised(0) }, denied, now, middle)).toEqual({
      putBack: false,
      reason: 'the failure is not transient',
    });
    expect(
      retryDecision(policy, 5, { dequeueCount: undefined, raisedAt: raised(0) }, down, now, middle),
    ).toMatchObject({ putBack: false });
    expect(
      retryDecision(policy, 5, { dequeueCount: 5, raisedAt: undefined }, down, now, middle),
    ).toMatchObject({ putBack: false, reason: 'the event has no time' });
  });

  it('never puts back an event that says it was raised in the future: it would never age out', () => {
    for (const ahead of [6 * 60_000, 365 * 24 * 3_600_000])
      expect(
        retryDecision(policy, 5, { dequeueCount: 5, raisedAt: raised(-ahead) }, down, now, middle),
      ).toEqual({
        putBack: false,
        reason: 'the event says it was raised in the future',
      });
  });

  it('stops once the event is older than the retry window: retries stay bounded', () => {
    expect(
      retryDecision(policy, 5, { dequeueCount: 5, raisedAt: raised(24 * 3_600_000) }, down, now, middle),
    ).toEqual({ putBack: false, reason: 'the event is older than 24 h' });
    expect(
      retryDecision(
        policy,
        5,
        { dequeueCount: 5, raisedAt: raised(24 * 3_600_000 - 1000) },
        down,
        now,
        middle,
      ),
    ).toMatchObject({ putBack: true });
  });

  it('waits about as long as the event has waited already, at least the first delay, at most an hour', () => {
    const delay = (ageMs: number) =>
      retryDecision(policy, 5, { dequeueCount: 5, raisedAt: raised(ageMs) }, down, now, middle);
    expect(delay(10_000)).toEqual({ putBack: true, delaySeconds: 60 });
    expect(delay(5 * 60_000)).toEqual({ putBack: true, delaySeconds: 300 });
    expect(delay(5 * 3_600_000)).toEqual({ putBack: true, delaySeconds: 3600 });
    // An event from a clock a little ahead of ours waits the first delay.
    expect(delay(-60_000)).toEqual({ putBack: true, delaySeconds: 60 });
  });

  it('spreads the waits of events parked together, within a fifth either way', () => {
    const delays = [0, 0.25, 0.75, 0.999].map((r) => {
      const d = retryDecision(policy, 5, { dequeueCount: 5, raisedAt: raised(600_000) }, down, now, () => r);
      return d.putBack ? d.delaySeconds : -1;
    });
    expect(delays).toEqual([480, 540, 660, 720]);
  });

  it('takes its window and first delay from the settings, with documented defaults', () => {
    const base = {
      KUSTO_INGEST_URI: 'https://ingest-x.westeurope.kusto.windows.net',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      LandingStorage: 'UseDevelopmentStorage=true',
    };
    expect(loadConfig(base).landingRetry).toEqual({ retryForMs: 24 * 3_600_000, firstDelaySeconds: 60 });
    expect(loadConfig(base).maxDequeueCount).toBe(5);
    const set = loadConfig({ ...base, LANDING_RETRY_HOURS: '6', LANDING_RETRY_DELAY_SECONDS: '5' });
    expect(set.landingRetry).toEqual({ retryForMs: 6 * 3_600_000, firstDelaySeconds: 5 });
    expect(() => loadConfig({ ...base, LANDING_RETRY_HOURS: '0' })).toThrow(
      /LANDING_RETRY_HOURS must be at least 1/,
    );
  });
});
