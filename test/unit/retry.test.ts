import { IngestThrottledError, IngestTransientError, IngestValidationError } from '../../shared/errors';
import { retryDelayInMs, withRetry } from '../../shared/retry';

function recorder() {
  const delays: number[] = [];
  return { delays, sleep: (ms: number) => (delays.push(ms), Promise.resolve()) };
}

describe('withRetry', () => {
  it('returns the first success and stops retrying', async () => {
    const { delays, sleep } = recorder();
    let calls = 0;
    const result = await withRetry(
      () => {
        calls++;
        if (calls < 3) throw new IngestTransientError('busy', 'ServiceUnavailable');
        return Promise.resolve('done');
      },
      { maxAttempts: 5, baseDelayInMs: 100, random: () => 0.5, sleep },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(delays).toEqual([50, 100]); // half of 100·2^0, half of 100·2^1
  });

  it('never retries a permanent error', async () => {
    let calls = 0;
    const error = new IngestValidationError('bad', 'InvalidName');
    await expect(
      withRetry(() => {
        calls++;
        throw error;
      }, recorder()),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('throws the last error after the last attempt, with the earlier ones as its cause', async () => {
    let calls = 0;
    const error = await withRetry(
      () => {
        calls++;
        throw new IngestTransientError(`attempt ${calls}`, 'ServiceUnavailable');
      },
      { maxAttempts: 3, ...recorder() },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(IngestTransientError);
    expect((error as Error).message).toBe('attempt 3');
    const earlier = ((error as Error).cause as AggregateError).errors as Error[];
    expect(earlier.map((e) => e.message)).toEqual(['attempt 1', 'attempt 2']);
  });

  it('waits at least as long as Retry-After asks', async () => {
    const { delays, sleep } = recorder();
    let calls = 0;
    await withRetry(
      () => {
        if (calls++ === 0) throw new IngestThrottledError('slow down', 4000);
        return Promise.resolve(1);
      },
      { baseDelayInMs: 10, maxDelayInMs: 100, random: () => 0.9, sleep },
    );
    expect(delays).toEqual([4000]);
  });

  it('does not wait before immediate retries (failover), then backs off', async () => {
    const { delays, sleep } = recorder();
    await withRetry(() => Promise.reject(new IngestTransientError('x', 'NetworkError')), {
      maxAttempts: 4,
      immediateRetries: 2,
      baseDelayInMs: 100,
      random: () => 1,
      sleep,
    }).catch(() => undefined);
    expect(delays).toEqual([400]); // attempts 2 and 3 at once; before attempt 4: 100·2^2
  });

  it('stops at once when cancelled, with the abort reason', async () => {
    const controller = new AbortController();
    let calls = 0;
    const promise = withRetry(
      () => {
        calls++;
        controller.abort(new Error('cancelled by caller'));
        throw new IngestTransientError('x', 'NetworkError');
      },
      { abortSignal: controller.signal, ...recorder() },
    );
    await expect(promise).rejects.toThrow('cancelled by caller');
    expect(calls).toBe(1);
  });

  it('cancels a real backoff sleep', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop waiting')), 20);
    const started = Date.now();
    await expect(
      withRetry(() => Promise.reject(new IngestTransientError('x', 'NetworkError')), {
        abortSignal: controller.signal,
        baseDelayInMs: 60_000,
        random: () => 1,
      }),
    ).rejects.toThrow('stop waiting');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('rejects a nonsensical attempt count', async () => {
    await expect(withRetry(() => Promise.resolve(1), { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
  });
});

describe('retryDelayInMs', () => {
  const options = { baseDelayInMs: 500, maxDelayInMs: 10_000 };
  it('is bounded by the exponential ceiling and the maximum', () => {
    const e = new IngestTransientError('x', 'NetworkError');
    expect(retryDelayInMs(1, e, { ...options, random: () => 0.999 })).toBeLessThan(500);
    expect(retryDelayInMs(3, e, { ...options, random: () => 0.999 })).toBeLessThan(2000);
    expect(retryDelayInMs(10, e, { ...options, random: () => 0.999 })).toBeLessThan(10_000);
    expect(retryDelayInMs(10, e, { ...options, random: () => 0 })).toBe(0);
  });

  it('caps an absurd Retry-After at five minutes', () => {
    const e = new IngestThrottledError('x', 3_600_000);
    expect(retryDelayInMs(1, e, { ...options, random: () => 0 })).toBe(300_000);
  });
});
