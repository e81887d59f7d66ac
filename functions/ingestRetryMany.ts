import {
  app,
  type HttpRequest,
  type HttpResponseInit,
  type HttpTriggerOptions,
  type InvocationContext,
} from '@azure/functions';
import { getAppContext } from '../shared/app/context';
import { operatorAuthLevel, operatorGate } from '../shared/app/http/operatorAuth';
import { handleRetryMany } from '../shared/app/http/operatorHandlers';

/** `POST /api/ingest/retry`: retries every failed source of a database, table and error code. */
export const options: Omit<HttpTriggerOptions, 'handler'> = {
  methods: ['POST'],
  authLevel: operatorAuthLevel(),
  route: 'ingest/retry',
};

export async function handler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return operatorGate(request, 'api') ?? handleRetryMany(request, getAppContext(), context);
}

app.http('ingestRetryMany', { ...options, handler });
