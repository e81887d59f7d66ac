import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { operatorAuthLevel, operatorGate } from '../shared/app/http/operatorAuth';
import { handleSummary } from '../shared/app/http/operatorHandlers';

/** `GET /api/ingest/summary?since=`: counts for the operator console. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['GET'],
  authLevel: operatorAuthLevel(),
  route: 'ingest/summary',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return operatorGate(request, 'api') ?? handleSummary(request, getAppContext(), context);
}

app.http('ingestSummary', { ...options, handler });
