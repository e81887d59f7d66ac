import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleBackfillFailures } from '../shared/app/http/backfillHandlers';

/** `GET /api/backfill/{jobId}/failures`: the job's failed blobs with their error code and reason. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'backfill/{jobId}/failures',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleBackfillFailures(request, getAppContext(), context);
}

app.http('backfillFailures', { ...options, handler });
