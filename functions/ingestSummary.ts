import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleSummary } from '../shared/app/http/operatorHandlers';

/** `GET /api/ingest/summary?since=`: counts for the operator console. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: 'function',
  route: 'ingest/summary',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleSummary(request, getAppContext(), context);
}

app.http('ingestSummary', { ...options, handler });
