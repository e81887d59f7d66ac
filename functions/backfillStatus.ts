import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleBackfillStatus } from '../shared/app/http/backfillHandlers';

/** `GET /api/backfill/{jobId}`: the job's state and counts. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'backfill/{jobId}',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleBackfillStatus(request, getAppContext(), context);
}

app.http('backfillStatus', { ...options, handler });
