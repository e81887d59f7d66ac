import { classify, isTransient } from '../../errors';
import type { Logger } from '../../log';
import type { AppConfig } from '../settings';

// A landing event's tries are the queue's: the host hands a failed message back after its visibility
// timeout and parks it in the poison queue after maxDequeueCount tries. Five tries over a few minutes are
// too few for an outage of the ingestion service (a new instance has no cached ingestion resources), and a
// parked event waits for an operator. So an event that fails for a transient reason on its last try is put
// back on the queue, to be tried again later, for as long as LANDING_RETRY_HOURS allows; only then, or when
// it cannot be put back, does it go to the poison queue.

/** When a landing event is put back rather than parked. */
export interface LandingRetryPolicy {
  /** How long after it was raised an event is still put back. @default 24 h (LANDING_RETRY_HOURS) */
  readonly retryForMs: number;
  /** The shortest wait before the event is tried again; later waits grow with its age, up to an hour. @default 60 s */
  readonly firstDelaySeconds: number;
}

const LONGEST_DELAY_SECONDS = 3600;
/** How far ahead of ours an event's clock may be and still count (Event Grid stamps events itself). */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export type RetryDecision =
  | { readonly putBack: true; readonly delaySeconds: number }
  | { readonly putBack: false; readonly reason: string };

/**
 * Whether a failed delivery of a landing event is put back on the queue, and after how long: only on its
 * last try (earlier tries the host repeats by itself), only for a transient failure (anything else would
 * fail again), only while the event is younger than the retry window (so retries stay bounded). The wait
 * is about as long as the event has waited already (doubling from one put-back to the next), at least
 * firstDelaySeconds, at most an hour, with jitter so that events parked together do not return together.
 */
export function retryDecision(
  policy: LandingRetryPolicy,
  maxDequeueCount: number,
  delivery: { readonly dequeueCount: number | undefined; readonly raisedAt: Date | undefined },
  error: unknown,
  now: number,
  random: () => number = Math.random,
): RetryDecision {
  if (delivery.dequeueCount === undefined) return { putBack: false, reason: 'the try is not counted' };
  if (delivery.dequeueCount < maxDequeueCount) return { putBack: false, reason: 'the queue tries it again' };
  if (!isTransient(error)) return { putBack: false, reason: 'the failure is not transient' };
  if (delivery.raisedAt === undefined) return { putBack: false, reason: 'the event has no time' };
  // A time ahead of ours by more than clocks drift apart would never age out of the window: not trusted.
  if (delivery.raisedAt.getTime() - now > MAX_CLOCK_SKEW_MS)
    return { putBack: false, reason: 'the event says it was raised in the future' };
  const ageMs = Math.max(0, now - delivery.raisedAt.getTime());
  if (ageMs >= policy.retryForMs)
    return {
      putBack: false,
      reason: `the event is older than ${Math.round(policy.retryForMs / 3_600_000)} h`,
    };
  const base = Math.min(LONGEST_DELAY_SECONDS, Math.max(policy.firstDelaySeconds, ageMs / 1000));
  const jittered = base * (0.8 + 0.4 * random());
  return { putBack: true, delaySeconds: Math.max(1, Math.round(Math.min(jittered, LONGEST_DELAY_SECONDS))) };
}

/** What a put-back needs of the app: its settings and its clock. */
export interface PutBackPorts {
  readonly config: Pick<AppConfig, 'landingRetry' | 'maxDequeueCount'>;
  readonly clock: () => number;
}

/**
 * A failed delivery sent again, hidden for a while, when `retryDecision` says so: the wait in seconds, or
 * undefined when it is not put back (or could not be: then `event`Failed is logged, and the caller throws
 * as without this, so the host parks the message). A send whose answer was lost may leave it twice on the
 * queue: every caller's work is idempotent.
 */
export async function putBack(
  ctx: PutBackPorts,
  log: Logger,
  delivery: { readonly dequeueCount: number | undefined; readonly raisedAt: Date | undefined },
  error: unknown,
  send: (delaySeconds: number) => Promise<unknown>,
  said: { readonly event: string; readonly source: string },
): Promise<number | undefined> {
  const decision = retryDecision(
    ctx.config.landingRetry,
    ctx.config.maxDequeueCount,
    delivery,
    error,
    ctx.clock(),
  );
  if (!decision.putBack) return undefined;
  try {
    await send(decision.delaySeconds);
  } catch (e) {
    log.warn(
      JSON.stringify({ event: `${said.event}Failed`, source: said.source, message: classify(e).message }),
    );
    return undefined;
  }
  log.warn(
    JSON.stringify({
      event: said.event,
      source: said.source,
      tries: delivery.dequeueCount,
      nextTryInSeconds: decision.delaySeconds,
      reason: classify(error).message,
    }),
  );
  return decision.delaySeconds;
}
