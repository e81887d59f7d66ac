import { createHttpHeaders, type PipelinePolicy, type PipelineRequest } from '@azure/core-rest-pipeline';

export interface FaultPlan {
  /** Which requests fail; all by default. */
  readonly when?: (request: PipelineRequest) => boolean;
  /** The status answered instead of calling the service. @default 503 */
  readonly status?: number;
  /** How many matching requests fail; then they pass. @default Infinity */
  readonly times?: number;
}

/** Counts one account's storage requests and fails the chosen ones, at the transport: the client never knows. */
export class StorageFaults {
  readonly seen: string[] = [];
  readonly failed: string[] = [];
  private remaining: number;

  constructor(private readonly plan: FaultPlan = {}) {
    this.remaining = plan.times ?? Number.POSITIVE_INFINITY;
  }

  policy(): PipelinePolicy {
    return {
      name: 'testFaults',
      sendRequest: async (request, next) => {
        const what = `${request.method} ${new URL(request.url).pathname}${new URL(request.url).search.includes('comp=block&') ? ' (block)' : ''}`;
        this.seen.push(what);
        if (this.remaining > 0 && (this.plan.when?.(request) ?? true)) {
          this.remaining -= 1;
          this.failed.push(what);
          return {
            request,
            status: this.plan.status ?? 503,
            headers: createHttpHeaders({
              'x-ms-error-code': 'ServerBusy',
              'content-type': 'application/xml',
            }),
            bodyAsText:
              '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>injected by the test</Message></Error>',
          };
        }
        return next(request);
      },
    };
  }
}

export const isQueueRequest = (r: PipelineRequest): boolean =>
  /\/messages(\?|$)/.test(new URL(r.url).pathname + '?');
export const isBlobRequest = (r: PipelineRequest): boolean => !isQueueRequest(r);
/** A Put Block that is not the first block of its blob. */
export const isLaterBlock = (r: PipelineRequest): boolean => {
  const url = new URL(r.url);
  if (url.searchParams.get('comp') !== 'block') return false;
  const id = Buffer.from(url.searchParams.get('blockid') ?? '', 'base64').toString();
  return id !== 'block-00000000';
};
