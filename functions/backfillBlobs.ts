import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleBackfillBlobs } from '../shared/app/http/backfillHandlers';

/** `GET /api/backfill/{jobId}/blobs`: what a dry run would ingest, paged. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'backfill/{jobId}/blobs',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleBackfillBlobs(request, getAppContext(), context);
}

app.http('backfillBlobs', { ...options, handler });
