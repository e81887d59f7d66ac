import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { operatorAuthLevel, operatorGate } from '../shared/app/http/operatorAuth';
import { handleRetrySource } from '../shared/app/http/operatorHandlers';

/** `POST /api/ingest/status/{sourceId}/retry`: queues a failed source again once its cause is fixed. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: operatorAuthLevel(),
  route: 'ingest/status/{sourceId}/retry',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return operatorGate(request, 'api') ?? handleRetrySource(request, getAppContext(), context);
}

app.http('ingestRetry', { ...options, handler });
