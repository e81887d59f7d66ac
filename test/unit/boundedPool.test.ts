import { BoundedPool } from '../../shared/boundedPool';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BoundedPool', () => {
  it('never runs more than its concurrency at once, and drain waits for all', async () => {
    const pool = new BoundedPool(3);
    let running = 0;
    let peak = 0;
    let done = 0;
    for (let i = 0; i < 20; i++)
      await pool.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise((r) => setImmediate(r));
        running -= 1;
        done += 1;
      });
    await pool.drain();
    expect(peak).toBe(3);
    expect(done).toBe(20);
  });

  it('holds the producer back while full', async () => {
    const pool = new BoundedPool(1);
    const first = deferred();
    await pool.run(() => first.promise);
    let secondStarted = false;
    const second = pool.run(() => {
      secondStarted = true;
      return Promise.resolve();
    });
    await new Promise((r) => setImmediate(r));
    expect(secondStarted).toBe(false);
    first.resolve();
    await second;
    expect(secondStarted).toBe(true);
    await pool.drain();
  });

  it('throws the first failure from run and drain, after letting the others finish', async () => {
    const pool = new BoundedPool(2);
    const slow = deferred();
    let slowFinished = false;
    await pool.run(async () => {
      await slow.promise;
      slowFinished = true;
    });
    await pool.run(() => Promise.reject(new Error('boom')));
    await expect(pool.run(() => Promise.resolve())).rejects.toThrow('boom');
    const drained = pool.drain();
    slow.resolve();
    await expect(drained).rejects.toThrow('boom');
    expect(slowFinished).toBe(true);
  });

  it('refuses a concurrency that is not a positive integer', () => {
    expect(() => new BoundedPool(0)).toThrow(RangeError);
    expect(() => new BoundedPool(1.5)).toThrow(/positive integer/);
  });
});
