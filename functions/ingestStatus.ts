import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleIngestStatus } from '../shared/app/http/ingestHandlers';

/** `GET /api/ingest/status/{sourceId}`: one item's status, error code and details (404 when unknown). */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'ingest/status/{sourceId}',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleIngestStatus(request, getAppContext(), context);
}

app.http('ingestStatus', { ...options, handler });
