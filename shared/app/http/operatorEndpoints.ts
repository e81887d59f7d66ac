import type { HttpRequestLike } from './httpTypes';
import type { OperatorEndpoint } from './operatorAuth';

const field = (body: unknown, name: string): string | undefined => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, 300) : undefined;
};
const param = (req: HttpRequestLike, name: string) => (req.params[name] ?? '').slice(0, 100);

/**
 * Every operator function, what it needs and what the audit log records of it. Reads need either role;
 * writes the operator role, a JSON content type, and leave an audit record each.
 */
export const OPERATOR_ENDPOINTS = {
  ingestList: { need: 'read' },
  ingestSummary: { need: 'read' },
  operatorAudit: { need: 'read' },
  backfillStatus: { need: 'read' },
  backfillBlobs: { need: 'read' },
  backfillFailures: { need: 'read' },
  ingestRetry: {
    need: 'write',
    audit: { action: 'retry', target: (req) => `source ${param(req, 'sourceId')}` },
  },
  ingestRetryMany: {
    need: 'write',
    audit: {
      action: 'retryMany',
      target: (_req, body) =>
        `${field(body, 'database') ?? '?'}.${field(body, 'table') ?? '*'} errorCode=${field(body, 'errorCode') ?? '*'}`,
    },
  },
  landingReplay: {
    need: 'write',
    audit: { action: 'replay', target: () => 'the landing poison queue and dead letters' },
  },
  backfillStart: {
    need: 'write',
    audit: {
      action: 'backfillStart',
      target: (_req, body) =>
        `${field(body, 'accountUrl') ?? 'the landing account'} container=${field(body, 'container') ?? '(landing)'} prefix=${field(body, 'prefix') ?? ''}${(body as { dryRun?: unknown } | undefined)?.dryRun === true ? ' (dry run)' : ''}`,
    },
  },
  backfillCancel: {
    need: 'write',
    audit: { action: 'backfillCancel', target: (req) => `job ${param(req, 'jobId')}` },
  },
} as const satisfies Record<string, OperatorEndpoint>;

export type OperatorFunctionName = keyof typeof OPERATOR_ENDPOINTS;

/** The operator functions: the API's above, and the console page (its data comes from them). */
export const OPERATOR_FUNCTIONS: readonly string[] = [...Object.keys(OPERATOR_ENDPOINTS), 'console'];
