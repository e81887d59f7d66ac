import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleStartBackfill } from '../shared/app/http/backfillHandlers';

/** `POST /api/backfill`: starts a backfill job over blobs already in storage (202 { jobId, statusUrl }). */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: 'function',
  route: 'backfill',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleStartBackfill(request, getAppContext(), context);
}

app.http('backfillStart', { ...options, handler });
