import { IngestValidationError } from '../errors';
import type { Logger } from '../log';
import { withRetry } from '../retry';

/** How long one webhook POST may take before it is abandoned and tried again. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * POSTs one JSON body to a webhook, with bounded, jittered retries. Never throws: the event is in the log
 * (and for failures in the table) already, so a webhook outage is logged as `WebhookFailed` and the caller
 * goes on. The body carries a stable key for the receiver to de-duplicate a repeat.
 */
export async function postWebhook(
  url: string,
  body: string,
  logger: Logger,
  about: { readonly sourceId: string; readonly event: string },
): Promise<boolean> {
  try {
    await withRetry(async (_, signal) => {
      const timeout = AbortSignal.timeout(ATTEMPT_TIMEOUT_MS);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        // A redirect is not followed: the body would go wherever the receiver (or whoever answers for it)
        // points, and the settings named one place. It is a failure, and not retried.
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      if (response.status >= 300 && response.status < 400)
        throw new IngestValidationError(
          `the webhook answered a redirect (HTTP ${response.status}), which is not followed: set the URL it redirects to`,
          'InvalidProperty',
        );
      if (!response.ok)
        throw Object.assign(new Error(`the webhook answered HTTP ${response.status}`), {
          statusCode: response.status,
        });
    });
    return true;
  } catch (e) {
    // The URL is never logged: it may carry the receiver's key.
    logger.error(
      JSON.stringify({
        event: 'WebhookFailed',
        about: about.event,
        sourceId: about.sourceId,
        details: (e as Error).message,
      }),
    );
    return false;
  }
}
