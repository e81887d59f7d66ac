import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleCancelBackfill } from '../shared/app/http/backfillHandlers';

/** `DELETE /api/backfill/{jobId}`: cancels the job. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['DELETE'],
  authLevel: 'function',
  route: 'backfill/{jobId}',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleCancelBackfill(request, getAppContext(), context);
}

app.http('backfillCancel', { ...options, handler });
