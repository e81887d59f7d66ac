import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { handleRetrySource } from '../shared/app/http/operatorHandlers';
import { handleOperatorRequest, operatorAuthLevel } from '../shared/app/http/operatorAuth';
import { OPERATOR_ENDPOINTS } from '../shared/app/http/operatorEndpoints';

/** `POST /api/ingest/status/{sourceId}/retry`: queues a failed source again once its cause is fixed. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: operatorAuthLevel(),
  route: 'ingest/status/{sourceId}/retry',
};

export function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handleOperatorRequest(request, getAppContext, context, OPERATOR_ENDPOINTS.ingestRetry, (req) =>
    handleRetrySource(req, getAppContext(), context),
  );
}

app.http('ingestRetry', { ...options, handler });
