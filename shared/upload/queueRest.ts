import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { SignedRest, type StorageAuth } from './signedRest';
import { putMessageBody } from './storageRest';

export interface QueueRestOptions {
  /** The queue service endpoint, path-style for emulators: `http://127.0.0.1:10001/devstoreaccount1`. */
  readonly endpoint: string;
  readonly queue: string;
  readonly auth: StorageAuth;
  /** Pipeline policies every request goes through (fault injection in tests). @default none */
  readonly policies?: readonly PipelinePolicy[];
  /** Per-request timeout. @default 30_000 */
  readonly requestTimeoutInMs?: number;
  /** Attempts per operation, for transient failures (5xx, 408, 429, a lost connection). @default 3 */
  readonly maxAttempts?: number;
}

export interface SendMessageOptions {
  /** Seconds before the message can be received. @default 0 */
  readonly visibilityTimeout?: number;
}

/** Sends messages to one of the app's queues. */
export interface MessageSender {
  sendMessage(text: string, options?: SendMessageOptions): Promise<void>;
}

/**
 * Put Message to one of the app's queues as a single signed REST request on the lean HTTP client. A
 * backfill sends one message per blob: through the queue SDK each cost a pipeline, a request serialiser
 * and an XML parse of the answer (which nobody reads), more CPU than the request itself (bench/README.md,
 * 10). Receiving stays with the Functions host and the SDK.
 */
export class QueueRest implements MessageSender {
  private readonly rest: SignedRest;
  private readonly path: string;

  constructor(options: QueueRestOptions) {
    this.rest = new SignedRest({
      endpoint: options.endpoint,
      service: 'queue',
      auth: options.auth,
      apiVersion: '2019-02-02',
      ...(options.policies && { policies: options.policies }),
      ...(options.requestTimeoutInMs !== undefined && { requestTimeoutInMs: options.requestTimeoutInMs }),
      ...(options.maxAttempts !== undefined && { maxAttempts: options.maxAttempts }),
    });
    this.path = `${encodeURIComponent(options.queue)}/messages`;
  }

  /** Put Message: a 404 RestError (QueueNotFound) when the queue is not there. */
  async sendMessage(text: string, options: SendMessageOptions = {}): Promise<void> {
    const delay = options.visibilityTimeout;
    await this.rest.send({
      method: 'POST',
      path: delay ? `${this.path}?visibilitytimeout=${Math.floor(delay)}` : this.path,
      body: putMessageBody(text),
      contentType: 'application/xml',
    });
  }
}
